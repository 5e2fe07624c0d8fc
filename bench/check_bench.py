"""Benchmark of ``maildoctor check`` on a member list, against a slow loopback DNS server.

Starts tests/dnsserver.py in a child process (so its threads do not share our
GIL) with 20 ms added to every answer, serving 5,000 mail domains; checks
100,000 addresses over those domains, and prints:

- maildoctor's addresses/second with DNS, the DNS queries it sent, and the
  ratio to the floor (distinct queries x 20 ms / concurrency): the best any
  client could do with that many queries in flight; once through dnspython
  (the single-address path, and the batch path before c-ares) and once through
  c-ares (pycares on the event loop, what ``check --file`` uses), in the same run, each
  with the process CPU seconds and the CPU per query: on a shared, loaded machine
  CPU is the steadier figure, wall time (and so the ratio) moves with the load;
- the c-ares path at higher ``--concurrency`` (``--scale``), with the verdicts of
  each run compared to the first: scaling must not lose answers;
- the command itself, ``maildoctor check --file`` in a new process writing jsonl
  to a file, against the same floor (start-up, reading and writing included);
- email-validator's ``validate_email(check_deliverability=True)`` on a sample
  of the same list and server (it asks DNS per address, so the whole list
  would take an hour), and the ratio between the two;
- syntax-only throughput: maildoctor's ``check_syntax`` and ``check_offline``
  next to email-validator's ``check_deliverability=False``.

Usage: python bench/check_bench.py [--addresses N] [--domains N] [--concurrency N]
       [--delay SECONDS] [--ev-sample N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import random
import resource
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from maildoctor.address import check as check_module
from maildoctor.address.check import check_many, check_offline
from maildoctor.address.dnsprobe import DNSProbe, make_batch_resolver, make_resolver
from maildoctor.address.syntax import check_syntax

TLDS = ("jp", "co.jp", "ne.jp", "com", "net", "or.jp")


def bench_domains(count: int) -> list[str]:
    return [f"shop{i}-bench.{TLDS[i % len(TLDS)]}" for i in range(count)]


def zone_text(domains: list[str]) -> str:
    """Most domains have an MX with an address; some only an A (implicit MX); some are
    missing (NXDOMAIN); plus the canaries."""
    lines = [". 300 IN NS a.root-servers.net.", "a.root-servers.net. 300 IN A 198.41.0.4",
             "gmail.com. 300 IN MX 5 gmail-smtp-in.l.google.com.",
             "gmail-smtp-in.l.google.com. 300 IN A 192.0.2.2"]  # fmt: skip
    for i, domain in enumerate(domains):
        if i % 20 == 19:
            continue  # NXDOMAIN
        if i % 10 == 9:
            lines.append(f"{domain}. 300 IN A 192.0.2.{i % 250 + 1}")
            continue
        lines.append(f"{domain}. 300 IN MX 10 mx.{domain}.")
        lines.append(f"mx.{domain}. 300 IN A 192.0.2.{i % 250 + 1}")
    return "\n".join(lines) + "\n"


def serve(conn: Connection, zone: str, delay: float) -> None:
    """Child process: run the DNS server; answer 'count' and 'stop' on the pipe."""
    from tests.dnsserver import DNSTestServer

    with DNSTestServer(zone, delay=delay) as server:
        conn.send(server.nameserver)
        while True:
            message = conn.recv()
            if message == "count":
                conn.send(server.queries)
            elif message == "cpu":
                conn.send(time.process_time())
            elif message == "reset":
                server.reset()
                conn.send(0)
            else:
                return


def ask(conn: Connection, message: str) -> int:
    conn.send(message)
    return int(conn.recv())


def server_cpu(conn: Connection) -> float:
    """CPU seconds the DNS server process has used (a Python server: its CPU per
    answer bounds the rate at high concurrency on a loaded machine)."""
    conn.send("cpu")
    return float(conn.recv())


def clear_domain_caches() -> None:
    """Forget every per-domain memo (domain syntax, typo search, carrier and disposable
    facts), so that each run pays for its 5,000 domains as a fresh ``check --file``
    process does. (Until this bench cleared them all, the typo search stayed cached
    from the warm-up pass: about 0.35 ms a domain was missing from the CPU figures;
    the carrier look-up, about 10 us a domain, until issue 24's typo-search round.)"""
    from maildoctor import carriers
    from maildoctor.address import domain_syntax, typos

    for cached in (
        carriers.carrier_for_domain,
        check_module._domain_facts,
        getattr(check_module, "_plain_domain", None),
        domain_syntax.check_domain,
        getattr(typos, "_suggest", None),
    ):
        if cached is not None:
            cached.cache_clear()


async def run_maildoctor(
    addresses: list[str], nameserver: str, concurrency: int, resolver: str
) -> tuple[float, float, int, dict[str, int]]:
    """(wall s, process CPU s, queries sent, verdict counts) of one cold run."""
    clear_domain_caches()
    make = make_batch_resolver if resolver == "c-ares" else make_resolver
    verdicts: dict[str, int] = {}
    cpu, start = time.process_time(), time.perf_counter()
    probe = DNSProbe(make([nameserver], 5.0), concurrency=concurrency)
    last_answer = [start]
    lookup = probe.lookup

    def timed_lookup(domain: str) -> asyncio.Future[Any]:
        future = lookup(domain)
        if not future.done():  # a finished lookup asked again is no new answer
            future.add_done_callback(lambda _: last_answer.__setitem__(0, time.perf_counter()))
        return future

    probe.lookup = timed_lookup  # type: ignore[method-assign]
    async for result in check_many(addresses, probe=probe):
        verdicts[str(result.verdict)] = verdicts.get(str(result.verdict), 0) + 1
    elapsed = time.perf_counter() - start
    TAIL[resolver] = elapsed - (last_answer[0] - start)
    return elapsed, time.process_time() - cpu, probe.queries, verdicts


#: Seconds from the last DNS answer to the end of the last run, by resolver.
TAIL: dict[str, float] = {}


def report(
    name: str, n: int, delay: float, concurrency: int, run: tuple[float, float, int, dict[str, int]]
) -> float:
    """Print one run's figures; return its ratio to the floor's throughput."""
    elapsed, cpu, sent, verdicts = run
    floor = sent * delay / concurrency
    print(f"maildoctor check (DNS through {name}, --concurrency {concurrency}):")
    print(f"  {elapsed:.2f} s, {n / elapsed:,.0f} addresses/s; verdicts {verdicts}")
    print(f"  DNS queries sent: {sent}; floor {sent} x {delay * 1000:.0f} ms / {concurrency} = "
          f"{floor:.2f} s = {n / floor:,.0f} addresses/s")  # fmt: skip
    print(f"  ratio to the floor's throughput: {floor / elapsed:.0%} (target >= 80%); "
          f"CPU / floor: {cpu / floor:.0%}")  # fmt: skip
    print(f"  process CPU: {cpu:.2f} s = {cpu / sent * 1000:.2f} ms per query "
          f"({cpu / n * 1e6:.0f} us per address, all checks included)")  # fmt: skip
    held = elapsed * concurrency / sent * 1000
    print(f"  a query slot was held {held:.1f} ms on average ({delay * 1000:.0f} ms of delay; "
          "the rest: this process's CPU and waits for a CPU on a loaded machine)")  # fmt: skip
    tail = TAIL.get(name, 0.0)
    print(f"  last DNS answer at {elapsed - tail:.2f} s, then {tail:.2f} s for the addresses "
          "read after it (input order holds them until their domains are answered)")  # fmt: skip
    return floor / elapsed


def cli_run(
    addresses: list[str],
    conn: Connection,
    nameserver: str,
    concurrency: int,
    delay: float,
    tree: Path | None = None,
) -> None:
    """The command itself, end to end: ``maildoctor check --file`` in a new process
    (start-up, reading the file, writing jsonl to a file included), against the floor;
    ``tree``: run another checkout's command (``--cli-from``), for a before/after pair."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        members, out = Path(folder) / "members.txt", Path(folder) / "out.jsonl"
        members.write_text("\n".join(addresses) + "\n", encoding="utf-8")
        command = [sys.executable, "-m", "maildoctor", "check", "--file", str(members),
                   "--nameserver", nameserver, "--concurrency", str(concurrency),
                   "--format", "jsonl"]  # fmt: skip
        ask(conn, "reset")
        start = time.perf_counter()
        with out.open("wb") as sink:
            where = tree or Path(__file__).resolve().parent.parent
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.DEVNULL, cwd=where)
            # wait4: this child's own CPU (its peak RSS would count the fork of this bench).
            _, _, usage = os.wait4(process.pid, 0)
            process.returncode = 0  # reaped above
        elapsed = time.perf_counter() - start
        lines = sum(1 for _ in out.open(encoding="utf-8"))
    cpu = usage.ru_utime + usage.ru_stime
    sent = ask(conn, "count")
    floor = sent * delay / concurrency
    print()
    print(f"maildoctor check --file members.txt --format jsonl > out.jsonl (a new process, "
          f"--concurrency {concurrency}{f', from {tree}' if tree else ''}):")  # fmt: skip
    print(f"  {elapsed:.2f} s, {len(addresses) / elapsed:,.0f} addresses/s, {lines:,} lines; "
          f"{sent} queries, floor {floor:.2f} s; ratio to the floor's throughput: "
          f"{floor / elapsed:.0%}")  # fmt: skip
    print(f"  process CPU: {cpu:.2f} s = {cpu / max(1, sent) * 1000:.2f} ms per query "
          "(start-up, reading the file and writing the results included)")  # fmt: skip


def run_email_validator(addresses: list[str], nameserver: str, *, caching: bool) -> float:
    import dns.resolver
    from email_validator import EmailNotValidError, caching_resolver, validate_email

    host, port = nameserver.rsplit(":", 1)
    resolver = caching_resolver(timeout=5) if caching else dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = int(port)
    resolver.lifetime = 5
    start = time.perf_counter()
    for address in addresses:
        with contextlib.suppress(EmailNotValidError):
            validate_email(address, check_deliverability=True, dns_resolver=resolver)
    return time.perf_counter() - start


def syntax_rates(addresses: list[str]) -> dict[str, float]:
    from email_validator import EmailNotValidError, validate_email

    rates = {}
    start = time.perf_counter()
    for address in addresses:
        check_syntax(address)
    rates["maildoctor check_syntax"] = len(addresses) / (time.perf_counter() - start)
    start = time.perf_counter()
    for address in addresses:
        check_offline(address)
    rates["maildoctor check --offline (all static checks)"] = len(addresses) / (
        time.perf_counter() - start
    )
    start = time.perf_counter()
    for address in addresses:
        with contextlib.suppress(EmailNotValidError):
            validate_email(address, check_deliverability=False)
    rates["email-validator check_deliverability=False"] = len(addresses) / (
        time.perf_counter() - start
    )
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=100_000)
    parser.add_argument("--domains", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=20)  # the CLI default
    parser.add_argument("--delay", type=float, default=0.020)
    parser.add_argument("--ev-sample", type=int, default=200)
    parser.add_argument("--scale", default="50,100", help="c-ares concurrencies to try too")
    parser.add_argument(
        "--cli-from",
        type=Path,
        action="append",
        default=[],
        help="also time the command of this checkout (a git worktree of an earlier commit)",
    )
    args = parser.parse_args()

    rng = random.Random(2026)
    domains = bench_domains(args.domains)
    addresses = [
        f"member{i}@{domains[i % len(domains)]}" if i >= len(domains) else f"member{i}@{domains[i]}"
        for i in range(args.addresses)
    ]
    rng.shuffle(addresses)

    parent, child = mp.Pipe()
    server = mp.Process(target=serve, args=(child, zone_text(domains), args.delay), daemon=True)
    server.start()
    nameserver = parent.recv()
    print(f"DNS server {nameserver}: {args.domains} domains, {args.delay * 1000:.0f} ms per answer")
    print(f"list: {len(addresses)} addresses over {len(set(domains))} domains, shuffled")
    try:
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
              "(shared; wall-time figures move with the load, CPU seconds much less)")  # fmt: skip
        warm = [f"warm@{domain}" for domain in domains]
        runs, ratios = {}, {}
        for name in ("dnspython", "c-ares"):
            # The test server (Python) builds each distinct answer once, then replays it,
            # as a real resolver answers from its cache; the warm-up pass has it build
            # the answers for this client's query bytes, so the run measures the client.
            asyncio.run(run_maildoctor(warm, nameserver, args.concurrency, name))
            ask(parent, "reset")
            served = server_cpu(parent)
            runs[name] = asyncio.run(run_maildoctor(addresses, nameserver, args.concurrency, name))
            received, served = ask(parent, "count"), server_cpu(parent) - served
            print()
            ratios[name] = report(name, len(addresses), args.delay, args.concurrency, runs[name])
            print(f"  server received {received} queries, used {served:.2f} s CPU = "
                  f"{served / max(1, received) * 1000:.3f} ms a query (answers replayed from "
                  "its cache, sent by a delay thread)")  # fmt: skip
        before, after = runs["dnspython"], runs["c-ares"]
        per_query_before, per_query_after = before[1] / before[2], after[1] / after[2]
        print()
        print(
            f"c-ares / dnspython, same run: CPU per query {per_query_after * 1000:.2f} / "
            f"{per_query_before * 1000:.2f} ms = {per_query_after / per_query_before:.2f}x; "
            f"ratio to the floor {ratios['c-ares']:.0%} vs {ratios['dnspython']:.0%}"
        )
        for tree in args.cli_from:
            cli_run(addresses, parent, nameserver, args.concurrency, args.delay, tree)
        cli_run(addresses, parent, nameserver, args.concurrency, args.delay)
        rate = len(addresses) / after[0]
        for concurrency in [int(c) for c in args.scale.split(",") if c]:
            ask(parent, "reset")
            served = server_cpu(parent)
            run = asyncio.run(run_maildoctor(addresses, nameserver, concurrency, "c-ares"))
            served = server_cpu(parent) - served
            print()
            report("c-ares", len(addresses), args.delay, concurrency, run)
            same = "the same verdicts" if run[3] == after[3] else "DIFFERENT verdicts"
            print(
                f"  {same} as at --concurrency {args.concurrency}; server used {served:.2f} s CPU"
            )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak memory of this process: {rss:.0f} MiB (the bench holds the list itself)")

        sample = addresses[: args.ev_sample]
        ask(parent, "reset")
        ev_elapsed = run_email_validator(sample, nameserver, caching=False)
        ev_queries = ask(parent, "count")
        ev_rate = len(sample) / ev_elapsed
        ask(parent, "reset")
        evc_elapsed = run_email_validator(sample, nameserver, caching=True)
        evc_rate = len(sample) / evc_elapsed
        print()
        print(f"email-validator validate_email(check_deliverability=True), first {len(sample)} "
              "addresses of the same list, same server:")  # fmt: skip
        print(f"  plain resolver:   {ev_elapsed:.2f} s, {ev_rate:,.1f} addresses/s, "
              f"{ev_queries} queries")  # fmt: skip
        print(f"  caching_resolver: {evc_elapsed:.2f} s, {evc_rate:,.1f} addresses/s")
        print(f"  maildoctor / email-validator throughput: {rate / ev_rate:,.0f}x "
              f"(caching: {rate / evc_rate:,.0f}x; target >= 20x)")  # fmt: skip
    finally:
        parent.send("stop")
        server.join(timeout=10)

    print()
    print(f"syntax only ({len(addresses)} addresses, no DNS):")
    for name, value in syntax_rates(addresses).items():
        print(f"  {name}: {value:,.0f} addresses/s")


if __name__ == "__main__":
    main()
