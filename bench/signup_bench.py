"""Benchmark of the sign-up check API (``GET /api/check``) against a slow loopback DNS server.

Three processes, as in production the form, the server and DNS are apart:
tests/dnsserver.py in a child process adding 20 ms to every answer and serving
``--requests`` mail domains; ``maildoctor serve`` (its check API asking that
server, no rate limit) in another; this process as the client, keeping
``--concurrency`` requests in flight over keep-alive connections.

- **cold cache**: every request names a domain not seen before, so each one
  waits for DNS (the canary once per probe generation, then the domain's MX);
- **warm cache**: the same addresses again, every domain answered from the
  server's per-domain cache.

Prints p50, p99 and max latency and requests/second for each, and the server's own
work per warm request measured in this process (no HTTP). Target: p99 <= 50 ms warm.

Usage: python bench/signup_bench.py [--requests N] [--concurrency N] [--delay SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import re
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def zone_text(domains: list[str]) -> str:
    lines = [". 300 IN NS a.root-servers.net.", "a.root-servers.net. 300 IN A 198.41.0.4",
             "gmail.com. 300 IN MX 5 gmail-smtp-in.l.google.com.",
             "gmail-smtp-in.l.google.com. 300 IN A 192.0.2.2"]  # fmt: skip
    for i, domain in enumerate(domains):
        lines.append(f"{domain}. 300 IN MX 10 mx.{domain}.")
        lines.append(f"mx.{domain}. 300 IN A 192.0.2.{i % 250 + 1}")
    return "\n".join(lines) + "\n"


def serve_dns(conn: Connection, zone: str, delay: float) -> None:
    """Child process: the DNS server until told to stop; answers 'count' with its query count."""
    from tests.dnsserver import DNSTestServer

    with DNSTestServer(zone, delay=delay) as server:
        conn.send(server.nameserver)
        while conn.recv() == "count":
            conn.send(server.queries)


def start_api(nameserver: str, db: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "maildoctor", "serve", "--smtp", "127.0.0.1:0",
         "--http", "127.0.0.1:0", "--db", str(db), "--auth-dns", "off",
         "--check-dns", nameserver, "--check-rate", "off"],
        stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.stderr is not None
    for _ in range(20):
        line = proc.stderr.readline()
        if match := re.match(r"Web\s+(http://\S+)/", line):
            return proc, match.group(1)
    proc.kill()
    raise SystemExit("maildoctor serve did not start")


async def run(base: str, addresses: list[str], concurrency: int) -> tuple[list[float], float]:
    """Latencies (seconds) of one request per address, and the wall time of the whole run."""
    latencies: list[float] = []
    queue: asyncio.Queue[str] = asyncio.Queue()
    for address in addresses:
        queue.put_nowait(address)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                address = queue.get_nowait()
                started = time.perf_counter()
                async with session.get(f"{base}/api/check", params={"address": address}) as r:
                    await r.read()
                    if r.status != 200:
                        raise SystemExit(f"{address}: HTTP {r.status}")
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - started


async def in_process(nameserver: str, addresses: list[str]) -> list[float]:
    """The server's own work per warm request, without HTTP: check, cache hit, JSON."""
    from maildoctor.address.check import check_address
    from maildoctor.address.dnscache import CachedProbe
    from maildoctor.web.signup import signup_payload

    probe = CachedProbe.for_nameservers([nameserver], timeout=1.5)
    for start in range(0, len(addresses), 100):  # fill the cache, 100 lookups at a time
        batch = addresses[start : start + 100]
        await asyncio.gather(*(check_address(a, probe=probe) for a in batch))
    latencies = []
    for address in addresses:
        started = time.perf_counter()
        result = await check_address(address, probe=probe)
        json.dumps(signup_payload(result, "ja"), ensure_ascii=False)
        latencies.append(time.perf_counter() - started)
    return latencies


def report(name: str, latencies: list[float], wall: float) -> None:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    digits = 1 if pct(50) >= 0.5 else 3
    print(
        f"{name:<11} {len(ordered):>6} requests  p50 {pct(50):6.{digits}f} ms  "
        f"p99 {pct(99):6.{digits}f} ms  max {ordered[-1] * 1000:6.1f} ms  "
        f"{len(ordered) / wall:7.0f} req/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds added per DNS answer")
    args = parser.parse_args()

    domains = [f"shop{i}-signup.jp" for i in range(args.requests)]
    addresses = [f"user{i}@{d}" for i, d in enumerate(domains)]
    parent, child = mp.Pipe()
    dns = mp.Process(target=serve_dns, args=(child, zone_text(domains), args.delay), daemon=True)
    dns.start()
    nameserver = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        api, base = start_api(nameserver, Path(tmp) / "h.sqlite3")
        try:
            print(
                f"GET /api/check, {args.concurrency} in flight, DNS +{args.delay * 1000:.0f} ms "
                "an answer (loopback)"
            )
            asyncio.run(run(base, ["warm@up.jp"] * 20, 2))  # connections and imports, not counted
            parent.send("count")
            before = parent.recv()
            cold, wall = asyncio.run(run(base, addresses, args.concurrency))
            report("cold cache", cold, wall)
            parent.send("count")
            asked = parent.recv() - before
            print(f"            DNS queries: {asked:,} ({asked / len(addresses):.2f} a request)")
            warm, wall = asyncio.run(run(base, addresses, args.concurrency))
            report("warm cache", warm, wall)
            parent.send("count")
            print(f"            DNS queries: {parent.recv() - before - asked:,}")
            work = asyncio.run(in_process(nameserver, addresses))
            report("in process", work, sum(work))
            print("            (warm: check_address + cache hit + JSON, no HTTP)")
        finally:
            api.terminate()
            api.communicate(timeout=10)
            parent.send("stop")
            dns.join(timeout=10)


if __name__ == "__main__":
    main()
