"""The DNS probe against a real DNS server on loopback (tests/dnsserver.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from maildoctor.address.dnsprobe import (
    DEFAULT_CANARIES,
    AresResolver,
    DNSConfigError,
    DNSProbe,
    DomainDNS,
    make_batch_resolver,
    make_resolver,
    parse_nameserver,
)
from tests.dnsserver import ZONES_DIR, DNSTestServer

Make = Callable[[Sequence[str], float], Any]


@pytest.fixture(params=["dnspython", "c-ares"])
def make(request: pytest.FixtureRequest) -> Make:
    """Each probe test runs through both resolvers: the single-address path's
    (dnspython) and the batch path's (c-ares), which must give the same answers."""
    return make_resolver if request.param == "dnspython" else make_batch_resolver


def probe_all(
    nameserver: str,
    domains: Sequence[str],
    *,
    canaries: Sequence[str] = DEFAULT_CANARIES,
    timeout: float = 1.0,
    concurrency: int = 10,
    make: Make = make_resolver,
) -> tuple[list[DomainDNS], DNSProbe]:
    async def run() -> tuple[list[DomainDNS], DNSProbe]:
        probe = DNSProbe(make([nameserver], timeout), canaries=canaries, concurrency=concurrency)
        return list(await asyncio.gather(*(probe.probe(d) for d in domains))), probe

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("domain", "status", "mx", "reason"),
    [
        ("gmail.com", "ok",
         ("gmail-smtp-in.l.google.com", "alt1.gmail-smtp-in.l.google.com"), None),
        ("multi-mx.maildoctor.test", "ok",
         ("mx1.multi-mx.maildoctor.test", "mx2.multi-mx.maildoctor.test",
          "mx3.multi-mx.maildoctor.test"), None),
        ("half-dangling-mx.maildoctor.test", "ok",
         ("nowhere.half-dangling-mx.maildoctor.test", "mx.half-dangling-mx.maildoctor.test"), None),
        ("alias.maildoctor.test", "ok", ("mx.example.jp",), None),
        ("tcp-only.maildoctor.test", "ok", ("mx.example.jp",), None),
        ("gmial.com", "nxdomain", (), None),
        ("null-mx.maildoctor.test", "null_mx", (".",), None),
        ("dangling-mx.maildoctor.test", "mx_unresolvable",
         ("nowhere.dangling-mx.maildoctor.test",), None),
        ("a-only.maildoctor.test", "implicit_mx", (), None),
        ("aaaa-only.maildoctor.test", "implicit_mx", (), None),
        ("txt-only.maildoctor.test", "no_mail_server", (), None),
        ("servfail.maildoctor.test", "unavailable", (), "SERVFAIL"),
        ("refused.maildoctor.test", "unavailable", (), "REFUSED"),
        ("timeout.maildoctor.test", "unavailable", (), "timeout"),
        ("mx-servfail.maildoctor.test", "unavailable", ("mx.servfail.maildoctor.test",),
         "SERVFAIL"),
        ("mx-timeout.maildoctor.test", "unavailable", ("mx.timeout.maildoctor.test",), "timeout"),
    ],
    ids=["mx", "mx-preference-order", "first-mx-dangles", "cname", "tcp-fallback", "nxdomain",
         "null-mx", "dangling-mx", "a-only", "aaaa-only", "txt-only", "servfail", "refused",
         "timeout", "mx-host-servfail", "mx-host-timeout"],
)  # fmt: skip
def test_status(
    nameserver: str, domain: str, status: str, mx: tuple[str, ...], reason: str | None, make: Make
) -> None:
    timeout = 0.3 if "timeout" in domain else 1.0
    [result], _ = probe_all(nameserver, [domain], timeout=timeout, make=make)
    assert (result.status, result.mx, result.reason) == (status, mx, reason)


def test_addresses_of_implicit_mx(nameserver: str, make: Make) -> None:
    [result], _ = probe_all(nameserver, ["a-only.maildoctor.test"], make=make)
    assert result.addresses == ("192.0.2.46",)


