"""``maildoctor sender DOMAIN``: audit the sending domain's DNS (SPF, DKIM, DMARC, rDNS,
MTA-STS, TLS-RPT, BIMI, DANE) and say what each big receiver will do with its mail."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import click
import idna

from maildoctor.address.domain_syntax import SyntaxProblem, check_domain
from maildoctor.address.report import SEVERITY_LABELS
from maildoctor.cli.options import (
    days_range,
    dns_canary_option,
    dns_timeout_option,
    events_db_option,
    format_option,
    lang_option,
    nameserver_option,
)
from maildoctor.events.sending import MAX_IPS, SendingIps, choose_sending_ips
from maildoctor.events.store import DEFAULT_DAYS
from maildoctor.findings import Lang, Severity
from maildoctor.sender.auth import make_resolver
from maildoctor.sender.domain_audit import SPF_LOOKUP_LIMIT, HttpsOptions, SenderAudit, audit
from maildoctor.sender.trust import DEFAULT_CANARIES, canary_failure
from maildoctor.words import words

_POLICY_TITLES = {
    "mta_sts": "MTA-STS",
    "tls_rpt": "TLS-RPT",
    "bimi": "BIMI",
    "dane": "DANE",
    "dmarc_reports": "DMARC rua/ruf",
}
_MET = {True: "OK", False: "NG", None: "??"}

_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9\-]{2,63}$"
)


def _l(key: str, lang: Lang) -> str:
    return words("sender_cli", lang)[key]


def sending_ips_line(chosen: SendingIps, lang: Lang) -> str:
    """Where the audited sending IPs came from, in one line (pure)."""
    said = words("sending_ips", lang)
    if chosen.error is not None:
        return said["error"].format(error=chosen.error)
    if chosen.origin == "option":
        return said["option"].format(ips=", ".join(chosen.ips))
    if not chosen.searched:
        return said["absent"].format(store=chosen.store)
    if chosen.origin == "none":
        return said["none"].format(days=chosen.days, store=chosen.store)
    seen = [
        said["seen"].format(
            ip=s.ip,
            records=s.records,
            sources=", ".join(f"{name} {count}" for name, count in s.sources.items()),
        )
        for s in chosen.seen[: len(chosen.ips)]
    ]
    line = said["records" if chosen.days else "records_all"].format(
        days=chosen.days, store=chosen.store, ips=", ".join(seen)
    )
    if chosen.not_checked:
        line += "; " + said["not_checked"].format(count=chosen.not_checked, max=MAX_IPS)
    return line


def format_text(
    result: SenderAudit, lang: Lang, *, selector: str | None, chosen: SendingIps | None = None
) -> str:
    """The human report (pure)."""
    r = result.records
    head = f"{_l('domain', lang)}: {_shown(result.domain)}"
    extras = []
    if r.get("ip"):
        extras.append(f"{_l('ip', lang)} {r['ip']}")
    if selector:
        extras.append(f"{_l('selector', lang)} {selector}")
    if extras:
        head += " (" + ", ".join(extras) + ")"
    lines = [head, ""]
    if chosen is not None and chosen.origin != "option":
        lines += [sending_ips_line(chosen, lang), ""]
    if result.untrusted is not None:
        lines += [f"{_l('dns_untrusted', lang)} ({result.untrusted}).", ""]
    lines.append(f"{_l('records', lang)}:")

    def show(value: Any) -> str:
        if value is None:
            return _l("unknown" if result.untrusted is None else "untrusted", lang)
        if isinstance(value, list):
            return ", ".join(value) if value else _l("none", lang)
        return str(value)

    lines.append(f"  MX: {show(r.get('mx'))}")
    spf = show(r.get("spf"))
    notes = []
    if r.get("spf_lookups") is not None:
        notes.append(f"{_l('lookups', lang)} {r['spf_lookups']}/{SPF_LOOKUP_LIMIT}")
    if r.get("spf_void_lookups"):
        notes.append(f"{_l('void', lang)} {r['spf_void_lookups']}/2")
    if r.get("spf_result"):
        notes.append(f"{r['ip']}: {r['spf_result']}")
    lines.append(f"  SPF ({r['spf_domain']}): {spf}" + (f"  [{'; '.join(notes)}]" if notes else ""))
    dkim = r.get("dkim")
    if dkim is None:
        lines.append(f"  DKIM: {_l('not_checked', lang) if not selector else show(None)}")
    else:
        value = dkim["record"] if dkim["record"] is not None else _l("none", lang)
        if len(value) > 60:
            value = value[:57] + "..."
        size = f"  [{dkim['bits']} {_l('bits', lang)}]" if dkim.get("bits") else ""
        lines.append(f"  DKIM ({dkim['name']}): {value}{size}")
    lines.append(f"  DMARC ({r['dmarc_name']}): {show(r.get('dmarc'))}")
    if r.get("ip"):
        ptr = r.get("ptr")
        text = show(ptr)
        if ptr:
            ok = r.get("ptr_confirmed")
            state = "unknown" if ok is None else "confirmed" if ok else "unconfirmed"
            text += f" ({_l(state, lang)})"
        lines.append(f"  {_l('reverse', lang)} {r['ip']}: {text}")
    for row in (r.get("sending_ips") or [])[1:]:
        text = show(row["ptr"])
        if row["ptr"]:
            state = {None: "unknown", True: "confirmed", False: "unconfirmed"}[row["fcrdns"]]
            text += f" ({_l(state, lang)})"
        spf_result = f"; SPF: {row['spf']}" if row["spf"] else ""
        lines.append(f"  {_l('reverse', lang)} {row['ip']}: {text}{spf_result}")
    if result.policies:
        lines += ["", f"{_l('policies', lang)}:"]
        for name, check in result.policies.items():
            line = _policy_line(check.status, check.found, check.why_unknown, result, lang)
            lines.append(f"  {_POLICY_TITLES[name]}: {line}")
    lines += ["", f"{_l('findings', lang)}:"]
    if not result.findings:
        lines.append(f"  {_l('no_findings', lang)}")
    for f in result.findings:
        lines.append(f"  [{SEVERITY_LABELS[lang][f.severity]}] {f.code}: {f.message}")
    lines += ["", f"{_l('requirements', lang)}:"]
    for req in result.requirements:
        lines.append(f"  [{_MET[req.met]}] {req.title}")
    if result.receivers:
        lines += ["", f"{_l('receivers', lang)}:"]
        for row in result.receivers:
            lines.append(f"  {row.name}: {row.text}")
            lines.append(f"    {_l('source', lang)}: {row.source}")
    return "\n".join(lines)


def _shown(domain: str) -> str:
    """An IDN as its reader writes it, with the ASCII form DNS was asked for."""
    if "xn--" not in domain:
        return domain
    try:
        return f"{idna.decode(domain)} ({domain})"
    except idna.IDNAError:
        return domain


def _policy_line(
    status: str, found: dict[str, Any] | Any, why: str, result: SenderAudit, lang: Lang
) -> str:
    """One policy's status and the one fact that matters most."""
    if status == "unknown":
        if result.untrusted is not None:
            return _l("untrusted", lang)
        return _l("unknown_why", lang).format(why=why) if why else _l("unknown", lang)
    word = _l(status, lang)
    detail = ""
    if found.get("mode"):
        detail = f"mode={found['mode']}, mx={', '.join(found.get('mx') or [])}"
    elif found.get("hosts"):
        parts = [f"{h['host']} {len(h['tlsa'] or [])} TLSA" for h in found["hosts"]]
        detail = "; ".join(parts)
    elif found.get("record"):
        detail = str(found["record"])
    if len(detail) > 70:
        detail = detail[:67] + "..."
    return f"{word} ({detail})" if detail else word


