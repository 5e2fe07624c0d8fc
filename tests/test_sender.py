"""The sending-domain audit against a real DNS server serving tests/data/zones/sender.zone."""

from __future__ import annotations

from collections.abc import Iterator

import dns.resolver
import pytest

from maildoctor.sender.auth import make_resolver
from maildoctor.sender.domain_audit import audit, count_spf_lookups, parse_tags
from tests.dnsserver import ZONES_DIR, DNSTestServer


@pytest.fixture(scope="module")
def sender_dns() -> Iterator[DNSTestServer]:
    with DNSTestServer.from_files(
        ZONES_DIR / "sender.zone", timeout_names=["_dmarc.slow.example."]
    ) as server:
        yield server


@pytest.fixture(scope="module")
def resolver(sender_dns: DNSTestServer) -> dns.resolver.Resolver:
    return make_resolver([sender_dns.nameserver], timeout=0.5)


def _codes(domain: str, resolver: dns.resolver.Resolver, **kw: str) -> list[str]:
    return [f.code for f in audit(domain, resolver=resolver, lang="en", **kw).findings]


def test_lentrance_reports_missing_dmarc_and_soft_spf_with_the_fix(
    resolver: dns.resolver.Resolver,
) -> None:
    result = audit("lentrance.com", resolver=resolver, lang="en")
    by_code = {f.code: f for f in result.findings}
    assert list(by_code) == ["dmarc_missing", "spf_soft_all", "dkim_no_selector"]
    dmarc = by_code["dmarc_missing"]
    assert dmarc.severity == "error"
    assert dmarc.message == (
        '"lentrance.com" has no DMARC record: the Gmail/Yahoo bulk-sender rules are not met '
        "and docomo shows a spoofing warning. Fix: add the TXT record "
        '"v=DMARC1; p=none; rua=mailto:dmarc-reports@lentrance.com" at "_dmarc.lentrance.com" '
        "(start with p=none, read the reports, then move to quarantine/reject)."
    )
    soft = by_code["spf_soft_all"]
    assert soft.severity == "warning"
    assert soft.message.endswith(
        'Fix: once every sender is listed, change "~all" to "-all" in the TXT record '
        '"v=spf1 ip4:192.0.2.25 ip4:192.0.2.26 ~all" on "lentrance.com".'
    )


def test_lentrance_in_japanese(resolver: dns.resolver.Resolver) -> None:
    result = audit("lentrance.com", resolver=resolver, lang="ja")
    assert "「_dmarc.lentrance.com」にTXTレコード" in result.findings[0].message
    assert "「~all」を「-all」に変更してください" in result.findings[1].message


@pytest.mark.parametrize(
    ("domain", "kwargs", "codes"),
    [
        ("good.example", {"ip": "192.0.2.25", "selector": "s2048"}, []),
        ("plusall.example", {"selector": "s2048"}, ["spf_plus_all", "dkim_key_missing"]),
        ("neutral.example", {}, ["spf_neutral_all", "dmarc_policy_none", "dkim_no_selector",
                                 "dmarc_no_rua"]),
        ("toomany.example", {}, ["spf_too_many_lookups", "dkim_no_selector", "dmarc_no_rua"]),
        ("weakkey.example", {"selector": "old1024"}, ["dkim_key_weak"]),
        ("weakkey.example", {"selector": "old1024", "mail_from_domain": "bounce.lentrance.com"},
         ["dkim_key_weak", "dmarc_spf_not_aligned"]),
        ("nospf.example", {"selector": "nope"}, ["spf_missing", "dkim_key_missing",
                                                 "dmarc_invalid", "sender_no_mx"]),
        ("twospf.example", {}, ["spf_multiple", "dkim_no_selector", "dmarc_no_rua"]),
        ("lentrance.com", {"selector": "revoked"}, ["dkim_key_revoked", "dmarc_missing",
                                                    "spf_soft_all"]),
        ("lentrance.com", {"ip": "198.51.100.7"}, ["spf_ip_not_permitted", "dmarc_missing",
                                                   "ptr_missing", "spf_soft_all",
                                                   "dkim_no_selector"]),
        ("lentrance.com", {"ip": "198.51.100.8", "selector": "s2048"},
         ["spf_ip_not_permitted", "dmarc_missing", "ptr_mismatch", "spf_soft_all"]),
        ("slow.example", {}, ["sender_dns_unavailable", "dkim_no_selector"]),
    ],
    ids=["good", "plus-all", "neutral-and-p-none", "too-many-lookups", "weak-key",
         "not-aligned", "nothing-right", "two-spf", "revoked-key", "ip-no-ptr",
         "ptr-mismatch", "dmarc-timeout"],
)  # fmt: skip
def test_findings(
    resolver: dns.resolver.Resolver, domain: str, kwargs: dict[str, str], codes: list[str]
) -> None:
    assert _codes(domain, resolver, **kwargs) == codes


