"""Sending-domain audit: the causes of non-delivery that no customer setting can fix.

``gather`` (in ``audit_facts``) asks DNS for what a receiver would look at.
``assess`` is pure: it turns those facts into findings (codes and messages in
``data/findings.toml``, each naming the DNS record to change and how) and into
the requirement checklist of Gmail/Yahoo and the Japanese carriers' spoofing
filters (``data/sender_rules.toml``).

A lookup that times out or fails is *unknown*, reported as ``dns_unavailable``,
never as a missing record; a resolver that fails the canary check makes every
record unknown (``sender_dns_untrusted``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import dns.resolver

from maildoctor.findings import Finding, Lang, Severity, make_finding
from maildoctor.sender.audit_facts import (
    SPF_LOOKUP_LIMIT,
    SPF_VOID_LIMIT,
    DkimKey,
    IpFacts,
    SenderFacts,
    count_spf_lookups,
    gather,
)
from maildoctor.sender.dmarc_check import parse_tags
from maildoctor.sender.domains import aligned
from maildoctor.sender.https_fetch import HttpsOptions
from maildoctor.sender.policies import (
    POLICY_NAMES,
    PolicyCheck,
    check_bimi,
    check_dane,
    check_dmarc_reports,
    check_mta_sts,
    check_tls_rpt,
    unknown_policies,
)
from maildoctor.sender.policy_parse import parse_tag_list
from maildoctor.sender.receivers import ReceiverRow, receiver_rows
from maildoctor.words import words

__all__ = [
    "SPF_LOOKUP_LIMIT",
    "DkimKey",
    "HttpsOptions",
    "PolicyCheck",
    "ReceiverRow",
    "Requirement",
    "SenderAudit",
    "SenderFacts",
    "assess",
    "audit",
    "count_spf_lookups",
    "gather",
    "gather_policies",
    "parse_tags",
    "requirement_for_carrier",
]

Check = Literal["spf", "dkim", "dmarc", "enforced", "aligned", "ptr", "bimi"]
#: How each policy is named in a sender_policy_unknown finding.
_POLICY_TITLES = {
    "mta_sts": "MTA-STS",
    "tls_rpt": "TLS-RPT",
    "bimi": "BIMI",
    "dane": "DANE (TLSA)",
    "dmarc_reports": "DMARC report addresses",
}


@dataclass(frozen=True, kw_only=True)
class Requirement:
    """One provider's rule and whether the domain meets it."""

    id: str
    title: str
    """In the report's language."""
    met: bool | None
    """``None`` when a check it needs could not be made (no --ip, no --selector, DNS)."""
    checks: tuple[str, ...] = ()
    """The checks it is made of (``SenderAudit.checks`` keys)."""


@dataclass(frozen=True, kw_only=True)
class SenderAudit:
    """The audit of one sending domain."""

    domain: str
    findings: tuple[Finding, ...]
    """Problems found, worst first; each message names the record and the fix."""
    requirements: tuple[Requirement, ...]
    """Gmail/Yahoo and carrier rules, met or not."""
    checks: Mapping[str, bool | None]
    """The checks the requirements are made of (spf, dkim, dmarc, enforced, aligned, ptr)."""
    records: Mapping[str, Any] = field(default_factory=dict)
    """The DNS records the findings rest on (``None``: unknown)."""
    untrusted: str | None = None
    """Why DNS was not trusted (the canary check failed); every record is then unknown."""
    policies: Mapping[str, PolicyCheck] = field(default_factory=dict)
    """MTA-STS, TLS-RPT, BIMI, DANE and the DMARC report addresses (``POLICY_NAMES``)."""
    receivers: tuple[ReceiverRow, ...] = ()
    """What docomo, SoftBank, au, Gmail and Yahoo will do with the domain's mail."""


# --- pure helpers -----------------------------------------------------------------


def _all_qualifier(record: str) -> str | None:
    for term in record.split()[1:]:
        m = re.fullmatch(r"([+\-~?]?)all", term, re.I)
        if m:
            return m.group(1) or "+"
    return None