def audit_dict(
    result: SenderAudit, *, selector: str | None, chosen: SendingIps | None = None
) -> dict[str, Any]:
    """The ``--format json`` object (pure)."""
    return {
        "domain": result.domain,
        "ip": result.records.get("ip"),
        "sending_ips_from": chosen.to_dict() if chosen is not None else None,
        "selector": selector,
        "findings": [f.to_dict() for f in result.findings],
        "requirements": [{"id": q.id, "title": q.title, "met": q.met} for q in result.requirements],
        "checks": dict(result.checks),
        "records": dict(result.records),
        "dns_untrusted": result.untrusted,
        **{name: check.to_dict() for name, check in result.policies.items()},
        "receivers": [row.to_dict() for row in result.receivers],
    }


def _ascii_domain(value: str) -> str:
    """DOMAIN as DNS asks for it: IDNA (UTS 46) as the address checker does, or exit 2."""
    text = value.strip().rstrip(".")
    checked = check_domain(text) if text else None
    if checked is None or isinstance(checked, SyntaxProblem) or checked[2]:
        raise click.BadParameter(f"{text!r} is not a domain name", param_hint="DOMAIN")
    ascii_domain = checked[0]
    if not _DOMAIN_RE.match(ascii_domain):
        raise click.BadParameter(f"{text!r} is not a domain name", param_hint="DOMAIN")
    return ascii_domain


def _exit_code(result: SenderAudit) -> int:
    severities = {f.severity for f in result.findings}
    if severities & {Severity.ERROR, Severity.WARNING}:
        return 1
    unknown = ("sender_dns_unavailable", "sender_dns_untrusted", "sender_policy_unknown")
    if any(f.code in unknown for f in result.findings):
        return 3
    return 0


