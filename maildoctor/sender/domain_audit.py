"""Sending-domain audit: the causes of non-delivery that no customer setting can fix.

``gather`` asks DNS (through the resolver it is given) for what a receiver would
look at: MX, SPF (and pyspf's verdict for a sending IP), the DKIM selector's key,
DMARC, and the sending IP's reverse DNS. ``assess`` is pure: it turns those facts
into findings (codes and messages in ``data/findings.toml``, each naming the DNS
record to change and how) and into the requirement checklist of Gmail/Yahoo and
the Japanese carriers' spoofing filters (``data/sender_rules.toml``).

A lookup that times out or fails is *unknown*, reported as ``dns_unavailable``,
never as a missing record.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from importlib import resources
from typing import Any, Literal

import dns.resolver
import dns.reversename

from maildoctor.findings import Finding, Lang, Severity, make_finding
from maildoctor.sender.auth import (
    DnsUnavailable,
    SpfResult,
    aligned,
    check_spf,
    org_domain,
    parse_tags,
    resolve_records,
    txt_strings,
)

__all__ = [
    "SPF_LOOKUP_LIMIT",
    "DkimKey",
    "Requirement",
    "SenderAudit",
    "SenderFacts",
    "assess",
    "audit",
    "count_spf_lookups",
    "gather",
    "parse_tags",
]

Check = Literal["spf", "dkim", "dmarc", "enforced", "aligned", "ptr"]

#: RFC 7208 4.6.4: terms that cost a DNS lookup
_LOOKUP_TERMS = re.compile(r"^[+\-~?]?(include|a|mx|ptr|exists)(?:[:/]|$)|^redirect=", re.I)
#: RFC 7208 4.6.4: more DNS-querying terms than this is a permerror
SPF_LOOKUP_LIMIT = 10


# --- facts (what DNS said) --------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DkimKey:
    """The DKIM key record at ``selector._domainkey.domain``."""

    name: str
    """The record's DNS name."""
    record: str | None
    """The TXT record, ``None`` when there is none."""
    bits: int | None
    """Key size in bits when the key could be read."""
    error: str
    """Why the key could not be read (``""`` when it could)."""
    revoked: bool
    """``p=`` is empty (RFC 6376 3.6.1)."""
    algorithm: str = "rsa"
    """The ``k=`` key type, lower-cased: ``rsa`` or ``ed25519`` (RFC 8463)."""


@dataclass(frozen=True, kw_only=True)
class SenderFacts:
    """What DNS says about a sending domain (``None`` = not asked, or not answered)."""

    domain: str
    """The From domain audited."""
    ip: str | None
    """The sending IP checked, if any."""
    mail_from_domain: str
    """The envelope sender's domain (the From domain unless given)."""
    mx: tuple[str, ...] | None
    """MX hosts in preference order."""
    spf_records: tuple[str, ...] | None
    """The ``v=spf1`` TXT records of the envelope sender's domain."""
    spf_lookups: int | None
    """DNS lookups the SPF record needs, counted through includes and redirects."""
    spf_eval: SpfResult | None
    """pyspf's verdict for ``ip`` (when an IP was given)."""
    dkim: DkimKey | None
    """The selector's key (when a selector was given)."""
    dmarc_records: tuple[str, ...] | None
    """The ``v=DMARC1`` records found for the domain (or its organizational domain)."""
    dmarc_name: str
    """Where the DMARC record was looked up last."""
    ptr_names: tuple[str, ...] | None
    """PTR names of ``ip``."""
    ptr_confirmed: tuple[str, ...] | None
    """Those PTR names whose A/AAAA records include ``ip``."""
    unavailable: tuple[str, ...] = ()
    """Lookups that DNS did not answer (``name TYPE: reason``)."""


@dataclass(frozen=True, kw_only=True)
class Requirement:
    """One provider's rule and whether the domain meets it."""

    id: str
    title: str
    """In the report's language."""
    met: bool | None
    """``None`` when a check it needs could not be made (no --ip, no --selector, DNS)."""


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
    """The DNS records the findings rest on."""


# --- pure helpers -----------------------------------------------------------------


def _all_qualifier(record: str) -> str | None:
    for term in record.split()[1:]:
        m = re.fullmatch(r"([+\-~?]?)all", term, re.I)
        if m:
            return m.group(1) or "+"
    return None


def _has_redirect(record: str) -> bool:
    return any(t.lower().startswith("redirect=") for t in record.split()[1:])


