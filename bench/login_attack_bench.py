"""Attack on the desk's login: N parallel wrong guesses from one address while an agent
logs in with the right password from another; prints how long the agent waited.

Starts ``maildoctor serve --allow-remote`` (desk password from the environment) on
loopback as a child process. The attacker runs in its own process (``--attack URL``,
also what tests/test_login_guard.py starts), connecting from 127.0.0.2, so that it
does not share a GIL with the measurement and the server sees two clients.
Bounded: the attack lasts ``--seconds``, the agent logs in ``--logins`` times.

Usage: python bench/login_attack_bench.py [--parallel 30] [--seconds 10] [--logins 10]
"""

from __future__ import annotations

import argparse
import collections
import http.client
import os
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

PASSWORD = "correct horse battery staple"


def login(url: str, password: str, source: str = "127.0.0.1") -> tuple[int, float]:
    """POST /login as a browser form: (status, seconds)."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    conn = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=60, source_address=(source, 0)
    )
    body = urllib.parse.urlencode({"password": password, "next": "/desk"})
    started = time.monotonic()
    try:
        conn.request(
            "POST",
            "/login",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": f"{parts.scheme}://{parts.netloc}",
            },
        )
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        conn.close()


def attack(url: str, *, parallel: int, seconds: float, source: str) -> collections.Counter[int]:
    """Wrong guesses from ``parallel`` threads for ``seconds``: the answers' statuses."""
    statuses: collections.Counter[int] = collections.Counter()
    deadline = time.monotonic() + seconds
    lock = threading.Lock()

    def guess(i: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            status, _ = login(url, f"guess-{i}-{n}", source)
            n += 1
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def start_attacker(url: str, *, parallel: int, seconds: float) -> subprocess.Popen[str]:
    """This script as a child process attacking ``url`` from 127.0.0.2."""
    return subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--attack",
            url,
            "--parallel",
            str(parallel),
            "--seconds",
            str(seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def start_serve(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "MAILDOCTOR_DESK_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "maildoctor", "serve", "--smtp", "127.0.0.1:0"),
            *("--http", "127.0.0.1:0", "--allow-remote", "--db", str(tmp / "h.sqlite3")),
            *("--desk-dns", "off", "--auth-dns", "off"),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stderr is not None
    out = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if select.select([proc.stderr], [], [], 0.2)[0]:
            out += os.read(proc.stderr.fileno(), 4096)
            found = re.search(rb"^Web +(\S+)/$", out, re.M)
            if found:
                return proc, found.group(1).decode()
    proc.kill()
    raise SystemExit(f"serve did not start: {out.decode(errors='replace')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parallel", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--logins", type=int, default=10)
    parser.add_argument("--attack", metavar="URL", help="only attack URL (from 127.0.0.2)")
    args = parser.parse_args()
    if args.attack:
        counts = attack(
            args.attack, parallel=args.parallel, seconds=args.seconds, source="127.0.0.2"
        )
        print(" ".join(f"{status}={n}" for status, n in sorted(counts.items())))
        return
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_serve(Path(tmp))
        try:
            attacker = start_attacker(url, parallel=args.parallel, seconds=args.seconds)
            time.sleep(1.0)
            times = []
            gap = max(0.0, (args.seconds - 2.0) / args.logins)
            for _ in range(args.logins):
                status, took = login(url, PASSWORD)
                if status != 303:
                    raise SystemExit(f"the correct login got {status}")
                times.append(took)
                time.sleep(gap)
            answers, _ = attacker.communicate(timeout=args.seconds + 60)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    times.sort()
    print(f"{args.parallel} parallel wrong guesses for {args.seconds:g} s from 127.0.0.2")
    print(f"attacker's answers: {answers.strip()}")
    print(
        f"correct login from 127.0.0.1: {len(times)} logins, median {times[len(times) // 2]:.2f} s,"
        f" max {times[-1]:.2f} s"
    )


if __name__ == "__main__":
    main()