def test_each_domain_is_asked_once(dns_server: DNSTestServer, make: Make) -> None:
    domains = ["gmail.com", "GMAIL.com", "gmail.com.", "example.jp"] * 25
    results, probe = probe_all(dns_server.nameserver, domains, make=make)
    assert {r.domain for r in results} == {"gmail.com", "example.jp"}
    asked = [name for name, rdtype, _ in dns_server.query_log if rdtype == "MX"]
    if make is make_resolver:
        assert sorted(asked) == ["example.jp.", "gmail.com.", "gmail.com."]  # canary + lookup
        assert probe.queries == dns_server.queries
    else:  # c-ares answers the lookup of gmail.com from its own cache of the canary's answer
        assert sorted(asked) == ["example.jp.", "gmail.com."]
        assert probe.queries == dns_server.queries + 1


def test_concurrency_is_bounded(make: Make) -> None:
    zone = "\n".join(f"d{i}.test. 60 IN MX 10 mx.d{i}.test.\nmx.d{i}.test. 60 IN A 192.0.2.1"
                     for i in range(40))  # fmt: skip
    zone += "\n. 60 IN NS a.root.\ngmail.com. 60 IN MX 5 mx.gmail.com.\n"
    domains = [f"d{i}.test" for i in range(40)]
    # The server holds each answer 50 ms, so the queries it holds at once are the ones
    # the client has in flight (counted, not timed: a loaded machine changes durations,
    # not this count). A long timeout: nothing is given up and sent again.
    with DNSTestServer(zone, delay=0.05) as server:
        results, probe = probe_all(
            server.nameserver, domains, concurrency=4, make=make, timeout=10.0
        )
        bounded = server.max_pending
        server.reset()
        probe_all(server.nameserver, domains, concurrency=100, make=make, timeout=10.0)
        unbounded = server.max_pending
    assert all(r.status == "ok" for r in results)
    assert probe.queries == 42  # 40 MX (addresses come as glue) + 2 canaries
    assert 1 <= bounded <= 4
    assert unbounded > 4


def test_canary_failure_makes_everything_unavailable(make: Make) -> None:
    # A sinkhole: answers NXDOMAIN for every name, as this machine's resolver does.
    with DNSTestServer("") as server:
        results, _ = probe_all(server.nameserver, ["gmail.com", "gmial.com"], make=make)
    assert [(r.status, r.reason) for r in results] == [("unavailable", "canary")] * 2


def test_canary_is_checked_once(dns_server: DNSTestServer, make: Make) -> None:
    probe_all(dns_server.nameserver, ["example.jp", "gmail.com", "docomo.ne.jp"], make=make)
    assert [q[:2] for q in dns_server.query_log].count((".", "NS")) == 1


def test_custom_canary_replaces_the_defaults(make: Make) -> None:
    zone = "corp.test. 60 IN MX 10 mx.corp.test.\nmx.corp.test. 60 IN A 192.0.2.7\n"
    with DNSTestServer(zone) as server:
        [default], _ = probe_all(server.nameserver, ["nope.test"], make=make)
        [custom], _ = probe_all(server.nameserver, ["nope.test"], canaries=["corp.test"], make=make)
    assert (default.status, default.reason) == ("unavailable", "canary")
    assert custom.status == "nxdomain"


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("127.0.0.1", ("127.0.0.1", 53)), ("127.0.0.1:5353", ("127.0.0.1", 5353)),
     ("::1", ("::1", 53)), ("[::1]:5353", ("::1", 5353))],
)  # fmt: skip
def test_parse_nameserver(value: str, parsed: tuple[str, int]) -> None:
    assert parse_nameserver(value) == parsed


@pytest.mark.parametrize(
    "value", ["", "dns.example", "127.0.0.1:http", "127.0.0.1:0", "127.0.0.1:70000", "[::1]x"]
)
def test_parse_nameserver_errors(value: str) -> None:
    with pytest.raises(DNSConfigError, match="nameserver"):
        parse_nameserver(value)


def test_zone_file_loads_from_repository() -> None:
    assert (ZONES_DIR / "test.zone").is_file()


