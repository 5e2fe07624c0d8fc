"""``maildoctor lint``: check the templates (or messages the service sent) in CI."""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import click

from maildoctor.cli.lint_project import find_lint_config, templates_at_revision
from maildoctor.cli.options import (
    CouldNotRun,
    InputError,
    Seconds,
    charset_option,
    dns_timeout_option,
    format_option,
    lang_option,
    nameserver_option,
    resolve_templates,
    templates_option,
)
from maildoctor.findings import Lang
from maildoctor.mail.lint import (
    LintFinding,
    allow_findings,
    lint_finding,
    lint_message,
    one_time_url,
    summary,
)
from maildoctor.mail.render import catalog, load_template, render_message
from maildoctor.mail.templating import TemplatingError, UnknownTemplate
from maildoctor.words import words

#: The recipient the templates are rendered for when linted.
LINT_RECIPIENT = "taro.yamada@docomo.ne.jp"


@dataclass(frozen=True, kw_only=True)
class Linted:
    """The findings for one linted message."""

    source: str
    """``template/variant`` or the file's path."""
    template: str | None
    variant: str | None
    findings: list[LintFinding]
    extra: dict[str, Any] = field(default_factory=dict)
    """What the optional checks report besides findings: ``spam`` (spamd's score and
    rules, or why it did not run), ``links`` (each link opened), ``clients`` (caniemail)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "template": self.template,
            "variant": self.variant,
            "findings": [f.to_dict() for f in self.findings],
            **self.extra,
        }


#: An optional check: the message and its bytes in, (findings, report under a key) out.
Extra = Callable[[EmailMessage, bytes], tuple[list[LintFinding], dict[str, Any]]]


def _run_extras(
    extras: tuple[Extra, ...], msg: EmailMessage, raw: bytes
) -> tuple[list[LintFinding], dict[str, Any]]:
    findings: list[LintFinding] = []
    report: dict[str, Any] = {}
    for extra in extras:
        found, part = extra(msg, raw)
        findings += found
        report.update(part)
    return findings, report


def lint_templates(
    names: tuple[str, ...], folder: Path, charset: str, extras: tuple[Extra, ...] = ()
) -> list[Linted]:
    """Render every variant of each template with its sample data and lint it."""
    infos = [load_template(n, folder) for n in names] if names else list(catalog(folder).values())
    results = []
    for info in infos:
        for variant in info.variants:
            try:
                msg = render_message(
                    info.name,
                    to=LINT_RECIPIENT,
                    variant=variant.name,
                    templates_dir=folder,
                    charset=charset,
                )
                raw = msg.as_bytes()
                findings = lint_message(
                    msg, template=info.name, raw=raw, token_url=one_time_url(dict(variant.sample))
                )
                found, report = _run_extras(extras, msg, raw)
                findings += found
            except TemplatingError as e:
                findings, report = [lint_finding("render_failed", error=e)], {}
            results.append(
                Linted(
                    source=f"{info.name}/{variant.name}",
                    template=info.name,
                    variant=variant.name,
                    findings=findings,
                    extra=report,
                )
            )
    return results


#: A header field's first line (RFC 5322 2.2: printable ASCII name, then a colon).
_FIELD = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")


def not_a_message(raw: bytes) -> str | None:
    """Why ``raw`` is not an RFC 5322 message (None when it may be one).

    The email parser takes anything, so a PDF or a picture would be linted as
    a message whose header names are raw bytes: look at the first line and the
    header section first.
    """
    if not raw.strip():
        return "it is empty"
    head = raw[: raw.find(b"\n\n") if b"\n\n" in raw else 65536].replace(b"\r\n", b"\n")
    if raw.startswith(b"From "):  # an mbox "From " line before the header
        head = head.partition(b"\n")[2]
    if b"\x00" in head:
        return "its header holds NUL bytes (a binary file?)"
    if not _FIELD.match(head):
        return "it does not start with a header field such as 'From:' (a binary file?)"
    return None


def lint_files(paths: tuple[str, ...], extras: tuple[Extra, ...] = ()) -> list[Linted]:
    """Lint .eml files ('-' reads one message from stdin)."""
    results = []
    for path in paths:
        try:
            raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        except OSError as e:
            raise click.BadParameter(f"Cannot read {path!r}: {e.strerror}.") from e
        if why := not_a_message(raw):
            raise InputError(f"{path!r} is not an email message: {why}.")
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        found, report = _run_extras(extras, msg, raw)
        results.append(
            Linted(
                source=path,
                template=None,
                variant=None,
                findings=lint_message(msg, raw=raw) + found,
                extra=report,
            )
        )
    return results


def format_text(results: list[Linted], lang: Lang = "ja") -> str:
    """One line per message, then its findings with what to fix (labels in ``lang``:
    words.toml [lint_cli] and [severity])."""
    said, severity = words("lint_cli", lang), words("severity", lang)
    lines = []
    for r in results:
        counts = summary([r.findings])
        errors, warnings, allowed = counts["errors"], counts["warnings"], counts["allowed"]
        status = (
            said["ok"]
            if errors + warnings == 0
            else said["counts"].format(errors=errors, warnings=warnings)
        )
        lines.append(
            f"{r.source}: {status}"
            + (said["allowed_count"].format(allowed=allowed) if allowed else "")
        )
        for f in r.findings:
            carrier = f" [{f.carrier}]" if f.carrier else ""
            label = said["allowed"] if f.allowed else severity[str(f.severity)]
            lines.append(f"  {label}: {f.code}{carrier}: {f.message}")
            lines.append(f"    {said['fix']}: {f.fix}")
            if f.source:
                lines.append(f"    {said['source']}: {f.source}")
        lines += _format_extra(r.extra, said, lang)
    return "\n".join(lines) + "\n"


def _format_extra(extra: dict[str, Any], said: dict[str, str], lang: Lang) -> list[str]:
    lines: list[str] = []
    spam = extra.get("spam")
    if spam and spam["ran"]:
        verdict = said["spam"] if spam["is_spam"] else said["not_spam"]
        line = said["spamd"].format(
            server=spam["server"],
            score=f"{spam['score']:.1f}",
            required=f"{spam['required']:.1f}",
            verdict=verdict,
        )
        lines.append(f"  {line}")
        lines += [f"    {r['points']:+5.1f} {r['name']}: {r['description']}" for r in spam["rules"]]
    elif spam:
        lines.append("  " + said["spamd_not_run"].format(why=spam["why"]))
    for link in extra.get("links", []):
        state = link["status"] if link["status"] is not None else (link["refused"] or link["error"])
        lines.append("  " + said["link"].format(url=link["url"], state=state))
    display = extra.get("carrier_display")
    if display:
        untrusted = display.get("dns_untrusted")
        key = "carrier_display_untrusted" if untrusted else "carrier_display"
        lines.append("  " + said[key].format(domain=display["domain"], why=untrusted))
        lines += [
            f"    {row['receiver']}: {row['treatment']}: {row['text']}"
            for row in display["rows"]
            if row["carrier"]
        ]
    clients = extra.get("clients")
    if clients:
        from maildoctor.mail.caniemail import DataVersion

        watched = [f for f in clients["families"] if f["family"] in clients["watched"]]
        scores = ", ".join(f"{f['name']} {f['score']}" for f in watched)
        line = said["clients"].format(
            scores=scores,
            families=len(clients["families"]),
            score=clients["score"],
            version=DataVersion(clients["caniemail"], clients["data_date"]).label(lang),
        )
        lines.append(f"  {line}")
    return lines


def check_allow_entry(entry: str, where: str) -> None:
    """A usage error for an allow entry that names no rule (or no carrier): a typo
    there would otherwise allow nothing, silently."""
    from maildoctor.carriers import CARRIERS
    from maildoctor.mail.lint import RULES

    rule, colon, carrier = entry.strip().lower().partition(":")
    if rule not in RULES:
        raise click.UsageError(
            f"{where}: {entry!r} is not a lint rule; the rules are: {', '.join(sorted(RULES))}."
        )
    if colon and rule == "client_unsupported":
        from maildoctor.mail.caniemail import feature_titles

        if carrier not in feature_titles():
            raise click.UsageError(
                f"{where}: {carrier!r} in {entry!r} is not a caniemail feature (such as "
                "css-border-radius; lint --clients ... names them)."
            )
        return
    if colon and carrier not in CARRIERS:
        raise click.UsageError(
            f"{where}: {carrier!r} in {entry!r} is not a carrier; the carriers are: "
            f"{', '.join(CARRIERS)}."
        )


def print_diff(folder: Path, revision: str, fmt: str = "text") -> None:
    """Print what changed in every rendered template between ``revision`` and ``folder``
    (json: ``{"base", "changed": [{"source", "status", "diff"}]}``, for a CI comment)."""
    from maildoctor.mail.diff import diff_folders, format_diffs

    with tempfile.TemporaryDirectory(prefix="maildoctor-diff-") as tmp:
        base = templates_at_revision(folder, revision, Path(tmp))
        try:
            diffs = diff_folders(base, folder, base_label=revision, head_label="working tree")
        except TemplatingError as e:
            raise click.ClickException(str(e)) from e
    if fmt == "json":
        document = {
            "base": revision,
            "changed": [{"source": d.source, "status": d.status, "diff": d.diff} for d in diffs],
        }
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        click.echo(format_diffs(diffs), nl=False)
    changed = ", ".join(d.source for d in diffs) or "none"
    click.echo(f"diff {revision}: {len(diffs)} template variant(s) changed: {changed}", err=True)


@click.command("lint")
@click.argument("items", nargs=-1)
@click.option("--eml", is_flag=True, help="ITEMS are message files (.eml) the service sent.")
@format_option("text", "json")
@charset_option("Charset to render the templates in.")
@click.option(
    "--allow",
    "allow",
    multiple=True,
    metavar="RULE[:CARRIER]",
    help="Allow a rule on purpose (repeatable): shown, never fails. Also "
    "[tool.maildoctor.lint] allow = [...] in pyproject.toml.",
)
@click.option(
    "--diff",
    "diff_base",
    metavar="BASE",
    default=None,
    help="Print what changed in the rendered text and HTML of every template since the "
    "git revision BASE, instead of linting.",
)
@click.option(
    "--clients",
    "clients",
    default=None,
    metavar="FAMILY,...",
    help="Check the HTML against caniemail's data and report client_unsupported for these "
    "client families (gmail,apple-mail,outlook,yahoo,...; 'all' for every one). Also "
    "[tool.maildoctor.lint] clients = [...].",
)
@click.option(
    "--check-links",
    is_flag=True,
    help="Open every link (HEAD, then GET); loopback, private and link-local addresses are "
    "refused, never contacted.",
)
@click.option(
    "--link-timeout",
    type=Seconds(min=0.1, max=120),
    default=10.0,
    show_default=True,
    help="Seconds for each link with --check-links.",
)
@click.option(
    "--spamd",
    "spamd",
    default=None,
    metavar="HOST:PORT",
    help="Score each message with SpamAssassin's spamd there and list the rules that fired.",
)
@click.option(
    "--carrier-display",
    is_flag=True,
    help="Audit the From domain's published SPF/DKIM/DMARC/BIMI (maildoctor sender) and say "
    "what docomo, SoftBank and au will show: the なりすまし warning, the spoofing filter.",
)
@nameserver_option
@dns_timeout_option
@click.option("--ip", default=None, help="--carrier-display: the sending IP (SPF, rDNS).")
@click.option("--dkim-selector", default=None, help="--carrier-display: the DKIM selector.")
@templates_option
@lang_option
def command(
    items: tuple[str, ...],
    eml: bool,
    fmt: str,
    charset: str,
    allow: tuple[str, ...],
    diff_base: str | None,
    clients: str | None,
    check_links: bool,
    link_timeout: float,
    spamd: str | None,
    carrier_display: bool,
    nameservers: tuple[str, ...],
    dns_timeout: float,
    ip: str | None,
    dkim_selector: str | None,
    templates_dir: Path | None,
    lang: Lang,
) -> None:
    """Lint the templates named ITEMS (default: all, every variant), or with --eml the
    message files ITEMS. Exits 1 when an error finding is not allowed."""
    if diff_base is not None:
        if eml or items:
            raise click.UsageError("--diff compares every template; give no ITEMS or --eml.")
        print_diff(resolve_templates(templates_dir), diff_base, fmt)
        return
    config = find_lint_config(Path.cwd())
    for entry in config.allow:
        check_allow_entry(entry, f"{config.path} [tool.maildoctor.lint] allow")
    for entry in allow:
        check_allow_entry(entry, "--allow")
    allowed = (*config.allow, *allow)
    families = _families(clients if clients is not None else ",".join(config.clients))
    extras = _extras(families, check_links, link_timeout, spamd)
    if carrier_display:
        from maildoctor.cli.lint_display import display_extra

        servers = tuple(s for value in nameservers for s in value.split())
        extras += (display_extra(servers, dns_timeout, ip, dkim_selector),)
    if eml:
        if not items:
            raise click.UsageError("--eml needs at least one message file.")
        results = lint_files(items, extras)
    else:
        folder = resolve_templates(templates_dir)
        try:
            results = lint_templates(items, folder, charset, extras)
        except UnknownTemplate as e:
            raise click.UsageError(str(e)) from e
        except TemplatingError as e:
            raise click.ClickException(str(e)) from e
        if not results:  # linting nothing must not pass a CI build
            raise InputError(f"The templates folder {folder} holds no templates to lint.")
    results = [
        replace(r, findings=[f.worded(lang) for f in allow_findings(r.findings, allowed)])
        for r in results
    ]
    counts = summary(r.findings for r in results)
    errors = counts["errors"]
    if fmt == "json":
        document = {
            "results": [r.to_dict() for r in results],
            "errors": errors,
            "warnings": counts["warnings"],
            "allowed": counts["allowed"],
            "allow": list(allowed),
            "config": str(config.path) if config.path else None,
            "spam": None if spamd else {"ran": False, "why": "no --spamd HOST:PORT given"},
        }
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        click.echo(format_text(results, lang), nl=False)
    said = words("lint_cli", lang)
    click.echo(
        said["summary"].format(
            messages=counts["messages"], errors=errors, warnings=counts["warnings"]
        )
        + (said["summary_allowed"].format(allowed=counts["allowed"]) if counts["allowed"] else "")
        + (said["summary_no_spamd"] if spamd is None else ""),
        err=True,
    )
    untrusted = [
        r.extra["carrier_display"].get("dns_untrusted")
        for r in results
        if "carrier_display" in r.extra
    ]
    if any(untrusted):
        raise CouldNotRun(
            f"The carrier display could not be told: DNS is not trusted "
            f"({next(u for u in untrusted if u)})."
        )
    not_run = [r.source for r in results if not r.extra.get("spam", {}).get("ran", True)]
    if spamd is not None and not_run:
        why = results[0].extra["spam"]["why"] if results else ""
        raise CouldNotRun(f"The spam score did not run for {', '.join(not_run)}: {why}.")
    if errors:
        raise click.exceptions.Exit(1)


def _families(value: str) -> tuple[str, ...]:
    """The --clients list, checked against caniemail's families."""
    if not value.strip():
        return ()
    from maildoctor.mail.caniemail import family_names

    known = family_names()
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    if names == ["all"]:
        return tuple(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise click.UsageError(
            f"--clients: {', '.join(unknown)} is not a caniemail client family; they are: "
            f"{', '.join(known)}."
        )
    return tuple(names)


def _extras(
    families: tuple[str, ...], check_links: bool, link_timeout: float, spamd: str | None
) -> tuple[Extra, ...]:
    """The optional checks the options ask for, each a function of one message."""
    extras: list[Extra] = []
    if families:
        from maildoctor.mail.caniemail import client_support, support_findings

        def clients_extra(
            msg: EmailMessage, raw: bytes
        ) -> tuple[list[LintFinding], dict[str, Any]]:
            part = msg.get_body(("html",))
            if part is None:
                return [], {}
            report = client_support(part.get_content())
            document = {**report.to_dict(), "watched": list(families)}
            return support_findings(report, families), {"clients": document}

        extras.append(clients_extra)
    if check_links:
        from maildoctor.mail.htmlscan import links_of
        from maildoctor.mail.linkcheck import check_links as open_links
        from maildoctor.mail.linkcheck import link_findings

        def links_extra(msg: EmailMessage, raw: bytes) -> tuple[list[LintFinding], dict[str, Any]]:
            urls: list[str] = []
            for kind in ("plain", "html"):
                part = msg.get_body((kind,))
                if part is not None:
                    content = part.get_content()
                    urls += links_of(html=content) if kind == "html" else links_of(text=content)
            results = open_links(urls, timeout=link_timeout)
            return link_findings(results), {"links": [r.to_dict() for r in results]}

        extras.append(links_extra)
    if spamd is not None:
        from maildoctor.mail.spamd import SpamdError, parse_address, score

        try:
            host, port = parse_address(spamd)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--spamd") from e

        def spam_extra(msg: EmailMessage, raw: bytes) -> tuple[list[LintFinding], dict[str, Any]]:
            try:
                result = score(raw, host, port)
            except SpamdError as e:
                return [], {"spam": {"ran": False, "why": str(e)}}
            return result.findings(), {"spam": result.to_dict()}

        extras.append(spam_extra)
    return tuple(extras)
