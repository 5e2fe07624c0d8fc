"""Benchmark and accuracy of the bounce explainer.

Prints:

- reason agreement with Sisimai's expected reasons (its own test tables, current
  reason names) on the 321 labelled samples of tests/data/bounces and
  tests/data/bounces-more: on the original 129, on the tuning part and on the
  held-out part of the fixed split (tests/bounce_corpus.py). A held-out figure far
  below the tuned one would mean rules fitted to the samples;
- parse + classify throughput: bounces/second over a few thousand messages (the
  corpus, repeated), in one process.

Usage: python bench/bounce_bench.py [--messages N] [--misses]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maildoctor.bounce import NotABounce, explain  # noqa: E402
from tests.bounce_corpus import samples  # noqa: E402


def _reasons(raw: bytes) -> tuple[str, ...]:
    try:
        return tuple(e.reason for e in explain(raw))
    except NotABounce as e:
        return (f"not-a-bounce:{e.code}",)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=5000, help="messages to time (default 5000)")
    ap.add_argument("--misses", action="store_true", help="list the tuning part's misses")
    args = ap.parse_args()

    corpus = samples()
    raws = {s.name: s.path.read_bytes() for s in corpus}
    got = {s.name: _reasons(raws[s.name]) for s in corpus}

    def rate(chosen: list) -> str:
        ok = sum(got[s.name] == s.expected for s in chosen)
        return f"{ok}/{len(chosen)} = {ok / len(chosen):.1%}"

    print("reason agreement with Sisimai (per sample, every recipient):")
    original = [s for s in corpus if s.path.parent.name == "bounces"]
    print(f"  tests/data/bounces (129)    {rate(original)}")
    print(f"  tuning part                 {rate([s for s in corpus if not s.held_out])}")
    print(f"  held-out part               {rate([s for s in corpus if s.held_out])}")
    if args.misses:
        for s in corpus:
            if not s.held_out and got[s.name] != s.expected:
                print(f"    miss {s.name}: Sisimai {s.expected}, maildoctor {got[s.name]}")

    messages = [raws[s.name] for s in corpus]
    batch = (messages * (args.messages // len(messages) + 1))[: args.messages]
    start, cpu = time.perf_counter(), time.process_time()
    explained = 0
    for raw in batch:
        try:
            explain(raw)
            explained += 1
        except NotABounce:
            pass
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    # The CPU-time figure is what this code costs; the wall-clock one also shows
    # how busy the machine was (2 cores shared by several people here).
    print(
        f"parse + classify: {len(batch)} messages ({explained} explained), "
        f"{len(batch) / cpu:,.0f} bounces per CPU second, "
        f"{len(batch) / elapsed:,.0f} bounces/s wall clock"
    )


if __name__ == "__main__":
    main()