def count_spf_lookups(domain: str, fetch: Callable[[str], Sequence[str]], _depth: int = 0) -> int:
    """DNS lookups ``domain``'s SPF costs (RFC 7208 4.6.4), following include/redirect.

    ``fetch(name)`` returns the TXT strings at name. Stops counting past 30.
    """
    records = [r for r in fetch(domain) if r.lower().startswith("v=spf1")]
    if len(records) != 1 or _depth > 10:
        return 0
    total = 0
    for term in records[0].split()[1:]:
        if not _LOOKUP_TERMS.match(term):
            continue
        total += 1
        lower = term.lower().lstrip("+-~?")
        target = ""
        if lower.startswith("include:"):
            target = term.split(":", 1)[1]
        elif lower.startswith("redirect="):
            target = term.split("=", 1)[1]
        if target and "%" not in target and total <= 30:
            total += count_spf_lookups(target, fetch, _depth + 1)
    return total


def _dkim_key(name: str, records: Sequence[str]) -> DkimKey:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    if not records:
        return DkimKey(name=name, record=None, bits=None, error="", revoked=False)
    record = records[0]
    tags = parse_tags(record)
    if "p" not in tags:
        return DkimKey(name=name, record=record, bits=None, error="no p= tag", revoked=False)
    if tags["p"] == "":
        return DkimKey(name=name, record=record, bits=None, error="", revoked=True)
    kind = tags.get("k", "rsa").lower()
    try:
        der = base64.b64decode(tags["p"], validate=True)
        if kind == "ed25519":
            bits = 256 if len(der) == 32 else None
            if bits is None:
                raise ValueError("an ed25519 key is 32 bytes")
            return DkimKey(
                name=name, record=record, bits=bits, error="", revoked=False, algorithm=kind
            )
        key = load_der_public_key(der)
    except (ValueError, TypeError) as e:
        return DkimKey(name=name, record=record, bits=None, error=str(e)[:80], revoked=False)
    if not isinstance(key, rsa.RSAPublicKey):
        return DkimKey(name=name, record=record, bits=None, error="not an RSA key", revoked=False)
    return DkimKey(name=name, record=record, bits=key.key_size, error="", revoked=False)


# --- gathering (I/O) ----------------------------------------------------------------


