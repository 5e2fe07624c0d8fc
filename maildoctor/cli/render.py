"""``maildoctor templates`` and ``maildoctor render``: preview the notification mails."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from maildoctor.cli.options import (
    CouldNotRun,
    InputError,
    charset_option,
    format_option,
    resolve_templates,
    templates_option,
    write_failure,
)
from maildoctor.mail.lint import lint_message
from maildoctor.mail.render import (
    BUILTIN_VARIABLES,
    TemplateInfo,
    build_message,
    catalog,
    load_template,
    render_parts,
)
from maildoctor.mail.templating import ContextError, TemplatingError, UnknownTemplate

#: The recipient used when --to is not given.
SAMPLE_RECIPIENT = "taro.yamada@example.com"

# --- templates -------------------------------------------------------------------


def _template_dict(info: TemplateInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "subject": info.subject,
        "description": info.description,
        "variables": dict(info.variables),
        "variants": [
            {
                "name": v.name,
                "description": v.description,
                "variables": dict(v.variables),
                "sample": dict(v.sample),
            }
            for v in info.variants
        ],
    }


def format_templates(templates: dict[str, TemplateInfo], folder: Path) -> str:
    """The human listing of ``maildoctor templates``."""
    lines = [f"Templates in {folder}:", ""]
    for info in templates.values():
        lines.append(f"{info.name}  {info.subject}")
        if info.description:
            lines.append(f"    {info.description}")
        if len(info.variants) > 1:
            lines.append("    variants:")
            width = max(len(v.name) for v in info.variants) + len(" (default)")
            for i, v in enumerate(info.variants):
                label = v.name + (" (default)" if i == 0 else "")
                lines.append(f"      {label:<{width}}  {v.description}".rstrip())
        variables = [(name, "", text) for name, text in info.variables.items()]
        for v in info.variants:
            if len(info.variants) > 1:
                variables += [(name, f"({v.name}) ", text) for name, text in v.variables.items()]
            else:
                variables += [(name, "", text) for name, text in v.variables.items()]
        if variables:
            lines.append("    variables:")
            width = max(len(name) for name, _, _ in variables)
            lines += [f"      {name:<{width}}  {where}{text}" for name, where, text in variables]
        lines.append("")
    width = max(len(name) for name in BUILTIN_VARIABLES)
    lines.append("Every template also gets:")
    lines += [f"  {name:<{width}}  {text}" for name, text in BUILTIN_VARIABLES.items()]
    return "\n".join(lines) + "\n"


@click.command("templates")
@templates_option
@format_option("text", "json")
def templates_command(templates_dir: Path | None, fmt: str) -> None:
    """List the notification templates, their variants and their variables."""
    folder = resolve_templates(templates_dir)
    try:
        templates = catalog(folder)
    except TemplatingError as e:
        raise InputError(str(e)) from e
    if not templates:
        raise InputError(
            f"The templates folder {folder} holds no templates (a folder per template with "
            "a template.toml, see templates/README.md). Check --templates or "
            "MAILDOCTOR_TEMPLATES."
        )
    if fmt == "json":
        document = {
            "templates_dir": str(folder),
            "templates": [_template_dict(info) for info in templates.values()],
            "builtin_variables": BUILTIN_VARIABLES,
        }
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        click.echo(format_templates(templates, folder), nl=False)


# --- render ----------------------------------------------------------------------


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--var KEY=VALUE`` options as a dict (the value may contain '=')."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise ContextError(f"--var {pair!r} is not of the form KEY=VALUE.")
        values[key.strip()] = value
    return values


def read_context(path: str) -> dict[str, Any]:
    """A context file: JSON (``.json`` or ``-`` for stdin) or TOML (``.toml``)."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text("utf-8")
    except OSError as e:
        raise ContextError(f"Cannot read the context file {path!r}: {e.strerror}.") from e
    except UnicodeDecodeError as e:
        raise ContextError(f"The context file {path!r} is not UTF-8.") from e
    try:
        data = tomllib.loads(text) if path.endswith(".toml") else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        kind = "TOML" if path.endswith(".toml") else "JSON"
        raise ContextError(f"The context file {path!r} is not valid {kind}: {e}.") from e
    except RecursionError:  # [[[[... : the parser's recursion, not a traceback
        raise ContextError(f"The context file {path!r} is nested too deeply.") from None
    if not isinstance(data, dict):
        raise ContextError(f"The context file {path!r} must hold an object of variables.")
    return data