def test_dns_timeout_is_unknown_not_missing(resolver: dns.resolver.Resolver) -> None:
    result = audit("slow.example", resolver=resolver, lang="en")
    assert "dmarc_missing" not in [f.code for f in result.findings]
    assert result.checks["dmarc"] is None
    assert result.records["dmarc"] is None


def test_requirements(resolver: dns.resolver.Resolver) -> None:
    good = audit("good.example", resolver=resolver, ip="192.0.2.25", selector="s2048")
    assert all(r.met for r in good.requirements)
    lentrance = audit("lentrance.com", resolver=resolver, ip="192.0.2.25", selector="s2048")
    met = {r.id: r.met for r in lentrance.requirements}
    assert met == {
        "gmail_all": True,
        "bulk_gmail_yahoo": False,  # no DMARC
        "docomo": False,
        "au": False,
        "softbank": False,
        "enforced_dmarc": False,
    }
    unknown = audit("lentrance.com", resolver=resolver)
    assert {r.id: r.met for r in unknown.requirements}["gmail_all"] is None  # no --ip


def test_dkim_key_size_is_read(resolver: dns.resolver.Resolver) -> None:
    result = audit("lentrance.com", resolver=resolver, selector="s2048")
    assert result.records["dkim"]["bits"] == 2048
    weak = audit("weakkey.example", resolver=resolver, selector="old1024", lang="en")
    assert weak.records["dkim"]["bits"] == 1024
    assert "is 1024 bits; 2048 or more is recommended" in weak.findings[0].message


def test_count_spf_lookups_pure() -> None:
    zone = {
        "a.example": ["v=spf1 include:b.example mx a:c.example redirect=d.example"],
        "b.example": ["v=spf1 include:e.example -all"],
        "d.example": ["v=spf1 exists:%{i}.x.example -all"],
        "e.example": ["v=spf1 ip4:192.0.2.1 -all"],
    }
    assert count_spf_lookups("a.example", lambda n: zone.get(n, [])) == 6


def test_parse_tags() -> None:
    assert parse_tags("v=DMARC1; p=none; rua=mailto:a@b.example ;") == {
        "v": "DMARC1", "p": "none", "rua": "mailto:a@b.example",
    }  # fmt: skip


def test_unanswered_forward_lookup_of_the_ptr_name_is_unknown_not_a_mismatch() -> None:
    # 198.51.100.8's PTR names unrelated-host.example, whose A lookup here times out:
    # whether the name resolves back is unknown, so no ptr_mismatch is claimed.
    with DNSTestServer.from_files(
        ZONES_DIR / "sender.zone", timeout_names=["unrelated-host.example."]
    ) as server:
        slow = make_resolver([server.nameserver], timeout=0.5)
        result = audit("lentrance.com", resolver=slow, ip="198.51.100.8", lang="en")
    codes = [f.code for f in result.findings]
    assert "ptr_mismatch" not in codes
    assert "sender_dns_unavailable" in codes
    assert result.checks["ptr"] is None
    assert result.records["ptr"] == ["unrelated-host.example"]
    assert result.records["ptr_confirmed"] is None


def test_unanswered_include_leaves_the_spf_lookup_count_unknown() -> None:
    # The include's own record could hold ten more lookups: 1 is only a lower bound.
    zone = """$ORIGIN nested.example.
@    IN TXT "v=spf1 include:big.nested.example -all"
@    IN MX 10 mx.nested.example.
mx   IN A 192.0.2.30
"""
    with DNSTestServer(zone, timeout_names=["big.nested.example."]) as server:
        slow = make_resolver([server.nameserver], timeout=0.5)
        result = audit("nested.example", resolver=slow, lang="en")
    assert result.records["spf"] == ["v=spf1 include:big.nested.example -all"]
    assert result.records["spf_lookups"] is None
    assert "sender_dns_unavailable" in [f.code for f in result.findings]