def gather(
    domain: str,
    *,
    resolver: dns.resolver.Resolver,
    ip: str | None = None,
    selector: str | None = None,
    mail_from_domain: str | None = None,
) -> SenderFacts:
    """Ask ``resolver`` everything the audit needs about ``domain``."""
    domain = domain.lower().rstrip(".")
    envelope = (mail_from_domain or domain).lower().rstrip(".")
    unavailable: list[str] = []

    def ask(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except DnsUnavailable as e:
            unavailable.append(str(e))
            return None

    def fetch(name: str) -> list[str]:
        return ask(lambda: txt_strings(resolver, name)) or []

    mx_records = ask(lambda: resolve_records(resolver, domain, "MX"))
    mx = (
        tuple(r.exchange.to_text(True) for r in sorted(mx_records, key=lambda r: r.preference))
        if mx_records is not None
        else None
    )
    spf_txt = ask(lambda: txt_strings(resolver, envelope))
    spf_records = (
        tuple(r for r in spf_txt if r.lower().startswith("v=spf1")) if spf_txt is not None else None
    )
    lookups = count_spf_lookups(envelope, fetch) if spf_records and len(spf_records) == 1 else None
    spf_eval = (
        check_spf(ip, f"postmaster@{envelope}", envelope, resolver=resolver)
        if ip and spf_records
        else None
    )

    dkim = None
    if selector:
        name = f"{selector}._domainkey.{domain}"
        key_txt = ask(lambda: txt_strings(resolver, name))
        dkim = _dkim_key(name, key_txt) if key_txt is not None else None

    dmarc_name = f"_dmarc.{domain}"
    dmarc_txt = ask(lambda: txt_strings(resolver, dmarc_name))
    dmarc = (
        tuple(r for r in dmarc_txt if r.lower().startswith("v=dmarc1"))
        if dmarc_txt is not None
        else None
    )
    org = org_domain(domain)
    if dmarc == () and org != domain:  # RFC 7489 6.6.3: fall back to the organizational domain
        dmarc_name = f"_dmarc.{org}"
        org_txt = ask(lambda: txt_strings(resolver, dmarc_name))
        dmarc = (
            tuple(r for r in org_txt if r.lower().startswith("v=dmarc1"))
            if org_txt is not None
            else None
        )

    ptr_names = ptr_confirmed = None
    if ip:
        reverse = dns.reversename.from_address(ip).to_text()
        answers = ask(lambda: resolve_records(resolver, reverse, "PTR"))
        if answers is not None:
            ptr_names = tuple(a.target.to_text(True) for a in answers)
            confirmed = []
            rdtype = "AAAA" if ipaddress.ip_address(ip).version == 6 else "A"
            for name in ptr_names:
                addrs = ask(partial(resolve_records, resolver, name, rdtype)) or []
                if any(ipaddress.ip_address(a.address) == ipaddress.ip_address(ip) for a in addrs):
                    confirmed.append(name)
            ptr_confirmed = tuple(confirmed)

    return SenderFacts(
        domain=domain,
        ip=ip,
        mail_from_domain=envelope,
        mx=mx,
        spf_records=spf_records,
        spf_lookups=lookups,
        spf_eval=spf_eval,
        dkim=dkim,
        dmarc_records=dmarc,
        dmarc_name=dmarc_name,
        ptr_names=ptr_names,
        ptr_confirmed=ptr_confirmed,
        unavailable=tuple(unavailable),
    )


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


def _spf_fix(ip: str | None) -> str:
    """The SPF record to publish for ``ip``: ``ip6:`` for IPv6 (``ip4:`` would be invalid)."""
    if not ip:
        return "v=spf1 ip4:<送信IP / sending IP> -all"
    mechanism = "ip6" if ":" in ip else "ip4"  # only IPv6 addresses contain a colon
    return f"v=spf1 {mechanism}:{ip} -all"


def assess(facts: SenderFacts, lang: Lang = "ja") -> SenderAudit:
    """Findings and the requirement checklist for ``facts`` (no I/O)."""
    d = facts.domain
    env = facts.mail_from_domain
    found: list[Finding] = []
    checks: dict[str, bool | None] = {}

    def add(code: str, **evidence: Any) -> None:
        found.append(make_finding(code, lang, **evidence))

    for what in facts.unavailable:
        add("sender_dns_unavailable", what=what)

    if facts.mx is not None and not facts.mx:
        add("sender_no_mx", domain=d)

    # SPF
    spf_ok: bool | None
    if facts.spf_records is None:
        spf_ok = None
    elif not facts.spf_records:
        add("spf_missing", domain=env, fix=_spf_fix(facts.ip))
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
    checks["spf"] = spf_ok

    # DKIM
    key = facts.dkim
    if key is None:
        if not any("_domainkey" in what for what in facts.unavailable):
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
    elif not facts.ptr_confirmed:
        add("ptr_mismatch", ip=facts.ip, ptr=facts.ptr_names[0], domain=d)
        checks["ptr"] = False
    else:
        checks["ptr"] = True

    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    found.sort(key=lambda f: order[f.severity])
    return SenderAudit(
        domain=d,
        findings=tuple(found),
        requirements=tuple(_requirements(checks, lang)),
        checks=checks,
        records={
            "mx": list(facts.mx) if facts.mx is not None else None,
            "spf": list(facts.spf_records) if facts.spf_records is not None else None,
            "spf_domain": env,
            "spf_lookups": facts.spf_lookups,
            "spf_result": facts.spf_eval.result if facts.spf_eval else None,
            "dkim": ({"name": key.name, "record": key.record, "bits": key.bits} if key else None),
            "dmarc": list(facts.dmarc_records) if facts.dmarc_records is not None else None,
            "dmarc_name": facts.dmarc_name,
            "ip": facts.ip,
            "ptr": list(facts.ptr_names) if facts.ptr_names is not None else None,
            "ptr_confirmed": (
                list(facts.ptr_confirmed) if facts.ptr_confirmed is not None else None
            ),
        },
    )


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
        out.append(Requirement(id=rule["id"], title=rule[f"title_{lang}"], met=met))
    return out


def audit(
    domain: str,
    *,
    resolver: dns.resolver.Resolver,
    ip: str | None = None,
    selector: str | None = None,
    mail_from_domain: str | None = None,
    lang: Lang = "ja",
) -> SenderAudit:
    """``gather`` then ``assess``: the whole audit of one sending domain."""
    facts = gather(
        domain, resolver=resolver, ip=ip, selector=selector, mail_from_domain=mail_from_domain
    )
    return assess(facts, lang)
