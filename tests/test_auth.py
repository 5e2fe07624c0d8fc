"""DKIM signing/verification, SPF evaluation and Authentication-Results, against a real
DNS server on loopback serving tests/data/zones/sender.zone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dns.resolver
import pytest

from maildoctor.sender.auth import (
    authenticate,
    authentication_results,
    check_spf,
    dkim_sign,
    header_from_domain,
    make_resolver,
    txt_lookup,
    verify_dkim,
)
from tests.dnsserver import ZONES_DIR, DNSTestServer

DKIM_DIR = Path(__file__).parent / "data" / "dkim"
KEY_2048 = (DKIM_DIR / "test-only-2048.private.pem").read_bytes()

MESSAGE = (
    b"From: Lentrance <no-reply@lentrance.com>\r\n"
    b"To: taro@example.jp\r\n"
    b"Subject: =?UTF-8?B?W0xlbnRyYW5jZV3ku67nmbvpjLLlrozkuobjga7jgYrnn6XjgonjgZs=?=\r\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0900\r\n"
    b"Message-ID: <reg-1@lentrance.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=UTF-8\r\n"
    b"\r\n"
    b"https://lentrance.com/register?token=abc\r\n"
)


@pytest.fixture(scope="module")
def sender_dns() -> Iterator[DNSTestServer]:
    with DNSTestServer.from_files(
        ZONES_DIR / "sender.zone", timeout_names=["slow.example."]
    ) as server:
        yield server


@pytest.fixture(scope="module")
def resolver(sender_dns: DNSTestServer) -> dns.resolver.Resolver:
    return make_resolver([sender_dns.nameserver], timeout=0.5)


def _sign(selector: str = "s2048", domain: str = "lentrance.com", raw: bytes = MESSAGE) -> bytes:
    return dkim_sign(raw, selector=selector, domain=domain, key_pem=KEY_2048)


def test_signed_message_verifies_pass(resolver: dns.resolver.Resolver) -> None:
    signed = _sign()
    assert signed.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;")
    assert signed.endswith(MESSAGE)
    result = verify_dkim(signed, txt_lookup(resolver))
    assert (result.result, result.domain, result.selector) == ("pass", "lentrance.com", "s2048")


@pytest.mark.parametrize(
    ("tamper", "reason_part"),
    [
        (lambda m: m.replace(b"token=abc", b"token=evil"), "body hash mismatch"),
        (lambda m: m.replace(b"To: taro@example.jp", b"To: jiro@example.jp"), "did not verify"),
        (lambda m: m.replace(b"Lentrance <", b"Lentrance Support <"), "did not verify"),
    ],
    ids=["body", "to-header", "from-header"],
)
def test_tampered_message_verifies_fail(
    resolver: dns.resolver.Resolver, tamper: object, reason_part: str
) -> None:
    tampered = tamper(_sign())  # type: ignore[operator]
    result = verify_dkim(tampered, txt_lookup(resolver))
    assert result.result == "fail"
    assert reason_part in result.reason


def test_lf_message_is_signed_with_lf_and_verifies(resolver: dns.resolver.Resolver) -> None:
    signed = _sign(raw=MESSAGE.replace(b"\r\n", b"\n"))
    assert b"\r\n" not in signed
    assert verify_dkim(signed, txt_lookup(resolver)).result == "pass"


@pytest.mark.parametrize(
    ("selector", "domain", "result", "reason_part"),
    [
        ("nokey", "lentrance.com", "permerror", "no key at nokey._domainkey.lentrance.com"),
        ("revoked", "lentrance.com", "permerror", "revoked"),
        ("old1024", "lentrance.com", "fail", "did not verify"),  # signed with another key
        ("s1", "slow.example", "temperror", "key lookup failed"),
    ],
    ids=["missing-key", "revoked-key", "wrong-key", "dns-timeout"],
)
def test_key_problems(
    resolver: dns.resolver.Resolver, selector: str, domain: str, result: str, reason_part: str
) -> None:
    outcome = verify_dkim(_sign(selector, domain), txt_lookup(resolver))
    assert outcome.result == result
    assert reason_part in outcome.reason


def test_unsigned_message_is_none(resolver: dns.resolver.Resolver) -> None:
    assert verify_dkim(MESSAGE, txt_lookup(resolver)).result == "none"


def test_signing_needs_a_from_header() -> None:
    with pytest.raises(ValueError, match="no From header"):
        dkim_sign(
            b"To: a@example.jp\r\n\r\nhi\r\n", selector="s", domain="d.example", key_pem=KEY_2048
        )


def test_signing_with_a_bad_key_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="DKIM signing failed"):
        dkim_sign(MESSAGE, selector="s", domain="lentrance.com", key_pem=b"not a key")


@pytest.mark.parametrize(
    ("ip", "mail_from", "result"),
    [
        ("192.0.2.25", "no-reply@lentrance.com", "pass"),
        ("198.51.100.7", "no-reply@lentrance.com", "softfail"),
        ("198.51.100.7", "a@good.example", "fail"),
        ("198.51.100.7", "a@neutral.example", "neutral"),
        ("198.51.100.7", "a@plusall.example", "pass"),
        ("198.51.100.7", "a@nospf.example", "none"),
        ("198.51.100.7", "a@twospf.example", "permerror"),
        ("198.51.100.7", "a@slow.example", "temperror"),
        ("2001:db8::25", "no-reply@lentrance.com", "softfail"),
        ("192.0.2.25", "", "pass"),  # a bounce: checked as postmaster@HELO
    ],
    ids=["pass", "softfail", "fail", "neutral", "plus-all", "none", "two-records", "timeout",
         "ipv6", "null-sender"],
)  # fmt: skip
def test_check_spf(sender_dns: DNSTestServer, ip: str, mail_from: str, result: str) -> None:
    outcome = check_spf(ip, mail_from, "lentrance.com", [sender_dns.nameserver], timeout=0.5)
    assert outcome.result == result
    assert outcome.ip == ip


def test_check_spf_over_ten_lookups_is_permerror(resolver: dns.resolver.Resolver) -> None:
    """The 11th include is the one that matches: RFC 7208 4.6.4 stops the evaluation."""
    outcome = check_spf("198.51.100.11", "a@toomany.example", "x.example", resolver=resolver)
    assert (outcome.result, outcome.lookups) == ("permerror", 11)
    assert "Too many DNS lookups" in outcome.explanation
    within = check_spf("198.51.100.3", "a@toomany.example", "x.example", resolver=resolver)
    assert (within.result, within.lookups) == ("pass", 3)


def test_authentication_results_header(resolver: dns.resolver.Resolver) -> None:
    signed = _sign()
    results = authenticate(
        signed,
        ip="192.0.2.25",
        mail_from="bounce@lentrance.com",
        helo="mail.lentrance.com",
        resolver=resolver,
        authserv_id="harness.maildoctor.test",
    )
    b = results.dkim.signature_b
    assert results.header == (
        "harness.maildoctor.test; "
        f"dkim=pass header.d=lentrance.com header.s=s2048 header.b={b}; "
        "spf=pass smtp.mailfrom=bounce@lentrance.com smtp.helo=mail.lentrance.com; "
        "dmarc=none header.from=lentrance.com"  # lentrance.com publishes no DMARC record
    )


GOOD = MESSAGE.replace(b"no-reply@lentrance.com", b"no-reply@good.example")


@pytest.mark.parametrize(
    ("raw", "ip", "mail_from", "dmarc", "reason"),
    [
        (_sign(domain="good.example", raw=GOOD), "198.51.100.7", "x@lentrance.com", "pass",
         "aligned DKIM pass"),
        (GOOD, "192.0.2.25", "bounce@good.example", "pass", "aligned SPF pass"),
        (GOOD, "192.0.2.25", "bounce@lentrance.com", "fail", "no aligned DKIM or SPF pass"),
        (_sign(raw=GOOD), "192.0.2.25", "bounce@lentrance.com", "fail",
         "no aligned DKIM or SPF pass"),  # signed by lentrance.com, From good.example
        (MESSAGE.replace(b"lentrance.com>", b"nospf.example>"), "192.0.2.25", "a@nospf.example",
         "permerror", "invalid policy p=maybe"),
        (MESSAGE.replace(b"lentrance.com>", b"slow.example>"), "192.0.2.25", "a@slow.example",
         "temperror", "_dmarc.slow.example"),
    ],
    ids=["dkim-aligned", "spf-aligned", "spoofed", "dkim-not-aligned", "bad-record", "timeout"],
)  # fmt: skip
def test_dmarc(
    resolver: dns.resolver.Resolver, raw: bytes, ip: str, mail_from: str, dmarc: str, reason: str
) -> None:
    results = authenticate(raw, ip=ip, mail_from=mail_from, helo="h.example", resolver=resolver)
    assert results.dmarc.result == dmarc
    assert reason in results.dmarc.reason
    if dmarc in ("pass", "fail"):
        assert f"; dmarc={dmarc} (p=reject) header.from=good.example" in results.header


def test_header_from_domain() -> None:
    assert header_from_domain(MESSAGE) == "lentrance.com"
    assert header_from_domain(b"To: a@b.example\r\n\r\nx") == ""


def test_authentication_results_failures_and_none(resolver: dns.resolver.Resolver) -> None:
    tampered = _sign().replace(b"token=abc", b"token=xyz")
    dkim_result = verify_dkim(tampered, txt_lookup(resolver))
    spf_result = check_spf(
        "198.51.100.7", "no-reply@lentrance.com", "evil.example", resolver=resolver
    )
    header = authentication_results("mx.test", dkim=dkim_result, spf=spf_result)
    assert header.startswith(
        "mx.test; dkim=fail (body hash mismatch [the body changed after signing])"
    )
    assert "; spf=softfail smtp.mailfrom=no-reply@lentrance.com smtp.helo=evil.example" in header
    assert authentication_results("mx.test") == "mx.test; none"
