"""Server memory under hostile DATA: the harness beside plain aiosmtpd 1.4.6.

    python bench/harness_memory_bench.py [--mb 50] [--limit-mb 1]

Each server runs in its own process with the same size limit; the client
sends, over TCP, (1) ``--mb`` MB in one line without CRLF, (2) ``--mb`` MB of
1000-byte lines, (3) a message of empty lines just under the limit. Printed:
the peak resident memory growth of the server (VmHWM minus VmRSS before, from
/proc) and the reply. The harness reads DATA into one buffer capped by the
limit; aiosmtpd keeps every fragment of an endless line and an object per line.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = """
import asyncio, sys
from aiosmtpd.smtp import SMTP

class Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Handler(), data_size_limit=int(sys.argv[1]), enable_SMTPUTF8=True),
        "127.0.0.1", 0)
    print("SMTP  127.0.0.1:%d" % server.sockets[0].getsockname()[1], file=sys.stderr, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def rss(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def start(args: list[str]) -> tuple[subprocess.Popen[bytes], tuple[str, int]]:
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert proc.stderr is not None
    buffer = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if select.select([proc.stderr], [], [], 0.2)[0]:
            buffer += os.read(proc.stderr.fileno(), 4096)
            for line in buffer.decode().splitlines():
                if line.startswith("SMTP "):
                    host, _, port = line.split()[1].rpartition(":")
                    return proc, (host, int(port))
    proc.kill()
    raise RuntimeError(buffer.decode())


def session(address: tuple[str, int], payload_chunks: object, end: bytes) -> str:
    sock = socket.create_connection(address, timeout=120)
    reader = sock.makefile("rb")

    def reply() -> str:
        while True:
            line = reader.readline().decode()
            if line[3:4] != "-":
                return line.strip()

    reply()
    for command in (b"EHLO bench\r\n", b"MAIL FROM:<a@lentrance.com>\r\n", b"RCPT TO:<b@x.jp>\r\n"):
        sock.sendall(command)
        reply()
    sock.sendall(b"DATA\r\n")
    reply()
    for chunk in payload_chunks:  # type: ignore[attr-defined]
        sock.sendall(chunk)
    sock.sendall(end)
    answer = reply()
    sock.close()
    return answer


def scenarios(mb: int, limit: int) -> list[tuple[str, object, bytes]]:
    n = mb * 16
    lines = (b"y" * 998 + b"\r\n") * 64
    empty = b"Subject: x\r\n\r\n" + b"\r\n" * ((limit - 64) // 2)
    return [
        (f"{mb} MB, one line without CRLF", (b"x" * 65536 for _ in range(n)), b"\r\n.\r\n"),
        (f"{mb} MB of 1000-byte lines", (lines for _ in range(n)), b".\r\n"),
        (f"{len(empty) // 1000} KB of empty lines", iter([empty]), b".\r\n"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--limit-mb", type=float, default=1.0)
    args = parser.parse_args()
    limit = int(args.limit_mb * 1024 * 1024)
    with tempfile.TemporaryDirectory() as tmp:
        servers = {
            "harness": [
                *(sys.executable, "-m", "maildoctor", "serve", "--smtp", "127.0.0.1:0"),
                *("--no-http", "--auth-dns", "off", "--db", str(Path(tmp) / "h.sqlite3")),
                *("--max-size", str(limit)),
            ],
            "aiosmtpd": [sys.executable, "-c", BASELINE, str(limit)],
        }
        print(f"size limit {limit} bytes; server peak RSS growth per session (MiB)")
        print(f"{'scenario':38} {'harness':>8} {'aiosmtpd':>9}  replies")
        for name, payload, end in scenarios(args.mb, limit):
            row, replies = [], []
            for argv in servers.values():
                proc, address = start(argv)
                try:
                    before = rss(proc.pid, "VmRSS")
                    replies.append(session(address, payload, end)[:24])
                    row.append((rss(proc.pid, "VmHWM") - before) / 1024)
                finally:
                    proc.kill()
                    proc.wait()
                # The generator is spent: rebuild it for the next server.
                payload = dict((n, p) for n, p, _ in scenarios(args.mb, limit))[name]
            print(f"{name:38} {row[0]:8.1f} {row[1]:9.1f}  {' | '.join(replies)}")


if __name__ == "__main__":
    main()
