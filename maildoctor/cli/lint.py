"""``maildoctor lint``: check the templates (or messages the service sent) in CI."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import click

from maildoctor.cli.options import InputError, format_option, resolve_templates, templates_option
from maildoctor.findings import Severity
from maildoctor.mail.lint import LintFinding, lint_finding, lint_message
from maildoctor.mail.render import CHARSETS, catalog, load_template, render_message
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
        errors = sum(f.severity == Severity.ERROR for f in r.findings)
        warnings = len(r.findings) - errors
        status = "ok" if not r.findings else f"{errors} error(s), {warnings} warning(s)"
        lines.append(f"{r.source}: {status}")
        for f in r.findings:
            lines.append(f"  {f.severity}: {f.code}: {f.message}")
            lines.append(f"    fix: {f.fix}")
    return "\n".join(lines) + "\n"


@click.command("lint")
@click.argument("items", nargs=-1)
@click.option("--eml", is_flag=True, help="ITEMS are message files (.eml) the service sent.")
@format_option("text", "json")
@click.option(
    "--charset",
    type=click.Choice(CHARSETS),
    default="utf-8",
    show_default=True,
    help="Charset to render the templates in.",
)
@templates_option
def command(
    items: tuple[str, ...], eml: bool, fmt: str, charset: str, templates_dir: Path | None
) -> None:
    """Lint the templates named ITEMS (default: all, every variant), or with --eml the
    message files ITEMS. Exits 1 when any error is found."""
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
    findings = [f for r in results for f in r.findings]
    errors = sum(f.severity == Severity.ERROR for f in findings)
    warnings = len(findings) - errors
    if fmt == "json":
        document = {
            "results": [r.to_dict() for r in results],
            "errors": errors,
            "warnings": warnings,
        }
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        click.echo(format_text(results), nl=False)
    click.echo(
        f"lint: {len(results)} message(s), {errors} error(s), {warnings} warning(s)", err=True
    )
    if errors:
        sys.exit(1)
