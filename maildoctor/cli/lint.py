"""``maildoctor lint``: check the templates (or messages the service sent) in CI."""

from __future__ import annotations

import json
import re
import sys
import tempfile
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import click

from maildoctor.cli.lint_project import find_lint_config, templates_at_revision
from maildoctor.cli.options import (
    InputError,
    charset_option,
    format_option,
    resolve_templates,
    templates_option,
)
from maildoctor.mail.lint import (
    LintFinding,
    allow_findings,
    lint_finding,
    lint_message,
    summary,
)
from maildoctor.mail.render import catalog, load_template, render_message
from maildoctor.mail.templating import TemplatingError, UnknownTemplate

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "template": self.template,
            "variant": self.variant,
            "findings": [f.to_dict() for f in self.findings],
        }


def lint_templates(names: tuple[str, ...], folder: Path, charset: str) -> list[Linted]:
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
                findings = lint_message(msg, template=info.name)
            except TemplatingError as e:
                findings = [lint_finding("render_failed", error=e)]
            results.append(
                Linted(
                    source=f"{info.name}/{variant.name}",
                    template=info.name,
                    variant=variant.name,
                    findings=findings,
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


def lint_files(paths: tuple[str, ...]) -> list[Linted]:
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
        results.append(
            Linted(source=path, template=None, variant=None, findings=lint_message(msg, raw=raw))
        )
    return results


def format_text(results: list[Linted]) -> str:
    """One line per message, then its findings with what to fix."""
    lines = []
    for r in results:
        counts = summary([r.findings])
        errors, warnings, allowed = counts["errors"], counts["warnings"], counts["allowed"]
        status = "ok" if errors + warnings == 0 else f"{errors} error(s), {warnings} warning(s)"
        lines.append(f"{r.source}: {status}" + (f" ({allowed} allowed)" if allowed else ""))
        for f in r.findings:
            carrier = f" [{f.carrier}]" if f.carrier else ""
            label = "allowed" if f.allowed else str(f.severity)
            lines.append(f"  {label}: {f.code}{carrier}: {f.message}")
            lines.append(f"    fix: {f.fix}")
            if f.source:
                lines.append(f"    source: {f.source}")
    return "\n".join(lines) + "\n"


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
@templates_option
def command(
    items: tuple[str, ...],
    eml: bool,
    fmt: str,
    charset: str,
    allow: tuple[str, ...],
    diff_base: str | None,
    templates_dir: Path | None,
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
    if eml:
        if not items:
            raise click.UsageError("--eml needs at least one message file.")
        results = lint_files(items)
    else:
        folder = resolve_templates(templates_dir)
        try:
            results = lint_templates(items, folder, charset)
        except UnknownTemplate as e:
            raise click.UsageError(str(e)) from e
        except TemplatingError as e:
            raise click.ClickException(str(e)) from e
        if not results:  # linting nothing must not pass a CI build
            raise InputError(f"The templates folder {folder} holds no templates to lint.")
    results = [
        Linted(
            source=r.source,
            template=r.template,
            variant=r.variant,
            findings=allow_findings(r.findings, allowed),
        )
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
        }
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        click.echo(format_text(results), nl=False)
    click.echo(
        f"lint: {counts['messages']} message(s), {errors} error(s), {counts['warnings']} "
        "warning(s)" + (f", {counts['allowed']} allowed" if counts["allowed"] else ""),
        err=True,
    )
    if errors:
        sys.exit(1)