def template_context(
    sample: Mapping[str, Any] | None, context_file: str | None, variables: tuple[str, ...]
) -> dict[str, Any]:
    """The variables a render uses: the template's ``sample`` (None: none), then the
    ``--context`` file, then ``--var`` pairs, each overriding the one before."""
    context: dict[str, Any] = dict(sample) if sample is not None else {}
    if context_file:
        context.update(read_context(context_file))
    context.update(parse_vars(variables))
    return context


@click.command("render")
@click.argument("name")
@click.option("--to", default=SAMPLE_RECIPIENT, show_default=True, help="Recipient address.")
@click.option("--variant", default=None, help="Template variant (default: the first one).")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE", help="Set a variable.")
@click.option(
    "--context",
    "context_file",
    metavar="FILE",
    default=None,
    help="Variables from a JSON or TOML file ('-' reads JSON from stdin).",
)
@click.option(
    "--no-samples",
    is_flag=True,
    help="Do not fill unset variables from the template's sample data.",
)
@format_option(
    "eml",
    "text",
    "html",
    "json",
    "png",
    help="eml: the MIME message; text/html: one part; json: headers, parts and lint findings; "
    "png: a screenshot of the HTML part from Chromium (maildoctor[preview]).",
)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to a file.")
@click.option(
    "--width",
    type=click.IntRange(200, 2000),
    default=390,
    show_default=True,
    help="png: the window width in CSS pixels (390 a phone, 768 a tablet, 1280 a desktop).",
)
@click.option("--dark", is_flag=True, help="png: as a client in dark mode (prefers-color-scheme).")
@click.option(
    "--browser",
    metavar="PATH",
    default=None,
    help="png: the Chromium to use (default: $MAILDOCTOR_CHROMIUM, Playwright's, the system's).",
)
@charset_option("iso-2022-jp for old phones.")
@templates_option
def command(
    name: str,
    to: str,
    variant: str | None,
    variables: tuple[str, ...],
    context_file: str | None,
    no_samples: bool,
    fmt: str,
    out: str | None,
    width: int,
    dark: bool,
    browser: str | None,
    charset: str,
    templates_dir: Path | None,
) -> None:
    """Render the notification NAME into a MIME message.

    Unset variables take the template's sample data (see `maildoctor templates`);
    --context and then --var override them.
    """
    folder = resolve_templates(templates_dir)
    try:
        info = load_template(name, folder)
        chosen = info.variant(variant)
    except UnknownTemplate as e:
        raise click.UsageError(str(e)) from e
    except TemplatingError as e:  # a broken template.toml: say so, no traceback
        raise InputError(str(e)) from e
    try:
        sample = None if no_samples else chosen.sample
        context = template_context(sample, context_file, variables)
        rendered = render_parts(
            name,
            to=to,
            context=context,
            variant=chosen.name,
            templates_dir=folder,
            charset=charset,
        )
        msg = build_message(rendered, to=to, charset=charset)
    except TemplatingError as e:  # a template, charset or --var error (README: exit 2)
        raise InputError(str(e)) from e

    data: bytes
    if fmt == "eml":
        data = msg.as_bytes()
    elif fmt == "text":
        data = rendered.text.encode("utf-8")
    elif fmt == "html":
        data = rendered.html.encode("utf-8")
    elif fmt == "png":
        data = _png(rendered.html, width=width, dark=dark, browser=browser, out=out)
    else:
        document = {
            "template": rendered.template,
            "variant": rendered.variant,
            "charset": charset,
            "headers": {key: str(value) for key, value in msg.items()},
            "subject": rendered.subject,
            "text": rendered.text,
            "html": rendered.html,
            "lint": [f.to_dict() for f in lint_message(msg, template=name)],
        }
        data = (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if out:
        try:
            Path(out).write_bytes(data)
        except OSError as e:
            raise write_failure(e, out) from e
        click.echo(f"Wrote {out} ({len(data)} bytes).", err=True)
    else:
        click.echo(data, nl=False)  # bytes go to stdout's binary buffer as they are


def _png(html: str, *, width: int, dark: bool, browser: str | None, out: str | None) -> bytes:
    """The screenshot for --format png (a terminal gets no PNG bytes: --out is asked for)."""
    from maildoctor.mail.screenshot import ScreenshotUnavailable, screenshot

    if out is None and sys.stdout.isatty():
        raise click.UsageError("--format png writes an image: give --out FILE.png (or a pipe).")
    if browser is not None and not (Path(browser).is_file() and os.access(browser, os.X_OK)):
        raise click.BadParameter(f"{browser!r} is not an executable file.", param_hint="--browser")
    try:
        shot = screenshot(html, width=width, dark=dark, browser=browser)
    except ScreenshotUnavailable as e:
        raise CouldNotRun(str(e)) from e
    click.echo(f"Screenshot {shot.width}x{shot.height} px from {shot.browser}.", err=True)
    return shot.png
