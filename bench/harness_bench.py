"""Harness throughput beside the Python ceiling: a plain aiosmtpd handler that only counts.

    python bench/harness_bench.py [--messages 2000] [--concurrency 1,10,50] [--web] [--profile]
    python bench/harness_bench.py --records [--messages 2000]

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

``--web`` runs the harness with its web UI and API on, as ``maildoctor serve``
does: the store's listeners (live updates, the delivery records of each message)
then run too. ``--profile`` then samples the harness with py-spy (``pip install
py-spy``) and prints where its time goes: the event loop's samples by part
(aiosmtpd's command loop, reading DATA, header fields, the policy, the
transcript, the hand-off to the store writer, the web events...) and the other
threads' CPU (the store writer: SQLite, which runs without the GIL).

``--records`` prints what each step of the web's delivery-records thread
(maildoctor/web/events.py) costs a message, each step alone in this process on a
real store file: the steps it took before issue 24's work (each message read
back with ``Store.get``, the events store opened for each batch, two commits a
batch) and those it takes now (the writer's summaries, one kept connection,
one transaction for a batch gathered over 50 ms).

Before issue 24's work the same profile said: MAIL/RCPT address parsing with
the email package's header parser about a quarter of the samples (a class
defined on each call included), reading DATA line by line a sixth, the DATA
handler 7%, the hand-off 2%. Now a plain address is taken apart with one
regular expression and DATA is read in blocks (maildoctor/harness/protocol.py).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
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


async def run_harness(port_file: Path, db: Path, web: bool) -> None:
    from maildoctor.harness.server import Harness, HarnessConfig
    from maildoctor.web.app import start_web

    config = HarnessConfig(db=db, http_port=0 if web else None, max_messages=0, durable=True)
    harness = Harness(config, web=start_web)
    await harness.start()
    # Which thread is which, for the CPU split (Python does not name the OS threads).
    names = {str(t.native_id): t.name for t in threading.enumerate() if t.native_id}
    port_file.with_suffix(".threads").write_text(json.dumps(names))
    port_file.write_text(str(harness.smtp_address[1]))
    await asyncio.Event().wait()


def start_server(
    kind: str, workdir: Path, web: bool = False
) -> tuple[subprocess.Popen[bytes], int]:
    port_file = workdir / f"{kind}.port"
    port_file.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--workdir", str(workdir)]
        + (["--web"] if web else []),
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


#: What the harness's threads are called in the bench's output, by Python thread name.
THREAD_LABELS = {
    "MainThread": "the event loop",
    "maildoctor-store": "the store writer",
    "maildoctor-events": "the web events recorder",
}


def thread_split(pid: int, before: dict[str, float], workdir: Path) -> dict[str, float]:
    """CPU seconds since ``before`` by kind of thread (unknown threads: "other threads")."""
    names = json.loads((workdir / "harness.threads").read_text())
    split: dict[str, float] = collections.defaultdict(float)
    for task, used in thread_cpu(pid).items():
        label = THREAD_LABELS.get(names.get(task, ""), "other threads")
        split[label] += used - before.get(task, 0.0)
    return split


def fsync_ms(directory: Path, times: int = 20) -> float:
    """The median time of an 8 KB write and fsync in ``directory``: what each durable
    commit waits for at least, and what other jobs on a shared disk move."""
    spent = []
    path = directory / "fsync.probe"
    with path.open("wb") as f:
        for _ in range(times):
            started = time.perf_counter()
            f.write(b"x" * 8192)
            f.flush()
            os.fsync(f.fileno())
            spent.append(time.perf_counter() - started)
    path.unlink()
    return statistics.median(spent) * 1000


def stored_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,10,50")
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds; best kept.")
    parser.add_argument(
        "--web", action="store_true", help="The harness with its web UI and API on, as serve runs."
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="Then sample the harness with py-spy and print where its time goes.",
    )
    parser.add_argument(
        "--records",
        action="store_true",
        help="Print what each step of the delivery-records thread costs a message.",
    )
    parser.add_argument("--serve", choices=["baseline", "harness"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve == "baseline":
        asyncio.run(run_baseline(args.workdir / "baseline.port"))
        return
    if args.serve == "harness":
        db = args.workdir / "bench.sqlite3"
        asyncio.run(run_harness(args.workdir / "harness.port", db, args.web))
        return

    if args.records:
        records_steps(args.messages)
        return
    messages = [make_message(i) for i in range(args.messages)]
    size = sum(map(len, messages)) // len(messages)
    web = "on" if args.web else "off"
    print(f"{args.messages} messages of {size} bytes; {os.cpu_count()} CPUs; durability on;"
          f" web UI {web}")  # fmt: skip
    print(f"best of {args.rounds} alternating rounds per server")
    print(f"machine load average {os.getloadavg()[0]:.1f} (shared: wall-time rates move with it)")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"an fsync on this disk: {fsync_ms(Path(tmp)):.1f} ms (median of 20; each 250 waits"
              " for one)")  # fmt: skip
    print(f"{'concurrency':>11} {'sink msg/s':>11} {'harness msg/s':>14} {'ratio':>6}  lost"
          f"  {'sink CPU/msg':>12} {'harness CPU/msg':>15} {'CPU ratio':>9}")  # fmt: skip
    ok = True
    for concurrency in (int(c) for c in args.concurrency.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            servers = {
                kind: start_server(kind, workdir, web=args.web) for kind in ("baseline", "harness")
            }
            rates: dict[str, float] = {"baseline": 0.0, "harness": 0.0}
            cpu: dict[str, list[float]] = {"baseline": [], "harness": []}
            split: dict[str, float] = {}
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
                            split = thread_split(proc.pid, threads, workdir)
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
                + ", ".join(
                    f"{name} {v / len(messages) * 1000:.2f} ms"
                    for name, v in split.items()
                    if v > 0
                )
                + f"; an fsync now {fsync_ms(workdir):.1f} ms"
            )
            if lost:
                ok = False
    if args.profile:
        profile(messages, [int(c) for c in args.concurrency.split(",")], web=args.web)
    if not ok:
        raise SystemExit("messages were lost")


# -- the delivery-records thread, step by step --------------------------------


def records_steps(count: int) -> None:
    """CPU a message of each step of the records thread, before and now."""
    from maildoctor.events.ingest import harness_events
    from maildoctor.events.store import EventStore
    from maildoctor.harness.policy import Decision, Outcome
    from maildoctor.harness.records import Delivery, NewMessage, summary_of
    from maildoctor.harness.store import Store

    def each(label: str, work: object, per: int) -> None:
        assert callable(work)
        started = time.process_time()
        work()
        spent = time.process_time() - started
        print(f"  {spent / per * 1000:>7.4f} ms  {label}")

    decision = Decision(
        outcome=Outcome.DELIVERED, rule="", reply_code=250, reply_text="2.0.0 OK: queued"
    )
    new = [
        NewMessage(
            mail_from="no-reply@lentrance.com",
            rcpt_tos=(f"user{i}@docomo.ne.jp",),
            raw=make_message(i),
            deliveries=(Delivery(recipient=f"user{i}@docomo.ne.jp", decision=decision),),
            transcript=("EHLO bench.client", "250 OK") * 6,
            peer="127.0.0.1:40000",
            helo="bench.client",
            reply="250 OK",
            subject=f"bench {i}",
            from_header="Lentrance <no-reply@lentrance.com>",
            message_id=f"<bench-{i}@lentrance.com>",
        )
        for i in range(count)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        store = Store(workdir / "harness.sqlite3", max_messages=0)

        async def add_all() -> list[int]:
            return list(await asyncio.gather(*(store.add(m) for m in new)))

        ids = asyncio.run(add_all())
        origin = str(store.path)
        print(f"the delivery-records thread, each step alone, CPU a message ({count} messages):")
        print(" before:")
        each("reading the message back (Store.get: a connection each, the raw message)",
             lambda: [store.get(i) for i in ids], count)  # fmt: skip
        stored = [m for m in (store.get(i) for i in ids) if m is not None]
        records = [harness_events(m, origin=origin) for m in stored]

        def opening() -> None:
            for _ in range(0, count, 10):
                EventStore(workdir / "before.sqlite3").close()

        each("opening the events store for a batch of 10 (WAL, schema, migration)",
             opening, count)  # fmt: skip

        def before_batches() -> None:
            with EventStore(workdir / "before.sqlite3") as events:
                for k in range(0, count, 10):
                    batch = [e for r in records[k : k + 10] for e in r]
                    added = events.add(batch)
                    events.note_source("harness", origin, batch[0].time, batch[-1].time, added)

        each("writing batches of 10, two commits each (records, the sources row)",
             before_batches, count)  # fmt: skip
        print(" now:")
        each("the writer's summaries (summary_of, in the store's writer thread)",
             lambda: [summary_of(i, m) for i, m in zip(ids, new, strict=True)], count)  # fmt: skip
        each("making the records (harness_events)",
             lambda: [harness_events(m, origin=origin) for m in stored], count)  # fmt: skip

        def now_batches() -> None:
            with EventStore(workdir / "now.sqlite3") as events:
                for k in range(0, count, 200):
                    events.add([e for r in records[k : k + 200] for e in r],
                               note=("harness", origin))  # fmt: skip

        each("writing batches of 200, one commit each, on a kept connection",
             now_batches, count)  # fmt: skip
        store.close()


# -- where the time goes -------------------------------------------------------

OTHER = "asyncio's loop, the socket and the selector"
#: Parts of the harness's work, by the functions that do them. A sample goes to the
#: part of the innermost function on its stack that is named here, so a callee's
#: time is its own part's (the policy's regular expressions are the policy's).
PARTS: list[tuple[str, re.Pattern[str]]] = [
    (
        "handing the message to the store writer and the result back",
        re.compile(r"^(Store\.(add|_put)|_resolve|_settle) \(maildoctor/harness/store"),
    ),
    (
        "header fields (the header section, Subject and From decoded)",
        re.compile(r"^(headers_only|header_end|decode_header|remove_authentication_results) "),
    ),
    (
        "the policy (profiles, facts, decisions) and the fault plan",
        re.compile(
            r"^(_decisions|decide|_fires|MessageFacts\.\w+|ProfileBook\.\w+|_builtin"
            r"|FaultPlan\.\w+|session_key|CaptureHandler\._fault_reply) "
        ),
    ),
    (
        "the transcript",
        re.compile(r"^(HarnessSMTP\.(take_transcript|_note|push)|_Transcript\.\w+) "),
    ),
    ("the web events (live updates, delivery records)", re.compile(r"\(maildoctor/web/")),
    (
        "the DATA handler's own work (the record, the reply)",
        re.compile(r"^CaptureHandler\.handle_DATA "),
    ),
    (
        "reading DATA (blocks, limits, dot-stuffing)",
        re.compile(r"^(HarnessSMTP\._(read_message|receive_data)|_first_bytes|_DataChecks\.\w+) "),
    ),
    (
        "MAIL and RCPT (addresses, parameters, the handler's hooks)",
        re.compile(r"^(\w+\.smtp_(MAIL|RCPT)|\w+\._getaddr|CaptureHandler\.handle_(MAIL|RCPT)) "),
    ),
    ("writing replies to the socket", re.compile(r"^(SMTP\.push|StreamWriter\.\w+) ")),
    (OTHER, re.compile(r"^\w+\.(data_received|eof_received) ")),
    (
        "aiosmtpd's command loop (reading commands, the other commands, timers)",
        re.compile(r"^(SMTP|HarnessSMTP)\.\w+ "),
    ),
]


def part_of(stack: list[str]) -> str:
    for frame in reversed(stack):
        for name, pattern in PARTS:
            if pattern.search(frame):
                return name
    return OTHER


def profile(messages: list[bytes], concurrencies: list[int], *, web: bool) -> None:
    """Sample the harness with py-spy while it takes the messages at each concurrency.

    py-spy's --gil mode samples the thread holding the GIL; the event loop's samples
    are shared out by part. The other threads (the store writer, whose SQLite runs
    without the GIL; the web's) are given as their CPU, from /proc.
    """
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("\nprofile: py-spy is not installed (pip install -e '.[bench]')")
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        proc, port = start_server("harness", workdir, web=web)
        raw = workdir / "profile.txt"
        try:
            asyncio.run(run_load(port, messages[:50], 10))  # warm up
            threads = thread_cpu(proc.pid)
            sampler = subprocess.Popen(
                [spy, "record", "--pid", str(proc.pid), "--gil", "--nonblocking", "--rate", "1000",
                 "--format", "raw", "--output", str(raw)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(1.0)  # py-spy attaches
            for concurrency in concurrencies:
                asyncio.run(run_load(port, messages, concurrency))
            sampler.send_signal(signal.SIGINT)
            sampler.wait(timeout=30)
            split = thread_split(proc.pid, threads, workdir)
        finally:
            proc.terminate()
            proc.wait()
        if not raw.exists():
            print("\nprofile: py-spy could not sample the harness (ptrace not allowed?)")
            return
        samples: collections.Counter[str] = collections.Counter()
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            if frames[0].startswith("<module> "):  # the event loop's thread (the main one)
                samples[part_of(frames)] += int(count)
    total = sum(samples.values())
    sent = len(messages) * len(concurrencies)
    loop_ms = split.get("the event loop", 0.0) / sent * 1000
    print(
        f"\nwhere the harness's time goes (py-spy --gil, {sent} messages at concurrency"
        f" {' then '.join(map(str, concurrencies))}; web UI {'on' if web else 'off'}):"
    )
    print("  CPU a message by thread: " + ", ".join(
        f"{name} {v / sent * 1000:.2f} ms" for name, v in split.items() if v > 0
    ))  # fmt: skip
    print(f"  the event loop's {total} samples by part, and its {loop_ms:.2f} ms a message"
          " shared out by them:")  # fmt: skip
    for name, n in samples.most_common():
        print(f"  {n / total:>6.1%}  {n / total * loop_ms:>5.3f} ms  {name}")


if __name__ == "__main__":
    main()