@pytest.mark.parametrize(
    ("canary", "reason"),
    [
        ("gmial.com", "canary"),  # denies a name that must exist: untruthful
        ("timeout.maildoctor.test", "timeout"),  # merely unavailable: say which way
        ("servfail.maildoctor.test", "SERVFAIL"),
    ],
)
def test_a_failed_canary_keeps_its_own_reason(
    nameserver: str, canary: str, reason: str, make: Make
) -> None:
    [result], _ = probe_all(nameserver, ["gmail.com"], canaries=[canary], timeout=0.3, make=make)
    assert (result.status, result.reason) == ("unavailable", reason)


def test_the_batch_resolver_is_c_ares_for_the_servers_dnspython_would_ask() -> None:
    resolver = make_batch_resolver(["127.0.0.1:5353", "[::1]:53"], 2.0)
    assert isinstance(resolver, AresResolver)
    assert (resolver.servers, resolver.timeout) == (["127.0.0.1:5353", "[::1]:53"], 2.0)
    with pytest.raises(DNSConfigError):
        make_batch_resolver(["localhost"])


def test_one_batch_resolver_serves_runs_on_different_loops(nameserver: str) -> None:
    resolver = make_batch_resolver([nameserver], 1.0)

    async def run() -> str:
        return (await DNSProbe(resolver).probe("gmail.com")).status

    assert [asyncio.run(run()) for _ in range(2)] == ["ok", "ok"]


def test_high_concurrency_loses_no_answer() -> None:
    """--concurrency 100 through c-ares answers as 5 through dnspython, domain by domain."""
    zone = "\n".join(
        f"d{i}.test. 60 IN MX 10 mx.d{i}.test.\nmx.d{i}.test. 60 IN A 192.0.2.1"
        if i % 3
        else f"d{i}.test. 60 IN A 192.0.2.{i % 250 + 1}"
        for i in range(300)
    )
    zone += "\n. 60 IN NS a.root.\ngmail.com. 60 IN MX 5 mx.gmail.com.\n"
    domains = [f"d{i}.test" for i in range(300)] + [f"nx{i}.test" for i in range(50)]
    with DNSTestServer(zone, delay=0.005) as server:
        # A timeout long enough that only a lost answer, never a busy machine, is missed.
        wide, _ = probe_all(
            server.nameserver, domains, concurrency=100, make=make_batch_resolver, timeout=10.0
        )
        narrow, _ = probe_all(server.nameserver, domains, concurrency=5, timeout=10.0)
    assert [(r.status, r.mx, r.addresses) for r in wide] == [
        (r.status, r.mx, r.addresses) for r in narrow
    ]
    assert {r.status for r in wide} == {"ok", "implicit_mx", "nxdomain"}


def test_follow_up_query_waits_ahead_of_new_lookups(make: Make) -> None:
    """A lookup's second query (the A of a domain without MX) is sent before lookups
    not yet begun: a batch writes results in input order, so one domain's A queued
    behind every other domain's MX would hold back all the results after it."""
    zone = "\n".join(f"d{i}.test. 60 IN MX 10 mx.d{i}.test.\nmx.d{i}.test. 60 IN A 192.0.2.1"
                     for i in range(8))  # fmt: skip
    zone += (
        "\nnomx.test. 60 IN A 192.0.2.9\n. 60 IN NS a.root.\ngmail.com. 60 IN MX 5 mx.gmail.com.\n"
    )
    domains = ["nomx.test", *(f"d{i}.test" for i in range(8))]
    with DNSTestServer(zone) as server:
        results, _ = probe_all(server.nameserver, domains, concurrency=1, make=make)
        asked = [(name, qtype) for name, qtype, _ in server.query_log]
    assert results[0].status == "implicit_mx"
    assert [r.status for r in results[1:]] == ["ok"] * 8
    # One query at a time: the canaries, nomx.test's MX, the MX its freed slot went to,
    # then nomx.test's A ahead of the seven other MX still waiting (in a plain queue
    # it would come after all of them).
    first, follow_up = asked.index(("nomx.test.", "MX")), asked.index(("nomx.test.", "A"))
    assert follow_up - first <= 2
    assert asked[follow_up + 1 :] == [(f"d{i}.test.", "MX") for i in range(1, 8)]