@click.command()
@click.argument("domain")
@click.option(
    "--ip",
    "--sending-ip",
    "ips",
    metavar="ADDR",
    multiple=True,
    help="Sending IP to evaluate SPF and forward-confirmed reverse DNS for (repeatable: "
    "every sending IP must pass; the first also decides the receivers' rules). Without it, "
    "the sending IPs the delivery records saw are checked.",
)
@events_db_option
@click.option(
    "--events-days",
    type=days_range(),
    default=DEFAULT_DAYS,
    show_default=True,
    help="Without --sending-ip: the sending IPs of the records of this many days (0: all kept).",
)
@click.option("--selector", metavar="S", help="DKIM selector whose key to check.")
@click.option(
    "--mail-from",
    metavar="DOMAIN",
    help="Envelope sender (Return-Path) domain, when it differs from DOMAIN.",
)
@nameserver_option
@dns_timeout_option
@dns_canary_option
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    envvar="MAILDOCTOR_CA_FILE",
    help="PEM file of the CAs to trust for the MTA-STS policy and BIMI files "
    "(default: the system's).",
)
@click.option(
    "--https-port",
    type=click.IntRange(1, 65535),
    default=443,
    hidden=True,
    help="Port of the MTA-STS and BIMI hosts (tests serve on loopback).",
)
@format_option("text", "json")
@lang_option
def command(
    domain: str,
    ips: tuple[str, ...],
    events_db: Path | None,
    events_days: int,
    selector: str | None,
    mail_from: str | None,
    nameservers: tuple[str, ...],
    dns_timeout: float,
    canaries: tuple[str, ...],
    ca_file: str | None,
    https_port: int,
    fmt: str,
    lang: Lang,
) -> None:
    """Audit a sending domain: MX, SPF (for --ip), DKIM (--selector), DMARC, reverse DNS,
    and what Gmail/Yahoo and the Japanese carriers' spoofing filters require.

    Each finding names the DNS record to change and how. Before trusting DNS, the
    canaries must resolve (as for check: '.' NS and gmail.com MX, or --dns-canary):
    a resolver that fails them (a sinkhole, no network, timeouts, SERVFAIL) makes
    every record unknown, never missing; so does an MTA-STS or BIMI file that cannot be
    fetched over verified HTTPS. DOMAIN may be an internationalized name (例え.jp).
    Exit status: 0 nothing to fix, 1 errors or warnings, 3 DNS (or an MTA-STS/BIMI
    host) did not answer or is not trusted (and nothing worse), 2 usage error.
    """
    domain = _ascii_domain(domain)
    checked_ips = []
    for value in ips:
        try:
            checked_ips.append(str(ipaddress.ip_address(value.strip())))
        except ValueError:
            raise click.BadParameter(f"{value!r} is not an IP address", param_hint="--ip") from None
    chosen = choose_sending_ips(tuple(checked_ips), events_db, days=events_days)
    checked_ips = list(chosen.ips)
    ip = checked_ips[0] if checked_ips else None
    mail_from_domain = mail_from.rpartition("@")[2].lower() if mail_from else None
    if mail_from_domain is not None and not _DOMAIN_RE.match(mail_from_domain):
        raise click.BadParameter(f"{mail_from!r} has no domain", param_hint="--mail-from")
    if selector is not None and not re.fullmatch(r"[A-Za-z0-9_\-.]{1,63}", selector):
        raise click.BadParameter(f"{selector!r} is not a DKIM selector", param_hint="--selector")
    servers = [s for value in nameservers for s in value.split()]
    try:
        resolver = make_resolver(servers, timeout=dns_timeout)
    except ValueError as e:  # DNSConfigError from parse_nameserver: one line, exit 2
        raise click.BadParameter(str(e), param_hint="--nameserver") from None
    untrusted = canary_failure(servers, timeout=dns_timeout, canaries=canaries or DEFAULT_CANARIES)
    if untrusted is not None:
        click.echo(
            f"maildoctor: DNS is unavailable or not trusted ({untrusted}); "
            "every record of the domain is reported as unknown.",
            err=True,
        )
    result = audit(
        domain,
        resolver=resolver,
        ip=ip,
        other_ips=checked_ips[1:],
        selector=selector,
        mail_from_domain=mail_from_domain,
        lang=lang,
        untrusted=untrusted,
        https=HttpsOptions(cafile=ca_file, port=https_port, timeout=dns_timeout),
    )
    if fmt == "json":
        out = audit_dict(result, selector=selector, chosen=chosen)
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        click.echo(format_text(result, lang, selector=selector, chosen=chosen))
    raise click.exceptions.Exit(_exit_code(result))
