"""Benchmark of the desk's ``POST /api/diagnose``: latency a support agent waits for.

Starts the harness with its web app in-process (``maildoctor.web.app.run_in_thread``:
SMTP, HTTP and the trial in one event loop, as ``maildoctor serve`` runs them) and a
loopback DNS server (tests/dnsserver.py with the test zone) for the address checks.
Posts diagnoses over real HTTP, one at a time as an agent would, cycling through
carrier and ordinary addresses and every ticket type, and prints p50, p95 and max
latency. The target is p95 <= 1 s on the project's 2-core machine.

Usage: python bench/desk_bench.py [--requests N] [--warmup N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from maildoctor.tickets import ticket_ids
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig
from tests.dnsserver import ZONES_DIR, DNSTestServer

ADDRESSES = (
    "taro@docomo.ne.jp",
    "hanako@au.com",
    "jiro@softbank.ne.jp",
    "saburo@gmail.com",
    "shiro@gmial.com",
    "goro@yahoo.co.jp",
)


def post(url: str, body: dict[str, str]) -> float:
    data = json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()
        if r.status != 200:
            raise SystemExit(f"POST /api/diagnose answered {r.status}")
    return time.perf_counter() - start


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=120)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    tickets = ticket_ids()
    with (
        tempfile.TemporaryDirectory() as tmp,
        DNSTestServer.from_files(ZONES_DIR / "test.zone") as dns,
    ):
        config = WebConfig(nameservers=(dns.nameserver,), dns_timeout=2.0)
        with run_in_thread(Path(tmp) / "h.sqlite3", web_config=config) as harness:
            url = f"{harness.http_url}/api/diagnose"
            for i in range(args.warmup):
                post(url, {"address": ADDRESSES[i % len(ADDRESSES)]})
            times = []
            for i in range(args.requests):
                body = {
                    "address": ADDRESSES[i % len(ADDRESSES)],
                    "ticket": tickets[i % len(tickets)],
                }
                times.append(post(url, body))
    p50, p95 = percentile(times, 50), percentile(times, 95)
    print(f"POST /api/diagnose, {len(times)} requests one at a time")
    print("  (in-process harness, loopback DNS server)")
    print(f"  p50 {p50 * 1000:7.1f} ms")
    print(f"  p95 {p95 * 1000:7.1f} ms   target <= 1000 ms: {'met' if p95 <= 1.0 else 'MISSED'}")
    print(f"  max {max(times) * 1000:7.1f} ms   mean {statistics.mean(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
