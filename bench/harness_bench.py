"""Harness throughput beside the Python ceiling: a plain aiosmtpd handler that only counts.

    python bench/harness_bench.py [--messages 2000] [--concurrency 1,10,50]

Each server runs in its own process (so the client does not share its GIL);
the client is one asyncio process keeping N connections busy, each sending
its share of ~4 KB messages one after another. The harness runs with
durability on (WAL, synchronous=FULL: every 250 follows an fsync'd commit).
Prints messages/second for both, the ratio, and whether every message was
stored (the harness) or counted (the baseline), and each server process's CPU
(user + system, all threads, from /proc) per message: on a shared, loaded
machine the CPU a message costs is the steadier figure, wall-time rates move
with the load. Targets (issue 24): the harness at least 90% of the counting
sink at concurrency 10 and 50, nothing lost, and its CPU per message at most
1.2x the sink's.

Where the harness's time goes (py-spy, 3,000 messages at concurrency 10 then 50,
samples of the server process): aiosmtpd's command handling shared with the
sink (MAIL/RCPT address parsing with the email package's header parser: about
a quarter; writing replies to the socket: a sixth); reading DATA line by line
(a sixth, as the sink does); the DATA handler (policy, header fields,
transcript, the record: 7%); the store's writer thread (SQLite insert, JSON of
the decisions and the commit: 14%, most of it in SQLite itself); handing each
message to the writer thread and its result back to the loop (a queue put and
a loop wake-up: about 2%). The web events are off in this bench (no web UI).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BODY_LINE = "Lentrance からのお知らせ: https://lentrance.com/register?token=abcdef0123456789\n"


def make_message(i: int) -> bytes:
    body = "".join(BODY_LINE for _ in range(4000 // len(BODY_LINE.encode())))
    head = (
        "From: Lentrance <no-reply@lentrance.com>\r\n"
        f"To: user{i}@docomo.ne.jp\r\n"
        f"Subject: bench {i}\r\n"
        f"Message-ID: <bench-{i}@lentrance.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return (head + body.replace("\n", "\r\n")).encode()


# -- servers (run in child processes) ------------------------------------------


class CountingHandler:
    """The ceiling: aiosmtpd doing nothing but counting messages."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.count += 1
        return "250 OK"


async def run_baseline(port_file: Path) -> None:
    from aiosmtpd.smtp import SMTP

    handler = CountingHandler()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, enable_SMTPUTF8=True, hostname="bench"), "127.0.0.1", 0, backlog=1024
    )
    port_file.write_text(str(server.sockets[0].getsockname()[1]))
    await asyncio.Event().wait()


async def run_harness(port_file: Path, db: Path) -> None:
    from maildoctor.harness.server import Harness, HarnessConfig

    harness = Harness(HarnessConfig(db=db, http_port=None, max_messages=0, durable=True))
    await harness.start()
    port_file.write_text(str(harness.smtp_address[1]))
    await asyncio.Event().wait()


