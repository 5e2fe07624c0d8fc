"""Resource attacks on ``maildoctor serve``, each bounded, each printing what it did.

    python bench/serve_attack_bench.py [ATTACK ...] [--tree DIR]

Attacks (all by default):
- ``slowloris``: 300 HTTP connections whose headers never finish (a byte a second);
  how many the server still holds after 25 s, and whether a new client is answered.
- ``descriptors``: ``serve`` with 256 descriptors (RLIMIT_NOFILE), 400 idle SMTP
  connections and 50 HTTP ones held 10 s: the bytes of log written, what a new
  SMTP client gets then, and after the others leave.
- ``auth``: wrong AUTH PLAIN passwords for 10 s, on one connection and on ten (the
  client reconnects when closed): guesses answered a second.
- ``data``: 100 concurrent 10 MB messages: the server's peak RSS, and what stays.

``serve`` runs as a child process from this checkout, or from ``--tree DIR`` (an
older checkout, e.g. ``git archive 7f125b8 | tar -x -C /tmp/before``) to measure
"before": the same attacks with that tree's defaults.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import re
import resource
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Serve:
    """``maildoctor serve`` as a child; ``.smtp`` and ``.http`` are (host, port)."""

    def __init__(self, tmp: Path, tree: Path, *args: str, nofile: int | None = None) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(tree)}
        env["MAILDOCTOR_DESK_PASSWORD"] = "bench"

        def limit() -> None:
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        command = [sys.executable, "-m", "maildoctor", "serve", "--smtp", "127.0.0.1:0"]
        command += ["--http", "127.0.0.1:0", "--db", str(tmp / "h.sqlite3")]
        self.proc = subprocess.Popen(
            [*command, "--auth-dns", "off", *args],
            cwd=tree,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=limit if nofile else None,
        )
        assert self.proc.stderr is not None
        self.log = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.read(0.2)
            smtp = re.search(rb"^SMTP +([\d.]+):(\d+)", self.log, re.M)
            http = re.search(rb"^Web +http://([\d.]+):(\d+)/", self.log, re.M)
            if smtp and http:
                self.smtp = (smtp.group(1).decode(), int(smtp.group(2)))
                self.http = (http.group(1).decode(), int(http.group(2)))
                self.started = len(self.log)
                return
        self.stop()
        raise SystemExit(f"serve did not start: {self.log.decode(errors='replace')}")

    def read(self, wait: float) -> None:
        """Drain stderr for ``wait`` seconds (a full pipe would stop the server)."""
        assert self.proc.stderr is not None
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if select.select([self.proc.stderr], [], [], 0.05)[0]:
                chunk = os.read(self.proc.stderr.fileno(), 1 << 20)
                if not chunk:
                    return
                self.log += chunk

    def logged_since_start(self) -> bytes:
        return self.log[self.started :]

    def rss(self, field: str = "VmRSS") -> int:
        """KiB (VmRSS now, VmHWM the peak)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def first_line(address: tuple[str, int], send: bytes = b"", wait: float = 3.0) -> str:
    """What a new client gets first ('' for nothing within ``wait``)."""
    try:
        with socket.create_connection(address, timeout=wait) as sock:
            if send:
                sock.sendall(send)
            return sock.recv(200).decode(errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return ""


def held_open(sock: socket.socket) -> bool:
    """Whether the server still holds the connection (no close after what it sent)."""
    sock.setblocking(False)
    try:
        while sock.recv(65536):
            pass
    except BlockingIOError:
        return True
    except OSError:
        pass
    return False


HTTP_GET = b"GET /api/templates HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def slowloris(tmp: Path, tree: Path) -> None:
    serve = Serve(tmp, tree)
    socks = []
    try:
        for _ in range(300):
            sock = socket.create_connection(serve.http, timeout=5)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            socks.append(sock)
        started = time.monotonic()
        while time.monotonic() - started < 25:
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X")  # a byte a second: the headers never end
            serve.read(1.0)
        still = sum(held_open(sock) for sock in socks)
        answer = first_line(serve.http, HTTP_GET)
        print("slowloris: 300 connections with unfinished headers; after 25 s the server")
        print(f"  still holds {still}; a new HTTP client gets: {answer or '(nothing in 3 s)'}")
    finally:
        for sock in socks:
            sock.close()
        serve.stop()


def descriptors(tmp: Path, tree: Path) -> None:
    serve = Serve(tmp, tree, nofile=256)
    socks: list[socket.socket] = []
    try:
        for address, n in ((serve.smtp, 400), (serve.http, 50)):
            for _ in range(n):
                try:
                    socks.append(socket.create_connection(address, timeout=2))
                except OSError:
                    break
        serve.read(10.0)
        during = first_line(serve.smtp)
        logged = serve.logged_since_start()
        for sock in socks:
            sock.close()
        deadline = time.monotonic() + 15
        after = ""
        while time.monotonic() < deadline and not after.startswith("220"):
            serve.read(0.5)
            after = first_line(serve.smtp)
        tracebacks = logged.count(b"Traceback")
        lines = logged.count(b"\n")
        print("descriptors: 256 allowed, 400 SMTP + 50 HTTP connections held for 10 s")
        print(f"  log written: {len(logged):,} bytes, {lines:,} lines,")
        print(f"  {tracebacks:,} tracebacks; a new SMTP client then gets:")
        print(f"  {during or '(nothing in 3 s)'}; after the others leave: {after or '(nothing)'}")
    finally:
        for sock in socks:
            sock.close()
        serve.stop()


def auth(tmp: Path, tree: Path) -> None:
    serve = Serve(tmp, tree, "--user", "ci:s3cret", "--auth-allow-insecure")
    try:
        for connections in (1, 10):
            counts = [0] * connections
            deadline = time.monotonic() + 10

            def guess(i: int, deadline: float = deadline, counts: list[int] = counts) -> None:
                while time.monotonic() < deadline:
                    try:
                        sock = socket.create_connection(serve.smtp, timeout=10)
                        stream = sock.makefile("rb")
                        stream.readline()
                        sock.sendall(b"EHLO bench\r\n")
                        while stream.readline()[3:4] == b"-":
                            pass
                        while time.monotonic() < deadline:
                            token = base64.b64encode(f"\0ci\0guess{counts[i]}".encode())
                            sock.sendall(b"AUTH PLAIN " + token + b"\r\n")
                            reply = stream.readline()
                            if not reply.startswith(b"535"):
                                break
                            counts[i] += 1
                        sock.close()
                    except OSError:
                        time.sleep(0.01)

            threads = [threading.Thread(target=guess, args=(i,)) for i in range(connections)]
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                serve.read(0.2)
            print(
                f"auth: {connections} connection(s), 10 s: {sum(counts):,} wrong passwords "
                f"answered ({sum(counts) / 10:,.1f}/s)"
            )
        lines = serve.logged_since_start().count(b"\n")
        print(f"  log lines written: {lines:,}")
    finally:
        serve.stop()


def data(tmp: Path, tree: Path) -> None:
    serve = Serve(tmp, tree)
    try:
        before = serve.rss()
        line = b"x" * 998 + b"\r\n"
        body = line * (10 * 1024 * 1024 // 1000 - 10)  # just under the 10 MB limit
        replies: list[str] = []

        def send() -> None:
            try:
                with socket.create_connection(serve.smtp, timeout=120) as sock:
                    stream = sock.makefile("rb")
                    stream.readline()
                    for command in (
                        b"EHLO bench",
                        b"MAIL FROM:<a@lentrance.com>",
                        b"RCPT TO:<taro@docomo.ne.jp>",
                        b"DATA",
                    ):
                        sock.sendall(command + b"\r\n")
                        while stream.readline()[3:4] == b"-":
                            pass
                    sock.sendall(b"Subject: big\r\n\r\n" + body + b".\r\n")
                    replies.append(stream.readline().decode()[:9])
            except OSError as e:
                replies.append(type(e).__name__)

        threads = [threading.Thread(target=send) for _ in range(100)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            serve.read(0.2)
        serve.read(2.0)
        peak, after = serve.rss("VmHWM"), serve.rss()
        summary = {r: replies.count(r) for r in sorted(set(replies))}
        print(f"data: 100 concurrent messages of 10 MB: replies {summary}")
        print(
            f"  server RSS {before // 1024} MiB before, peak {peak // 1024} MiB, "
            f"{after // 1024} MiB after"
        )
    finally:
        serve.stop()


ATTACKS = {"slowloris": slowloris, "descriptors": descriptors, "auth": auth, "data": data}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("attacks", nargs="*", metavar="ATTACK", default=[])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to run")
    args = parser.parse_args()
    print(f"serve from {args.tree}")
    for name in args.attacks or ATTACKS:
        with tempfile.TemporaryDirectory() as tmp:
            ATTACKS[name](Path(tmp), args.tree.resolve())


if __name__ == "__main__":
    main()
