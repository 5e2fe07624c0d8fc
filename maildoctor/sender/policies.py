"""What receivers read besides SPF, DKIM and DMARC: MTA-STS with its HTTPS policy,
TLS-RPT, BIMI (logo and mark certificate), DANE's TLSA records with DNSSEC, and the
DMARC report addresses' authorisation (RFC 7489 7.1, kept by DMARCbis).

Each check gives a :class:`PolicyCheck`: a status, what was found, and the finding
codes (``data/findings.toml``) with their evidence. DNS that did not answer, and an
HTTPS host that could not be reached or verified, make the status ``unknown``; only
an answer (NXDOMAIN, a 404, a record) makes anything "not published" or "invalid".

Why not checkdmarc, which has these parsers: it fetches the MTA-STS policy and the
BIMI files with ``requests`` (a CA bundle or the test server's address cannot be
given per call) and it raises the same errors whether a record is absent or DNS
failed, which the honesty rule needs apart. The records are a few tags each:
``policy_parse`` reads them with the standard library.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import dns.exception
import dns.flags
import dns.resolver

from maildoctor.sender.domains import org_domain
from maildoctor.sender.https_fetch import (
    FetchUnknown,
    HttpsOptions,
    NoSuchHost,
    https_get,
)
from maildoctor.sender.policy_parse import (
    DMARC_DRAFT_TAGS,
    DMARC_REMOVED_TAGS,
    mx_matches,
    parse_mta_sts_policy,
    parse_tag_list,
    report_uris,
    svg_problems,
    tlsa_problems,
)
from maildoctor.sender.resolver import DnsUnavailable, txt_strings

__all__ = [
    "POLICY_NAMES",
    "PolicyCheck",
    "check_bimi",
    "check_dane",
    "check_dmarc_reports",
    "check_mta_sts",
    "check_tls_rpt",
    "unknown_policies",
]

Status = Literal["ok", "not_published", "invalid", "not_validated", "unknown"]
Problem = tuple[str, Mapping[str, Any]]
#: The policy objects of the audit, in report order.
POLICY_NAMES = ("mta_sts", "tls_rpt", "bimi", "dane", "dmarc_reports")
#: BIMI: the logo is at most 32 KB (draft-brand-indicators-for-message-identification 5.2).
SVG_LIMIT = 32768
#: id-kp-BrandIndicatorforMessageIdentification and the logotype extension (RFC 3709).
BIMI_EKU = "1.3.6.1.5.5.7.3.31"
LOGOTYPE_EXT = "1.3.6.1.5.5.7.1.12"


@dataclass(frozen=True, kw_only=True)
class PolicyCheck:
    """One record family's verdict."""

    status: Status
    found: Mapping[str, Any] = field(default_factory=dict)
    """What DNS and HTTPS gave (record, policy fields, per-host TLSA...)."""
    problems: tuple[Problem, ...] = ()
    """Finding codes and their evidence."""
    why_unknown: str = ""
    """What could not be asked or trusted, when the status is ``unknown``."""
    asked: bool = True
    """False when the status follows from another unknown (MX, DMARC, an untrusted
    resolver) already reported, so it is not reported twice."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, **self.found}
        if self.why_unknown:
            out["why_unknown"] = self.why_unknown
        return out


def unknown_policies(why: str) -> dict[str, PolicyCheck]:
    """Every policy unknown (the resolver failed the canary: nothing was asked)."""
    return {
        name: PolicyCheck(status="unknown", why_unknown=why, asked=False) for name in POLICY_NAMES
    }


def _unknown(why: str, asked: bool = True, **found: Any) -> PolicyCheck:
    return PolicyCheck(status="unknown", found=found, why_unknown=why, asked=asked)


def _records(resolver: dns.resolver.Resolver, name: str, version: str) -> list[str]:
    """TXT records at ``name`` starting with ``version`` (raises DnsUnavailable)."""
    return [r for r in txt_strings(resolver, name) if r.lower().startswith(version.lower())]


# --- MTA-STS (RFC 8461) -----------------------------------------------------------


def check_mta_sts(
    domain: str,
    mx: Sequence[str] | None,
    *,
    resolver: dns.resolver.Resolver,
    https: HttpsOptions,
) -> PolicyCheck:
    """The ``_mta-sts`` TXT record, the policy over HTTPS, and its mx lines against MX."""
    name = f"_mta-sts.{domain}"
    try:
        records = _records(resolver, name, "v=STSv1")
    except DnsUnavailable as e:
        return _unknown(str(e), name=name)
    if not records:
        return PolicyCheck(status="not_published", found={"name": name, "record": None})
    found: dict[str, Any] = {"name": name, "record": records[0]}
    if len(records) > 1:
        detail = f"{len(records)} v=STSv1 records at {name}"
        return PolicyCheck(
            status="invalid", found=found, problems=(("mta_sts_invalid", {"detail": detail}),)
        )
    tags = parse_tag_list(records[0])
    found["id"] = tags.get("id")
    if not tags.get("id", "").isalnum() or len(tags["id"]) > 32:
        detail = f"id={tags.get('id', '')!r} is not 1-32 letters and digits"
        return PolicyCheck(
            status="invalid", found=found, problems=(("mta_sts_invalid", {"detail": detail}),)
        )
    host = f"mta-sts.{domain}"
    found["policy_url"] = f"https://{host}/.well-known/mta-sts.txt"
    try:
        got = https_get(host, "/.well-known/mta-sts.txt", resolver=resolver, options=https)
    except NoSuchHost:
        why = f"{host} has no address"
        return PolicyCheck(
            status="invalid",
            found=found,
            problems=(("mta_sts_policy_missing", {"url": found["policy_url"], "detail": why}),),
        )
    except FetchUnknown as e:
        return _unknown(f"{found['policy_url']}: {e}", **found)
    if got.status != 200:
        detail = f"HTTP {got.status}"
        return PolicyCheck(
            status="invalid",
            found=found,
            problems=(("mta_sts_policy_missing", {"url": found["policy_url"], "detail": detail}),),
        )
    policy = parse_mta_sts_policy(got.body.decode("utf-8", "replace"))
    found.update(mode=policy.mode, mx=list(policy.mx), max_age=policy.max_age)
    problems = list(policy.problems)
    if got.content_type != "text/plain":
        problems.append(f"Content-Type is {got.content_type or 'missing'}, not text/plain")
    if got.truncated:
        problems.append("the policy is larger than 64 KB")
    if problems:
        return PolicyCheck(
            status="invalid",
            found=found,
            problems=(("mta_sts_invalid", {"detail": "; ".join(problems)}),),
        )
    out: list[Problem] = []
    status: Status = "ok"
    if mx is None:
        found["mx_not_matched"] = None
        status = "unknown"
    elif policy.mode in ("enforce", "testing"):
        unmatched = [h for h in mx if not mx_matches(h, policy.mx)]
        found["mx_not_matched"] = unmatched
        if unmatched:
            evidence = {"hosts": ", ".join(unmatched), "patterns": ", ".join(policy.mx)}
            out.append(("mta_sts_mx_mismatch", {**evidence, "mode": policy.mode}))
            status = "invalid" if policy.mode == "enforce" else status
    if policy.mode == "testing":
        out.append(("mta_sts_testing", {"domain": domain}))
    return PolicyCheck(
        status=status,
        found=found,
        problems=tuple(out),
        why_unknown="MX unknown" if status == "unknown" else "",
        asked=status != "unknown",
    )


# --- TLS-RPT (RFC 8460) -------------------------------------------------------------


def check_tls_rpt(domain: str, *, resolver: dns.resolver.Resolver) -> PolicyCheck:
    """The ``_smtp._tls`` record: one ``v=TLSRPTv1`` with mailto: or https: report URIs."""
    name = f"_smtp._tls.{domain}"
    try:
        records = _records(resolver, name, "v=TLSRPTv1")
    except DnsUnavailable as e:
        return _unknown(str(e), name=name)
    if not records:
        return PolicyCheck(status="not_published", found={"name": name, "record": None})
    rua = list(report_uris(parse_tag_list(records[0]).get("rua", "")))
    found = {"name": name, "record": records[0], "rua": rua}
    bad = [u for u in rua if not u.lower().startswith(("mailto:", "https://"))]
    detail = ""
    if len(records) > 1:
        detail = f"{len(records)} v=TLSRPTv1 records"
    elif not rua:
        detail = "no rua="
    elif bad:
        detail = "not mailto: or https: " + ", ".join(bad)
    if detail:
        return PolicyCheck(
            status="invalid",
            found=found,
            problems=(("tls_rpt_invalid", {"name": name, "detail": detail}),),
        )
    return PolicyCheck(status="ok", found=found)


# --- BIMI ---------------------------------------------------------------------------------


def _dmarc_enforced_for_bimi(tags: Mapping[str, str]) -> str:
    """Why the DMARC policy is not enough for BIMI (``""`` when it is): p=quarantine
    or reject for the whole domain and its subdomains, on all mail."""
    p = tags.get("p", "").lower()
    if p not in ("quarantine", "reject"):
        return f"p={p or '(none)'}"
    if tags.get("sp", p).lower() == "none":
        return "sp=none"
    if tags.get("pct", "100") != "100":
        return f"pct={tags['pct']}"
    return ""


def _mark_certificate(pem: bytes, domain: str) -> tuple[dict[str, Any], list[str]]:
    """What the ``a=`` PEM holds: subject, validity, BIMI EKU, logotype, names."""
    from cryptography import x509

    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as e:
        return {}, [f"the mark certificate cannot be read ({e})"]
    leaf = certs[0]
    problems = []
    try:
        eku = [o.dotted_string for o in leaf.extensions.get_extension_for_class(
            x509.ExtendedKeyUsage).value]  # fmt: skip
    except x509.ExtensionNotFound:
        eku = []
    logotype = any(e.oid.dotted_string == LOGOTYPE_EXT for e in leaf.extensions)
    try:
        names = leaf.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    now = dt.datetime.now(dt.UTC)
    if BIMI_EKU not in eku:
        problems.append(
            "the certificate is not for BIMI (no id-kp-BrandIndicatorforMessageIdentification)"
        )
    if not logotype:
        problems.append("the certificate carries no logo (logotype extension)")
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        problems.append(
            f"the certificate is not valid now (until {leaf.not_valid_after_utc:%Y-%m-%d})"
        )
    if names and not any(n.lower().rstrip(".").endswith(domain) for n in names):
        problems.append(f"the certificate does not name {domain}")
    info = {
        "subject": leaf.subject.rfc4514_string(),
        "not_after": leaf.not_valid_after_utc.date().isoformat(),
        "names": list(names),
        "chain": "not verified against the Mark Verifying Authorities' roots",
    }
    return info, problems


def check_bimi(
    domain: str,
    dmarc_tags: Mapping[str, str] | None,
    *,
    resolver: dns.resolver.Resolver,
    https: HttpsOptions,
) -> PolicyCheck:
    """``default._bimi``: the record, DMARC enforcement, the SVG's profile, the mark certificate.

    ``dmarc_tags``: the domain's DMARC tags (``{}`` without a record, None unknown).
    """
    name = f"default._bimi.{domain}"
    try:
        records = _records(resolver, name, "v=BIMI1")
    except DnsUnavailable as e:
        return _unknown(str(e), name=name)
    if not records:
        return PolicyCheck(status="not_published", found={"name": name, "record": None})
    tags = parse_tag_list(records[0])
    logo, cert = tags.get("l", ""), tags.get("a", "")
    found: dict[str, Any] = {"name": name, "record": records[0], "logo": logo or None}
    found["certificate_url"] = cert or None
    if not logo and not cert:  # a declination record (the domain asks for no logo)
        found["declined"] = True
        return PolicyCheck(status="not_published", found=found)
    problems: list[str] = []
    unknown: list[str] = []
    if len(records) > 1:
        problems.append(f"{len(records)} v=BIMI1 records")
    if dmarc_tags is None:
        unknown.append("DMARC unknown")
    else:
        weak = _dmarc_enforced_for_bimi(dmarc_tags)
        if weak:
            problems.append(f"DMARC is not enforced ({weak})")

    def fetch(url: str, limit: int) -> tuple[bytes | None, str]:
        return _fetch_url(url, resolver, https, limit)

    if logo:
        body, why = fetch(logo, SVG_LIMIT)
        if body is None:
            (unknown if why.startswith("unknown:") else problems).append(
                f"logo: {why.removeprefix('unknown: ')}"
            )
        else:
            found["svg_problems"] = list(svg_problems(body))
            problems += [f"logo: {p}" for p in found["svg_problems"]]
    else:
        problems.append("no l= (logo URL)")
    if cert:
        body, why = fetch(cert, 65536)
        if body is None:
            (unknown if why.startswith("unknown:") else problems).append(
                f"certificate: {why.removeprefix('unknown: ')}"
            )
        else:
            info, cert_problems = _mark_certificate(body, domain)
            found["certificate"] = info
            problems += cert_problems
    found["vmc"] = bool(cert)
    if problems:
        detail = "; ".join(problems)
        return PolicyCheck(
            status="invalid",
            found=found,
            problems=(("bimi_invalid", {"name": name, "detail": detail}),),
        )
    if unknown:
        asked = unknown != ["DMARC unknown"]
        return _unknown("; ".join(unknown), asked, **found)
    out: tuple[Problem, ...] = ()
    if not cert:
        out = (("bimi_no_certificate", {"domain": domain}),)
    return PolicyCheck(status="ok", found=found, problems=out)


def _fetch_url(
    url: str, resolver: dns.resolver.Resolver, https: HttpsOptions, limit: int
) -> tuple[bytes | None, str]:
    """(body, "") or (None, why): ``why`` starts with ``unknown:`` when nothing can be said."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None, f"{url} is not an https: URL"
    try:
        got = https_get(
            parts.hostname, parts.path or "/", resolver=resolver, options=https, limit=limit
        )
    except NoSuchHost:
        return None, f"{parts.hostname} has no address"
    except FetchUnknown as e:
        return None, f"unknown: {url}: {e}"
    if got.status != 200:
        return None, f"{url}: HTTP {got.status}"
    if got.truncated:
        return None, f"{url} is larger than {limit // 1024} KB"
    return got.body, ""


