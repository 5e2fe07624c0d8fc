"""How often the paste reader finds the customer's address, ticket type and name.

Runs :func:`maildoctor.diagnose.paste.read_paste` on the pasted tickets of
``bench/paste_eval/`` (the tuning part, and the held-out part written first with
its own templates, names and layouts) and prints, for each part, the share where
the address (compared after repair), the ticket type and the name (spaces
ignored; "no name" must be said as none) were right, by kind of paste.
``--failures N`` lists failures of the tuning part only: the held-out part is
for measuring, never for looking at.

Usage: python bench/paste_bench.py [--failures N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.paste_eval import heldout, tuning  # noqa: E402
from maildoctor.address.repair import repair  # noqa: E402
from maildoctor.diagnose.paste import read_paste  # noqa: E402


def _norm(address: str | None) -> str | None:
    return None if address is None else (repair(address) or address.lower())


def _name(name: str | None) -> str | None:
    return None if name is None else name.replace(" ", "").replace("\u3000", "")


def score(case: dict[str, Any]) -> dict[str, bool]:
    paste = read_paste(case["text"])
    return {
        "address": _norm(paste.address) == _norm(case["address"]),
        "type": paste.ticket_type == case["type"],
        "name": _name(paste.name) == _name(case["name"]),
    }


def report(label: str, cases: list[dict[str, Any]], failures: int = 0) -> None:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    shown = 0
    start = time.perf_counter()
    for case in cases:
        right = score(case)
        for key in ("all", case["kind"]):
            row = totals[key]
            row[0] += 1
            row[1] += right["address"]
            row[2] += right["type"]
            row[3] += right["name"]
        if failures and shown < failures and not all(right.values()):
            shown += 1
            paste = read_paste(case["text"])
            wrong = [k for k, v in right.items() if not v]
            print(f"  FAIL {wrong}: {case['text'][:90]!r}")
            print(f"    want {case['address']} {case['type']} {case['name']}")
            print(f"    got  {paste.address} {paste.ticket_type} {paste.name} ({paste.reason})")
    elapsed = (time.perf_counter() - start) * 1000 / max(len(cases), 1)
    print(f"{label}: {len(cases)} pasted tickets, {elapsed:.1f} ms each")
    for key, (n, address, kind, name) in sorted(totals.items(), key=lambda kv: kv[0] != "all"):
        print(
            f"  {key:<10} n={n:<3} address {address / n:6.1%}   type {kind / n:6.1%}"
            f"   name {name / n:6.1%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", type=int, default=0)
    parser.add_argument("--tuning-only", action="store_true", help="do not run the held-out part")
    args = parser.parse_args()
    report("tuning", tuning.cases_with_hand(), args.failures)
    if not args.tuning_only:
        report("held-out", heldout.cases())
        report("held-out, hand-written", heldout.HAND)


if __name__ == "__main__":
    main()
