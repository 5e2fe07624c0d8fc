"""CachedProbe against the real loopback DNS server: deadline, TTL, size, busy, canary retry."""

from __future__ import annotations

import asyncio
import time

import pytest

from maildoctor.address.check import check_address, check_many
from maildoctor.address.dnscache import CachedProbe
from maildoctor.address.dnsprobe import DNSProbe, make_resolver
from maildoctor.findings import Verdict
from tests.dnsserver import ZONES_DIR, DNSTestServer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cached(server: DNSTestServer, clock: Clock | None = None, **kwargs: float) -> CachedProbe:
    resolver = make_resolver([server.nameserver], timeout=kwargs.pop("timeout", 1.0))
    return CachedProbe(lambda: DNSProbe(resolver), clock=clock or time.monotonic, **kwargs)


@pytest.mark.asyncio
async def test_second_request_is_served_from_the_cache(dns_server: DNSTestServer) -> None:
    probe = cached(dns_server)
    first = await probe.probe("docomo.ne.jp")
    asked = dns_server.queries
    assert first.status == "ok" and first.mx == ("mfsmax.docomo.ne.jp",)
    second = await probe.probe("DOCOMO.ne.jp.")
    assert second == first
    assert dns_server.queries == asked
    assert (probe.hits, probe.misses) == (1, 1)


@pytest.mark.asyncio
async def test_entries_expire_after_the_ttl(dns_server: DNSTestServer) -> None:
    clock = Clock()
    probe = cached(dns_server, clock, ttl=60.0)
    await probe.probe("docomo.ne.jp")
    asked = dns_server.queries
    clock.now += 59
    await probe.probe("docomo.ne.jp")
    assert dns_server.queries == asked
    clock.now += 2
    await probe.probe("docomo.ne.jp")
    assert dns_server.queries > asked


@pytest.mark.asyncio
async def test_size_is_bounded_least_recently_used_out(dns_server: DNSTestServer) -> None:
    probe = cached(dns_server, max_domains=2)
    for domain in ("docomo.ne.jp", "ezweb.ne.jp", "docomo.ne.jp", "au.com"):
        await probe.probe(domain)
    assert len(probe) == 2
    asked = dns_server.queries
    await probe.probe("docomo.ne.jp")  # used recently: kept
    assert dns_server.queries == asked
    await probe.probe("ezweb.ne.jp")  # least recently used: evicted, asked again
    assert dns_server.queries > asked


@pytest.mark.asyncio
async def test_deadline_answers_unknown_and_the_lookup_goes_on() -> None:
    # The server's delay is well past the deadline, so that a loaded machine (the answer
    # comes late) cannot make the early answer look like the server's.
    with DNSTestServer.from_files(ZONES_DIR / "test.zone", delay=1.0) as slow:
        probe = cached(slow, deadline=0.15, timeout=3.0)
        started = time.monotonic()
        early = await probe.probe("docomo.ne.jp")
        assert time.monotonic() - started < 1.0
        assert (early.status, early.reason) == ("unavailable", "timeout")
        assert len(probe) == 0  # a deadline miss is not cached
        # The shielded lookup finishes in the background and fills the cache: wait for
        # that (a fixed sleep was a race on a loaded machine), bounded.
        deadline = time.monotonic() + 15
        while len(probe) == 0:
            assert time.monotonic() < deadline, "the shielded lookup never reached the cache"
            await asyncio.sleep(0.02)
        late = await probe.probe("docomo.ne.jp")
        assert late.status == "ok"
        assert probe.hits == 1


@pytest.mark.asyncio
async def test_a_silent_domain_is_unknown_never_missing(dns_server: DNSTestServer) -> None:
    probe = cached(dns_server, deadline=0.3)
    result = await check_address("taro@timeout.maildoctor.test", probe=probe)
    assert result.verdict == Verdict.UNKNOWN
    assert "dns_unavailable" in result.codes
    assert "domain_not_found" not in result.codes


@pytest.mark.asyncio
async def test_too_many_lookups_in_flight_answer_busy() -> None:
    with DNSTestServer.from_files(ZONES_DIR / "test.zone", delay=0.3) as slow:
        probe = cached(slow, max_pending=1, deadline=1.0)
        first, second = await asyncio.gather(
            probe.probe("docomo.ne.jp"), probe.probe("ezweb.ne.jp")
        )
        assert first.status == "ok"
        assert (second.status, second.reason) == ("unavailable", "busy")


@pytest.mark.asyncio
async def test_a_failed_canary_is_asked_again_later() -> None:
    clock = Clock()
    zone = (ZONES_DIR / "test.zone").read_text()
    without_root = "\n".join(line for line in zone.splitlines() if not line.startswith(".  "))
    with DNSTestServer(without_root) as server:
        probe = cached(server, clock, unavailable_ttl=15.0)
        first = await probe.probe("docomo.ne.jp")
        assert (first.status, first.reason) == ("unavailable", "canary")
        server.add_zone(". 300 IN NS a.root-servers.net.\n")
        clock.now += 16
        again = await probe.probe("docomo.ne.jp")
        assert again.status == "ok"


@pytest.mark.asyncio
async def test_check_many_takes_the_cached_probe(dns_server: DNSTestServer) -> None:
    probe = cached(dns_server)
    addresses = ["a@docomo.ne.jp", "b@gmial.com", "c@docomo.ne.jp"]
    results = [r async for r in check_many(addresses, probe=probe)]
    assert [r.address for r in results] == addresses
    assert [r.verdict for r in results] == [Verdict.RISKY, Verdict.UNDELIVERABLE, Verdict.RISKY]


@pytest.mark.parametrize("bad", ["nope", "1.2.3.4:99999"])
def test_bad_nameserver_is_a_config_error(bad: str) -> None:
    from maildoctor.address.dnsprobe import DNSConfigError

    with pytest.raises(DNSConfigError):
        CachedProbe.for_nameservers([bad])
