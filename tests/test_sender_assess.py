"""``assess`` is pure: facts in, findings and requirements out (no DNS needed)."""

from __future__ import annotations

import base64

import pytest

from maildoctor.sender.audit_facts import _dkim_key
from maildoctor.sender.domain_audit import SenderFacts, assess

_ED25519 = "v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(range(32))).decode()


def _facts(**kw: object) -> SenderFacts:
    """A domain that meets every rule, changed by ``kw``."""
    base: dict[str, object] = {
        "domain": "good.example",
        "ip": "192.0.2.25",
        "mail_from_domain": "good.example",
        "mx": ("mx.good.example",),
        "spf_records": ("v=spf1 ip4:192.0.2.25 -all",),
        "spf_lookups": 0,
        "spf_eval": None,
        "dkim": None,
        "dmarc_records": ("v=DMARC1; p=reject; rua=mailto:d@good.example",),
        "dmarc_name": "_dmarc.good.example",
        "ptr_names": ("mail.good.example",),
        "ptr_confirmed": ("mail.good.example",),
    }
    base.update(kw)
    return SenderFacts(**base)  # type: ignore[arg-type]


def test_ed25519_key_is_strong_and_meets_every_requirement() -> None:
    key = _dkim_key("ed._domainkey.good.example", [_ED25519])
    assert key.bits == 256 and key.algorithm == "ed25519" and key.error == ""
    result = assess(_facts(dkim=key), "en")
    assert result.checks["dkim"] is True
    assert [f.code for f in result.findings] == ["dkim_ed25519_only"]
    assert result.findings[0].severity == "info"
    assert "RSA" in result.findings[0].message
    assert {q.id: q.met for q in result.requirements} == {
        "gmail_all": True,
        "bulk_gmail_yahoo": True,
        "docomo": True,
        "au": True,
        "softbank": True,
        "enforced_dmarc": True,
    }


def test_ed25519_key_of_wrong_length_is_invalid() -> None:
    record = "v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(31)).decode()
    result = assess(_facts(dkim=_dkim_key("ed._domainkey.good.example", [record])), "en")
    assert result.checks["dkim"] is False
    assert [f.code for f in result.findings] == ["dkim_key_invalid"]


@pytest.mark.parametrize(
    ("ip", "fix"),
    [
        pytest.param("192.0.2.25", "v=spf1 ip4:192.0.2.25 -all", id="ipv4"),
        pytest.param("2001:db8::1", "v=spf1 ip6:2001:db8::1 -all", id="ipv6"),
        pytest.param(None, "v=spf1 ip4:<sending IP> -all", id="no-ip"),
    ],
)
def test_spf_fix_uses_the_mechanism_of_the_address_family(ip: str | None, fix: str) -> None:
    result = assess(_facts(ip=ip, spf_records=(), spf_eval=None), "en")
    spf = next(f for f in result.findings if f.code == "spf_missing")
    assert f'"{fix}"' in spf.message


def test_missing_spf_for_ipv6_sender_advises_ip6() -> None:
    result = assess(_facts(ip="2001:db8::1", spf_records=()), "en")
    spf = next(f for f in result.findings if f.code == "spf_missing")
    assert "v=spf1 ip6:2001:db8::1 -all" in spf.message
    assert "ip4:2001" not in spf.message


def test_cli_shows_the_lookup_limit_the_audit_applies() -> None:
    """The text report's "n/10" is the limit ``assess`` checks against, not a copy of it."""
    from maildoctor.cli.sender import format_text
    from maildoctor.sender.domain_audit import SPF_LOOKUP_LIMIT

    assert SPF_LOOKUP_LIMIT == 10  # RFC 7208 4.6.4
    over = assess(_facts(spf_lookups=SPF_LOOKUP_LIMIT + 2), "en")
    assert "spf_too_many_lookups" in [f.code for f in over.findings]
    at = assess(_facts(spf_lookups=SPF_LOOKUP_LIMIT), "en")
    assert "spf_too_many_lookups" not in [f.code for f in at.findings]
    text = format_text(over, "en", selector=None)
    assert f"[DNS lookups {SPF_LOOKUP_LIMIT + 2}/{SPF_LOOKUP_LIMIT}]" in text