def _has_redirect(record: str) -> bool:
    return any(t.lower().startswith("redirect=") for t in record.split()[1:])


# --- assessing (pure) ---------------------------------------------------------------


@cache
def _rules_file() -> dict[str, Any]:
    text = resources.files("maildoctor").joinpath("data/sender_rules.toml").read_text("utf-8")
    return tomllib.loads(text)


def _rules() -> list[dict[str, Any]]:
    return list(_rules_file()["rule"])


def _rsa_bits() -> tuple[int, int]:
    """(minimum, recommended) RSA DKIM key sizes, from ``[dkim_key]`` in sender_rules.toml."""
    limits = _rules_file()["dkim_key"]
    return int(limits["min_bits"]), int(limits["recommended_bits"])


def _spf_fix(ip: str | None, lang: Lang) -> str:
    """The SPF record to publish for ``ip``: ``ip6:`` for IPv6 (``ip4:`` would be invalid)."""
    if not ip:
        return f"v=spf1 ip4:<{words('sender_audit', lang)['ip_placeholder']}> -all"
    mechanism = "ip6" if ":" in ip else "ip4"  # only IPv6 addresses contain a colon
    return f"v=spf1 {mechanism}:{ip} -all"


def assess(
    facts: SenderFacts,
    lang: Lang = "ja",
    policies: Mapping[str, PolicyCheck] | None = None,
) -> SenderAudit:
    """Findings, the requirement checklist and the receivers' table for ``facts`` and
    ``policies`` (from :func:`gather_policies`; none checked when None). No I/O."""
    d = facts.domain
    env = facts.mail_from_domain
    found: list[Finding] = []
    checks: dict[str, bool | None] = {}

    def add(code: str, **evidence: Any) -> None:
        found.append(make_finding(code, lang, **evidence))

    if facts.exists is False:
        # Not "add the records": a domain that does not exist has none to add to.
        add("sender_domain_not_found", domain=d)
        return _nonexistent(facts, found, lang)
    if facts.untrusted is not None:
        add("sender_dns_untrusted", what=facts.untrusted)
    for what in facts.unavailable:
        add("sender_dns_unavailable", what=what)

    if facts.mx is not None and not facts.mx:
        add("sender_no_mx", domain=d)

    # SPF
    spf_ok: bool | None
    if facts.spf_records is None:
        spf_ok = None
    elif not facts.spf_records:
        add("spf_missing", domain=env, fix=_spf_fix(facts.ip, lang))
        spf_ok = False
    elif len(facts.spf_records) > 1:
        add("spf_multiple", domain=env, count=len(facts.spf_records))
        spf_ok = False
    else:
        record = facts.spf_records[0]
        spf_ok = True
        qualifier = _all_qualifier(record)
        if qualifier == "+":
            add("spf_plus_all", domain=env, record=record)
            spf_ok = False
        elif qualifier == "?":
            add("spf_neutral_all", domain=env, record=record)
        elif qualifier == "~":
            add("spf_soft_all", domain=env, record=record)
        elif qualifier is None and not _has_redirect(record):
            add("spf_no_all", domain=env, record=record)
        if facts.spf_lookups is not None and facts.spf_lookups > SPF_LOOKUP_LIMIT:
            add("spf_too_many_lookups", domain=env, lookups=facts.spf_lookups, record=record)
            spf_ok = False
        voids = facts.spf_void_lookups
        if voids is not None and voids > SPF_VOID_LIMIT:
            add("spf_too_many_void_lookups", domain=env, voids=voids, record=record)
            spf_ok = False
        ev = facts.spf_eval
        if ev is not None:
            if (
                ev.result == "permerror"
                and facts.spf_lookups is not None
                and (facts.spf_lookups <= SPF_LOOKUP_LIMIT)
            ):
                add("spf_invalid", domain=env, record=record, detail=ev.explanation)
                spf_ok = False
            elif ev.result in ("fail", "softfail", "neutral", "none"):
                add("spf_ip_not_permitted", ip=ev.ip, result=ev.result, spf_domain=env)
                spf_ok = False
            elif ev.result == "temperror":
                spf_ok = None
    for other in facts.other_ips:  # every sending IP must pass, as the first must
        ev = other.spf_eval
        if ev is None:
            continue
        if ev.result in ("fail", "softfail", "neutral", "none"):
            add("spf_ip_not_permitted", ip=ev.ip, result=ev.result, spf_domain=env)
            spf_ok = False
        elif ev.result == "temperror" and spf_ok:
            spf_ok = None
    checks["spf"] = spf_ok

    # DKIM
    key = facts.dkim
    if key is None:
        if facts.untrusted is None and not any("_domainkey" in w for w in facts.unavailable):
            add("dkim_no_selector")
        checks["dkim"] = None
    elif key.record is None:
        add("dkim_key_missing", name=key.name, domain=d)
        checks["dkim"] = False
    elif key.revoked:
        add("dkim_key_revoked", name=key.name, domain=d)
        checks["dkim"] = False
    elif key.error:
        add("dkim_key_invalid", name=key.name, domain=d, detail=key.error)
        checks["dkim"] = False
    elif key.algorithm == "ed25519":
        # 256-bit Ed25519 is stronger than 2048-bit RSA, but not every receiver
        # verifies it (RFC 8463 asks signers to add an RSA signature for now).
        add("dkim_ed25519_only", name=key.name, domain=d)
        checks["dkim"] = True
    else:
        bits = key.bits or 0
        min_bits, recommended_bits = _rsa_bits()
        if bits < recommended_bits:
            found.append(
                make_finding(
                    "dkim_key_weak",
                    lang,
                    severity=Severity.ERROR if bits < min_bits else None,
                    name=key.name,
                    bits=bits,
                    domain=d,
                )
            )
        checks["dkim"] = bits >= min_bits

    # DMARC
    policy = None
    aspf = "r"
    if facts.dmarc_records is None:
        checks["dmarc"] = None
    elif not facts.dmarc_records:
        add("dmarc_missing", domain=d, fix=f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{d}")
        checks["dmarc"] = False
    elif len(facts.dmarc_records) > 1:
        add("dmarc_multiple", domain=d, count=len(facts.dmarc_records))
        checks["dmarc"] = False
    else:
        record = facts.dmarc_records[0]
        tags = parse_tags(record)
        policy = tags.get("p", "").lower()
        aspf = tags.get("aspf", "r").lower()
        if policy not in ("none", "quarantine", "reject"):
            detail = f"p={policy}" if policy else "no p= tag"
            add("dmarc_invalid", domain=d, record=record, detail=detail)
            checks["dmarc"] = False
            policy = None
        else:
            checks["dmarc"] = True
            if policy == "none":
                add("dmarc_policy_none", domain=d, record=record)
            if "rua" not in tags:
                add("dmarc_no_rua", domain=d)
    checks["enforced"] = None if facts.dmarc_records is None else policy in ("quarantine", "reject")

    # Alignment (RFC 7489 3.1): DKIM d= is the From domain here; SPF is the envelope's.
    spf_aligned = aligned(env, d, aspf)
    if not spf_aligned:
        add("dmarc_spf_not_aligned", domain=d, mail_from_domain=env, mode=aspf)
    if checks["dkim"] or (spf_aligned and checks["spf"]):
        checks["aligned"] = True
    elif checks["dkim"] is None or checks["spf"] is None:
        checks["aligned"] = None
    else:
        checks["aligned"] = False

    # Reverse DNS
    if not facts.ip or facts.ptr_names is None:
        checks["ptr"] = None
    elif not facts.ptr_names:
        add("ptr_missing", ip=facts.ip, domain=d)
        checks["ptr"] = False
    elif facts.ptr_confirmed is None:  # a forward lookup went unanswered: unknown
        checks["ptr"] = None
    elif not facts.ptr_confirmed:
        add("ptr_mismatch", ip=facts.ip, ptr=facts.ptr_names[0], domain=d)
        checks["ptr"] = False
    else:
        checks["ptr"] = True
    for other in facts.other_ips:
        ptr_ok: bool | None
        if other.ptr_names is None or (other.ptr_names and other.ptr_confirmed is None):
            ptr_ok = None
        elif not other.ptr_names:
            add("ptr_missing", ip=other.ip, domain=d)
            ptr_ok = False
        elif not other.ptr_confirmed:
            add("ptr_mismatch", ip=other.ip, ptr=other.ptr_names[0], domain=d)
            ptr_ok = False
        else:
            ptr_ok = True
        if checks["ptr"] is not False:
            checks["ptr"] = (
                False if ptr_ok is False else (None if ptr_ok is None else checks["ptr"])
            )

    policies = dict(policies or {})
    for name, check in policies.items():
        for code, evidence in check.problems:
            add(code, **{"domain": d, **evidence})
        if check.status == "unknown" and check.asked:
            add("sender_policy_unknown", what=_POLICY_TITLES[name], why=check.why_unknown)
    bimi = policies.get("bimi")
    checks["bimi"] = None if bimi is None or bimi.status == "unknown" else bimi.status == "ok"

    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    found.sort(key=lambda f: order[f.severity])
    return SenderAudit(
        domain=d,
        findings=tuple(found),
        requirements=tuple(_requirements(checks, lang)),
        checks=checks,
        untrusted=facts.untrusted,
        policies=policies,
        receivers=receiver_rows(checks, lang),
        records={
            "mx": list(facts.mx) if facts.mx is not None else None,
            "spf": list(facts.spf_records) if facts.spf_records is not None else None,
            "spf_domain": env,
            "spf_lookups": facts.spf_lookups,
            "spf_void_lookups": facts.spf_void_lookups,
            "spf_result": facts.spf_eval.result if facts.spf_eval else None,
            "dkim": ({"name": key.name, "record": key.record, "bits": key.bits} if key else None),
            "dmarc": list(facts.dmarc_records) if facts.dmarc_records is not None else None,
            "dmarc_name": facts.dmarc_name,
            "ip": facts.ip,
            "ptr": list(facts.ptr_names) if facts.ptr_names is not None else None,
            "ptr_confirmed": (
                list(facts.ptr_confirmed) if facts.ptr_confirmed is not None else None
            ),
            "sending_ips": _sending_ips(facts),
        },
    )


def _nonexistent(facts: SenderFacts, found: list[Finding], lang: Lang) -> SenderAudit:
    """The audit of a domain DNS says does not exist: that one finding, every check failed."""
    checks: dict[str, bool | None] = dict.fromkeys(
        ("spf", "dkim", "dmarc", "enforced", "aligned"), False
    )
    checks["ptr"] = None
    return SenderAudit(
        domain=facts.domain,
        findings=tuple(found),
        requirements=tuple(_requirements(checks, lang)),
        checks=checks,
        records={
            "exists": False,
            "mx": [],
            "spf": [],
            "spf_domain": facts.mail_from_domain,
            "spf_lookups": None,
            "spf_result": None,
            "dkim": None,
            "dmarc": [],
            "dmarc_name": facts.dmarc_name,
            "ip": facts.ip,
            "ptr": None,
            "ptr_confirmed": None,
        },
    )


def _sending_ips(facts: SenderFacts) -> list[dict[str, Any]]:
    """Each sending IP's reverse DNS (forward-confirmed or not) and SPF result."""
    rows = []
    if facts.ip:
        first = IpFacts(
            ip=facts.ip,
            ptr_names=facts.ptr_names,
            ptr_confirmed=facts.ptr_confirmed,
            spf_eval=facts.spf_eval,
        )
        rows.append(first)
    rows += facts.other_ips

    def listed(value: tuple[str, ...] | None) -> list[str] | None:
        return list(value) if value is not None else None

    return [
        {
            "ip": row.ip,
            "ptr": listed(row.ptr_names),
            "ptr_confirmed": listed(row.ptr_confirmed),
            "fcrdns": (
                None
                if row.ptr_names is None or (row.ptr_names and row.ptr_confirmed is None)
                else bool(row.ptr_confirmed)
            ),
            "spf": row.spf_eval.result if row.spf_eval else None,
        }
        for row in rows
    ]


def _requirements(checks: Mapping[str, bool | None], lang: Lang) -> list[Requirement]:
    out = []
    for rule in _rules():
        all_of = [checks.get(c) for c in rule.get("all_of", [])]
        any_of = [checks.get(c) for c in rule.get("any_of", [])]
        met: bool | None
        if False in all_of or (any_of and all(v is False for v in any_of)):
            met = False
        elif None in all_of or (any_of and True not in any_of):
            met = None
        else:
            met = True
        names = (*rule.get("all_of", []), *rule.get("any_of", []))
        out.append(Requirement(id=rule["id"], title=rule[f"title_{lang}"], met=met, checks=names))
    return out


def audit(
    domain: str,
    *,
    resolver: dns.resolver.Resolver,
    ip: str | None = None,
    selector: str | None = None,
    mail_from_domain: str | None = None,
    lang: Lang = "ja",
    untrusted: str | None = None,
    https: HttpsOptions | None = None,
    other_ips: Sequence[str] = (),
) -> SenderAudit:
    """``gather``, ``gather_policies``, then ``assess``: the whole audit of one sending domain.

    ``untrusted``: what the resolver's canary check found wrong (see
    ``maildoctor.sender.trust``); every record is then unknown, none is asked.
    ``https``: how to reach the MTA-STS and BIMI files (default: port 443, system CAs).
    """
    facts = gather(
        domain,
        resolver=resolver,
        ip=ip,
        selector=selector,
        mail_from_domain=mail_from_domain,
        untrusted=untrusted,
        other_ips=other_ips,
    )
    policies = gather_policies(facts, resolver=resolver, https=https or HttpsOptions())
    return assess(facts, lang, policies)


def gather_policies(
    facts: SenderFacts, *, resolver: dns.resolver.Resolver, https: HttpsOptions
) -> dict[str, PolicyCheck]:
    """MTA-STS, TLS-RPT, BIMI, DANE and the DMARC report addresses for ``facts.domain``
    (every one unknown, nothing asked, when the resolver is not trusted)."""
    if facts.untrusted is not None:
        return unknown_policies(facts.untrusted)
    d = facts.domain
    record = (
        facts.dmarc_records[0] if facts.dmarc_records and len(facts.dmarc_records) == 1 else None
    )
    dmarc_tags = None if facts.dmarc_records is None else parse_tag_list(record or "")
    policy_domain = facts.dmarc_name.removeprefix("_dmarc.")
    reports = (
        PolicyCheck(status="unknown", why_unknown="DMARC unknown", asked=False)
        if facts.dmarc_records is None
        else check_dmarc_reports(policy_domain, record, resolver=resolver)
    )
    found = {
        "mta_sts": check_mta_sts(d, facts.mx, resolver=resolver, https=https),
        "tls_rpt": check_tls_rpt(d, resolver=resolver),
        "bimi": check_bimi(d, dmarc_tags, resolver=resolver, https=https),
        "dane": check_dane(facts.mx, resolver=resolver),
        "dmarc_reports": reports,
    }
    return {name: found[name] for name in POLICY_NAMES}


def requirement_for_carrier(audit: SenderAudit, carrier_id: str) -> Requirement | None:
    """The requirement of ``carrier_id``'s spoofing filter (``carriers`` in
    sender_rules.toml), as ``audit`` found it; None when the data names no rule for it."""
    ids = {rule["id"] for rule in _rules() if carrier_id in rule.get("carriers", ())}
    return next((r for r in audit.requirements if r.id in ids), None)