# --- DANE for SMTP (RFC 7672) ----------------------------------------------------------


def check_dane(mx: Sequence[str] | None, *, resolver: dns.resolver.Resolver) -> PolicyCheck:
    """TLSA at ``_25._tcp.<mx>`` for each MX host, and whether the answer was DNSSEC-secure
    (the AD flag of the resolver's answer)."""
    if mx is None:
        return _unknown("MX unknown", asked=False)
    hosts: list[dict[str, Any]] = []
    unanswered: list[str] = []
    param_problems: list[str] = []
    for host in mx:
        name = f"_25._tcp.{host}"
        try:
            answer = resolver.resolve(name, "TLSA", raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            hosts.append({"host": host, "tlsa": [], "authenticated": None})
            continue
        except dns.exception.DNSException as e:
            unanswered.append(f"{name} TLSA: {e.__class__.__name__}")
            hosts.append({"host": host, "tlsa": None, "authenticated": None})
            continue
        flags = answer.response.flags if answer.response is not None else 0
        records = []
        for r in answer:
            records.append(f"{r.usage} {r.selector} {r.mtype} {r.cert.hex()[:16]}...")
            param_problems += [f"{name}: {p}" for p in tlsa_problems(r.usage, r.selector, r.mtype)]
        hosts.append(
            {
                "host": host,
                "tlsa": records,
                "authenticated": bool(flags & dns.flags.AD) if records else None,
            }
        )
    found: dict[str, Any] = {"hosts": hosts}
    with_tlsa = [h for h in hosts if h["tlsa"]]
    if not with_tlsa:
        if unanswered:
            return _unknown("; ".join(unanswered), **found)
        return PolicyCheck(status="not_published", found=found)
    problems: list[Problem] = []
    if param_problems:
        problems.append(("dane_invalid", {"detail": "; ".join(param_problems)}))
    without = [h["host"] for h in hosts if h["tlsa"] == []]
    if without:
        problems.append(("dane_partial", {"hosts": ", ".join(without)}))
    unvalidated = [h["host"] for h in with_tlsa if not h["authenticated"]]
    if unvalidated:
        problems.append(("dane_not_validated", {"hosts": ", ".join(unvalidated)}))
    decided: Status | None = (
        "invalid" if param_problems else ("not_validated" if unvalidated else None)
    )
    return _concluded(decided, unanswered, found, problems)


# --- DMARC: the draft's tags and the report addresses' authorisation --------------------------


def check_dmarc_reports(
    domain: str, record: str | None, *, resolver: dns.resolver.Resolver
) -> PolicyCheck:
    """Tags the DMARCbis draft removed or does not know, and for each rua/ruf address
    outside the domain, whether that domain agreed to take its reports
    (``<domain>._report._dmarc.<report domain>``, RFC 7489 7.1)."""
    if record is None:
        return PolicyCheck(status="not_published", found={"record": None})
    tags = parse_tag_list(record)
    problems: list[Problem] = []
    removed = [t for t in DMARC_REMOVED_TAGS if t in tags]
    unknown_tags = sorted(t for t in tags if t not in DMARC_DRAFT_TAGS and t not in removed)
    if removed:
        problems.append(("dmarc_removed_tags", {"domain": domain, "tags": ", ".join(removed)}))
    if unknown_tags:
        problems.append(("dmarc_unknown_tags", {"domain": domain, "tags": ", ".join(unknown_tags)}))
    addresses: list[dict[str, Any]] = []
    unanswered: list[str] = []
    for tag in ("rua", "ruf"):
        for uri in report_uris(tags.get(tag, "")):
            if not uri.lower().startswith("mailto:"):
                addresses.append({"tag": tag, "uri": uri, "authorized": None, "outside": None})
                continue
            target = uri[7:].rpartition("@")[2].lower().rstrip(".")
            outside = org_domain(target) != org_domain(domain)
            row: dict[str, Any] = {"tag": tag, "uri": uri, "outside": outside, "authorized": True}
            if outside:
                name = f"{domain}._report._dmarc.{target}"
                row["authorization_name"] = name
                try:
                    row["authorized"] = bool(_records(resolver, name, "v=DMARC1"))
                except DnsUnavailable as e:
                    row["authorized"] = None
                    unanswered.append(str(e))
                if row["authorized"] is False:
                    problems.append(
                        (
                            "dmarc_report_not_authorized",
                            {"domain": domain, "uri": uri, "name": name},
                        )
                    )
            addresses.append(row)
    found = {"record": record, "tags": dict(tags), "removed_tags": removed, "addresses": addresses}
    bad = any(code == "dmarc_report_not_authorized" for code, _ in problems)
    return _concluded("invalid" if bad else None, unanswered, found, problems)


def _concluded(
    decided: Status | None,
    unanswered: Sequence[str],
    found: Mapping[str, Any],
    problems: Sequence[Problem],
) -> PolicyCheck:
    """``decided`` when an answer settled it; else unknown when a lookup went
    unanswered (it may have been the one that mattered), else ok."""
    if decided is None and unanswered:
        return PolicyCheck(
            status="unknown",
            found=found,
            problems=tuple(problems),
            why_unknown="; ".join(unanswered),
        )
    return PolicyCheck(status=decided or "ok", found=found, problems=tuple(problems))
