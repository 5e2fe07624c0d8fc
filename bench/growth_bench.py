"""Memory and latency as the work grows: does each path stream, and stay fast when big?

    python bench/growth_bench.py [--check-sizes 10000,100000,1000000] [--check-formats jsonl,json]
        [--mbox-mb 16,128,1024] [--bounce-modes jsonl,summary,suppress]
        [--harness-sizes 10000,100000] [--runs 200]

- ``check --file`` over N addresses (2,000 domains, a loopback DNS server in a
  child process): peak RSS of the ``maildoctor check`` process for each N, writing
  one result a line (``--format jsonl``) and one array (``--format json``). Streamed
  means the peak does not follow N (a window of pending addresses and the
  per-domain answers are what it holds).
- ``bounce`` over an mbox of M MB (the bounces of tests/data/bounces repeated):
  peak RSS of the ``maildoctor bounce`` process for each M, writing one report a
  line (``--format jsonl``), the counts (``--summary``) and the suppression list
  (``--suppress``); all three should stay flat as M grows.
- The harness store with N messages: the latency of the message list (the newest
  100, what ``GET /api/messages`` asks the store for, in a thread) and of searches,
  p50 / p99 / max over ``--runs`` calls.
- The events store at 10 million events is measured by bench/events_bench.py
  (its figures are in the README's delivery-records section).

Each command runs in its own process and reports its own peak RSS
(``ru_maxrss``); CPU seconds are printed beside wall time because the machine
this runs on is shared (wall time moves with the load). ``--check-sizes``,
``--mbox-mb`` and ``--harness-sizes`` take smaller lists on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

#: Runs a maildoctor command in this process and prints its peak RSS (KiB) and CPU.
RUNNER = """
import resource, sys
from maildoctor.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
usage = resource.getrusage(resource.RUSAGE_SELF)
print(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}", file=sys.stderr)
"""


def run_measured(args: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of ``maildoctor ARGS`` with its output discarded."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        cwd=ROOT,
    )
    wall = time.perf_counter() - start
    rss_kib, cpu = done.stderr.strip().splitlines()[-1].split()
    return wall, float(cpu), int(rss_kib) / 1024


def check_growth(sizes: list[int], workdir: Path, formats: list[str]) -> None:
    from check_bench import bench_domains, serve, zone_text

    domains = bench_domains(2000)
    parent, child = mp.Pipe()
    server = mp.Process(target=serve, args=(child, zone_text(domains), 0.0), daemon=True)
    server.start()
    nameserver = parent.recv()
    print(f"check --file, 2,000 domains, DNS {nameserver} (no added delay):")
    print(f"{'addresses':>12} {'format':>7} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13}")
    try:
        for n in sizes:
            members = workdir / f"members-{n}.txt"
            with members.open("w", encoding="utf-8") as out:
                for i in range(n):
                    out.write(f"member{i}@{domains[i % len(domains)]}\n")
            for fmt in formats:
                wall, cpu, rss = run_measured(
                    ["check", "--file", str(members), "--nameserver", nameserver, "--format", fmt]
                )
                print(f"{n:>12,} {fmt:>7} {wall:>8.1f} {cpu:>8.1f} {rss:>13.0f}")
            members.unlink()
    finally:
        parent.send("stop")
        server.join(timeout=10)


def bounce_growth(sizes_mb: list[int], workdir: Path, bounce_modes: list[str]) -> None:
    samples = sorted((ROOT / "tests" / "data" / "bounces").glob("*.eml"))
    chunks = []
    for path in samples:
        text = path.read_bytes().replace(b"\r\n", b"\n")
        # mboxrd quoting: a body line starting with "From " gets a ">".
        lines = [b">" + ln if ln.startswith(b"From ") else ln for ln in text.split(b"\n")]
        # Each copy a bounce of its own: the command counts one Message-ID once.
        text = re.sub(rb"(?im)^(message-id:\s*<)", rb"\1ROUND-", b"\n".join(lines), count=1)
        chunks.append(b"From MAILER-DAEMON Mon Dec  7 10:00:00 2026\n" + text + b"\n")
    block = b"".join(chunks)
    print(f"bounce over an mbox ({len(samples)} sample bounces a round, {len(block):,} bytes):")
    print(
        f"{'mbox MiB':>12} {'messages':>9} {'mode':>10} {'wall s':>8} {'CPU s':>8}"
        f" {'peak RSS MiB':>13}"
    )
    suppress = workdir / "suppress.csv"
    modes = {
        "jsonl": ["--format", "jsonl"],
        "summary": ["--summary"],
        "suppress": ["--format", "jsonl", "--suppress", str(suppress)],
    }
    for mb in sizes_mb:
        mbox = workdir / f"bounces-{mb}.mbox"
        rounds = max(1, mb * 1024 * 1024 // len(block))
        with mbox.open("wb") as out:
            for r in range(rounds):
                out.write(block.replace(b"ROUND-", f"r{r}.".encode()))
        size = mbox.stat().st_size / 1024 / 1024
        for mode in bounce_modes:
            wall, cpu, rss = run_measured(["bounce", str(mbox), *modes[mode]])
            print(
                f"{size:>12.0f} {rounds * len(samples):>9,} {mode:>10} {wall:>8.1f} {cpu:>8.1f}"
                f" {rss:>13.0f}"
            )
        mbox.unlink()


def harness_growth(sizes: list[int], runs: int, workdir: Path) -> None:
    from search_bench import fill

    from maildoctor.harness.store import Store

    print(f"harness store: latency of the list and of searches, {runs} calls each (ms)")
    print(f"{'messages':>10} {'query':32} {'p50':>7} {'p99':>7} {'max':>7}  matches")
    for n in sizes:
        store = Store(workdir / f"h-{n}.sqlite3", max_messages=0, durable=False)
        try:
            start = time.process_time()
            asyncio.run(fill(store, n))
            filled = time.process_time() - start
            start = time.process_time()
            store.search("to:nobody@", limit=100)  # the first search indexes the headers
            first_header = time.process_time() - start
            start = time.process_time()
            store.search("髙橋様", limit=100)  # the first body search indexes the bodies
            first = time.process_time() - start
            queries: list[tuple[str, str, dict[str, Any]]] = [
                ("list: newest 100, trials hidden", "", {"trials": False}),
                ("list: page 50 (offset 5,000)", "", {"offset": 5000}),
                ("to:docomo.ne.jp", "to:docomo.ne.jp", {}),
                ("body word (text kept)", "ご注文番号 4999", {}),
                ("body word in every message", "髙橋様", {}),
                ("1-character word (様)", "様", {}),
            ]
            for name, query, options in queries:
                times = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    found = store.search(query, **options)
                    times.append((time.perf_counter() - t0) * 1000)
                times.sort()
                p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
                # What the answer knew: "+" a capped total, "newest N" a bounded scan.
                total, exact, searched = _answer(found)
                said = f"{total:,}{'' if exact else '+'}" + (
                    f" (newest {searched:,})" if searched else ""
                )
                print(
                    f"{n:>10,} {name:32} {statistics.median(times):>7.1f} {p99:>7.1f}"
                    f" {times[-1]:>7.1f}  {said}"
                )
            print(
                f"{'':>10} (filled in {filled:.1f} s CPU; the first search, which indexes the"
                f" header fields, {first_header:.1f} s CPU; the first body search, which"
                f" indexes the bodies, {first:.1f} s CPU)"
            )
        finally:
            store.close()


def _answer(found: Any) -> tuple[int, bool, int | None]:
    """(total, exact, searched) of a search's answer, also from a store older than
    ``SearchResult`` (a tuple of rows and the true total), for before/after runs."""
    if isinstance(found, tuple):
        return found[1], True, None
    return found.total, found.exact, found.searched


def sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-sizes", default="10000,100000,1000000")
    parser.add_argument(
        "--check-formats",
        default="jsonl,json",
        help="check --file output formats to measure (json: one array, streamed too)",
    )
    parser.add_argument("--mbox-mb", default="16,128,1024")
    parser.add_argument(
        "--bounce-modes",
        default="jsonl,summary,suppress",
        help="bounce runs: jsonl (one report a line), summary (--summary), suppress (--suppress)",
    )
    parser.add_argument("--harness-sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (a shared machine)")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if sizes(args.check_sizes):
            check_growth(sizes(args.check_sizes), workdir, args.check_formats.split(","))
            print()
        if sizes(args.mbox_mb):
            bounce_growth(sizes(args.mbox_mb), workdir, args.bounce_modes.split(","))
            print()
        if sizes(args.harness_sizes):
            harness_growth(sizes(args.harness_sizes), args.runs, workdir)
    print()
    print("events store at 10 million events: see bench/events_bench.py (README, delivery records)")


if __name__ == "__main__":
    main()