def start_server(kind: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port_file = workdir / f"{kind}.port"
    port_file.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--workdir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit(f"the {kind} server did not start")
        time.sleep(0.02)
    return proc, int(port_file.read_text())


# -- client --------------------------------------------------------------------


async def send_share(port: int, messages: list[bytes]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def reply() -> str:
        while True:
            line = (await reader.readline()).decode()
            if line[3:4] != "-":
                return line

    async def command(data: bytes) -> str:
        writer.write(data)
        return await reply()

    await reply()
    await command(b"EHLO bench.client\r\n")
    ok = 0
    for i, raw in enumerate(messages):
        await command(b"MAIL FROM:<no-reply@lentrance.com>\r\n")
        await command(f"RCPT TO:<user{i}@docomo.ne.jp>\r\n".encode())
        await command(b"DATA\r\n")
        if (await command(raw + b".\r\n")).startswith("250"):
            ok += 1
    await command(b"QUIT\r\n")
    writer.close()
    return ok


async def run_load(port: int, messages: list[bytes], concurrency: int) -> tuple[float, int]:
    shares = [messages[i::concurrency] for i in range(concurrency)]
    started = time.perf_counter()
    done = await asyncio.gather(*(send_share(port, share) for share in shares))
    return time.perf_counter() - started, sum(done)


def cpu_seconds(pid: int, task: str = "") -> float:
    """User + system CPU so far of a process and all its threads, or of one
    thread (``task``: its id), from Linux /proc."""
    path = f"/proc/{pid}/task/{task}/stat" if task else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of each thread of a process, by thread id."""
    return {task: cpu_seconds(pid, task) for task in os.listdir(f"/proc/{pid}/task")}


def stored_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,10,50")
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds; best kept.")
    parser.add_argument("--serve", choices=["baseline", "harness"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve == "baseline":
        asyncio.run(run_baseline(args.workdir / "baseline.port"))
        return
    if args.serve == "harness":
        asyncio.run(run_harness(args.workdir / "harness.port", args.workdir / "bench.sqlite3"))
        return

    messages = [make_message(i) for i in range(args.messages)]
    size = sum(map(len, messages)) // len(messages)
    print(f"{args.messages} messages of {size} bytes; {os.cpu_count()} CPUs; durability on")
    print(f"best of {args.rounds} alternating rounds per server")
    print(f"machine load average {os.getloadavg()[0]:.1f} (shared: wall-time rates move with it)")
    print(f"{'concurrency':>11} {'sink msg/s':>11} {'harness msg/s':>14} {'ratio':>6}  lost"
          f"  {'sink CPU/msg':>12} {'harness CPU/msg':>15} {'CPU ratio':>9}")  # fmt: skip
    ok = True
    for concurrency in (int(c) for c in args.concurrency.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            servers = {kind: start_server(kind, workdir) for kind in ("baseline", "harness")}
            rates: dict[str, float] = {"baseline": 0.0, "harness": 0.0}
            cpu: dict[str, list[float]] = {"baseline": [], "harness": []}
            lost = 0
            try:
                for _, port in servers.values():
                    asyncio.run(run_load(port, messages[:50], min(concurrency, 10)))  # warm up
                # Alternate the two servers and keep each one's best round: other work
                # on the machine slows both alike instead of whichever ran at the time.
                for _ in range(args.rounds):
                    for kind, (proc, port) in servers.items():
                        db = workdir / "bench.sqlite3"
                        before = stored_count(db) if kind == "harness" else 0
                        used, threads = cpu_seconds(proc.pid), thread_cpu(proc.pid)
                        elapsed, acked = asyncio.run(run_load(port, messages, concurrency))
                        cpu[kind].append((cpu_seconds(proc.pid) - used) / len(messages))
                        if kind == "harness":
                            after = thread_cpu(proc.pid)
                            split = {
                                "the event loop" if t == str(proc.pid) else "the store writer": (
                                    after[t] - threads.get(t, 0.0)
                                )
                                / len(messages)
                                for t in after
                            }
                        rates[kind] = max(rates[kind], acked / elapsed)
                        stored = stored_count(db) - before if kind == "harness" else acked
                        lost += args.messages - min(acked, stored)
            finally:
                for proc, _ in servers.values():
                    proc.terminate()
                    proc.wait()
            ratio = rates["harness"] / rates["baseline"]
            # The least CPU a message took over the rounds: other jobs only ever add to it.
            sink_cpu, harness_cpu = min(cpu["baseline"]), min(cpu["harness"])
            print(
                f"{concurrency:>11} {rates['baseline']:>11.0f} {rates['harness']:>14.0f}"
                f" {ratio:>5.0%}  {lost:>4}  {sink_cpu * 1000:>9.2f} ms"
                f" {harness_cpu * 1000:>12.2f} ms {harness_cpu / sink_cpu:>8.2f}x"
            )
            print(
                "             harness CPU/msg by thread (last round): "
                + ", ".join(f"{name} {v * 1000:.2f} ms" for name, v in split.items() if v > 0)
            )
            if lost:
                ok = False
    if not ok:
        raise SystemExit("messages were lost")


if __name__ == "__main__":
    main()
