"""How long a support agent waits for ``maildoctor diagnose``.

Runs the real command in a fresh process (as an agent does) for a few
addresses, offline and against the loopback DNS server of the tests, and prints
the median and worst wall time, plus where the time of one run goes: Python
start-up, imports, and the work (check, render, five SMTP trial deliveries).

Usage: python bench/diagnose_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.dnsserver import DNSTestServer  # noqa: E402

ADDRESSES = ("taro@docomo.ne.jp", "hanako@au.com", "taro@gmial.com", "jiro@gmail.com")


def wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, capture_output=True, check=False)
    return time.perf_counter() - start


def import_seconds(module: str) -> float:
    """Self-reported import time of ``module`` and everything it pulls in."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    line = [x for x in done.stderr.splitlines() if x.rstrip().endswith(f"| {module}")][-1]
    return int(line.split("|")[1]) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per address and mode")
    opts = parser.parse_args()
    zone = (ROOT / "tests/data/zones/test.zone").read_text(encoding="utf-8")
    base = [sys.executable, "-m", "maildoctor", "diagnose"]
    with tempfile.TemporaryDirectory() as tmp, DNSTestServer(zone) as dns:
        db = str(Path(tmp) / "bench.sqlite3")
        python = statistics.median(wall([sys.executable, "-c", "pass"]) for _ in range(opts.runs))
        print(f"python start-up alone: {python * 1000:.0f} ms")
        imports = import_seconds("maildoctor.cli.diagnose")
        print(f"imports of the diagnose path: {imports * 1000:.0f} ms")
        print(f"{'address':<20} {'mode':<10} {'median':>8} {'worst':>8}")
        for address in ADDRESSES:
            for mode, extra in (
                ("offline", ["--offline"]),
                ("dns", ["--nameserver", dns.nameserver, "--dns-timeout", "1"]),
            ):
                times = [wall([*base, address, *extra, "--db", db]) for _ in range(opts.runs)]
                print(
                    f"{address:<20} {mode:<10} {statistics.median(times) * 1000:>6.0f}ms"
                    f" {max(times) * 1000:>6.0f}ms"
                )


if __name__ == "__main__":
    main()
