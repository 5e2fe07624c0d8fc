"""DMARC (RFC 7489): the header From domain's policy and whether SPF or DKIM aligns with it.

A DMARC record lookup DNS did not answer is ``temperror`` (RFC 7489 6.6.3), never
``none`` (which would mean "no record").
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Literal

import dns.resolver

from maildoctor.sender.dkim_check import DkimResult
from maildoctor.sender.domains import aligned, org_domain
from maildoctor.sender.resolver import DnsUnavailable, txt_strings
from maildoctor.sender.spf_check import SpfResult

__all__ = ["DmarcOutcome", "DmarcResult", "check_dmarc", "header_from_domain", "parse_tags"]

DmarcOutcome = Literal["pass", "fail", "none", "temperror", "permerror"]


def parse_tags(record: str) -> dict[str, str]:
    """``"v=DMARC1; p=none"`` -> ``{"v": "DMARC1", "p": "none"}`` (RFC 6376 3.2 tag lists)."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags.setdefault(name.strip().lower(), re.sub(r"\s+", "", value))
    return tags


@dataclass(frozen=True, kw_only=True)
class DmarcResult:
    """The outcome of DMARC for one message's header From domain."""

    result: DmarcOutcome
    """``pass`` (an aligned DKIM or SPF pass), ``fail``, ``none`` (no record),
    ``temperror`` (DNS did not answer), ``permerror`` (unusable record)."""
    domain: str
    """The header From domain."""
    policy: str
    """The record's ``p=`` (``none``, ``quarantine``, ``reject``), ``""`` without a record."""
    reason: str
    """Why, in a few words."""


def check_dmarc(
    from_domain: str,
    *,
    dkim: DkimResult | None,
    spf: SpfResult | None,
    resolver: dns.resolver.Resolver,
) -> DmarcResult:
    """RFC 7489 evaluation for ``from_domain`` given the DKIM and SPF results."""
    domain = from_domain.lower().rstrip(".")
    if not domain:
        return DmarcResult(result="none", domain="", policy="", reason="no From domain")
    records: list[str] = []
    try:
        for name in dict.fromkeys((domain, org_domain(domain))):
            records = [
                r
                for r in txt_strings(resolver, f"_dmarc.{name}")
                if r.lower().startswith("v=dmarc1")
            ]
            if records:
                break
    except DnsUnavailable as e:
        return DmarcResult(result="temperror", domain=domain, policy="", reason=str(e))
    if not records:
        return DmarcResult(result="none", domain=domain, policy="", reason="no DMARC record")
    if len(records) > 1:
        return DmarcResult(
            result="permerror", domain=domain, policy="", reason="more than one DMARC record"
        )
    tags = parse_tags(records[0])
    policy = tags.get("p", "").lower()
    if policy not in ("none", "quarantine", "reject"):
        return DmarcResult(
            result="permerror", domain=domain, policy="", reason=f"invalid policy p={policy}"
        )
    if (
        dkim is not None
        and dkim.result == "pass"
        and aligned(dkim.domain, domain, tags.get("adkim", "r"))
    ):
        return DmarcResult(result="pass", domain=domain, policy=policy, reason="aligned DKIM pass")
    if (
        spf is not None
        and spf.result == "pass"
        and aligned(spf.domain, domain, tags.get("aspf", "r"))
    ):
        return DmarcResult(result="pass", domain=domain, policy=policy, reason="aligned SPF pass")
    unchecked = [r for r in (dkim, spf) if r is not None and r.result == "temperror"]
    if unchecked:
        # RFC 7489 6.6.2: a DKIM or SPF result DNS could not give may have been the
        # aligned pass, so DMARC cannot fail the message: unknown.
        return DmarcResult(
            result="temperror",
            domain=domain,
            policy=policy,
            reason="no aligned pass, and DKIM or SPF could not be checked",
        )
    return DmarcResult(
        result="fail", domain=domain, policy=policy, reason="no aligned DKIM or SPF pass"
    )


def header_from_domain(raw: bytes) -> str:
    """The domain of the (first) From header address of ``raw``, ``""`` if none."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    try:
        message = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
        addresses = getaddresses([str(v) for v in message.get_all("From", [])])
    except Exception:  # a header the parser cannot read: no From domain
        return ""
    return next((a.rpartition("@")[2].lower() for _, a in addresses if "@" in a), "")
