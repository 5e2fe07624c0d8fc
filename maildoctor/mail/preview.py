"""One template variant as a developer previews it: every view, or the error.

:func:`preview` is the one function the ``preview`` command, the Templates tab of
``serve`` and their JSON API call: the subject, the text part, the HTML (and its
dark-mode rendering), the raw message, the ISO-2022-JP message as an old phone
decodes it, the lint findings and caniemail's client support; or, for a broken
template, the Jinja error with its file, line and the lines around it, so that the
page can show it and recover on the next save.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from maildoctor.findings import Lang
from maildoctor.mail.caniemail import SupportReport, client_support
from maildoctor.mail.lint import LintFinding, lint_message, one_time_url
from maildoctor.mail.render import (
    build_message,
    catalog,
    load_template,
    render_parts,
)
from maildoctor.mail.templating import TemplatingError

__all__ = [
    "GETA",
    "PREVIEW_TO",
    "Preview",
    "TemplateError",
    "dark_html",
    "phone_view",
    "preview",
    "preview_catalog",
]

#: The recipient previews are rendered for.
PREVIEW_TO = "taro.yamada@docomo.ne.jp"
#: 〓 (geta): what Japanese phones show for a character they cannot decode.
GETA = "〓"
_LOCATION = re.compile(r"(?P<file>[^\s:]+\.j2) line (?P<line>\d+)")
#: A mail saying it supports dark: the color-scheme meta, or the CSS property (not the
#: prefers-color-scheme media feature).
_DECLARES_DARK = re.compile(
    r"<meta[^>]*(?:color-scheme|supported-color-schemes)[\"']?\s[^>]*content=[\"'][^\"']*dark"
    r"|(?<![-\w])color-scheme\s*:\s*[^;}\"']*dark",
    re.I,
)
_DARK_QUERY = re.compile(r"\(\s*prefers-color-scheme\s*:\s*(dark|light)\s*\)", re.I)


@dataclass(frozen=True, kw_only=True)
class TemplateError:
    """Why a template did not render, where, and the lines around it."""

    message: str
    file: str | None = None
    """The template file (relative to the templates folder), when known."""
    line: int | None = None
    excerpt: list[tuple[int, str]] = field(default_factory=list)
    """(line number, text) of the lines around ``line``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "excerpt": [{"line": n, "text": t} for n, t in self.excerpt],
        }


@dataclass(frozen=True, kw_only=True)
class Preview:
    """Every view of one rendered template variant (or its error)."""

    template: str
    variant: str
    error: TemplateError | None = None
    subject: str = ""
    text: str = ""
    html: str = ""
    raw: str = ""
    """The message as sent (utf-8), LF line ends for reading."""
    iso2022jp_raw: str | None = None
    """The ISO-2022-JP message, None when a character cannot be encoded."""
    iso2022jp_error: str | None = None
    phone_subject: list[dict[str, Any]] = field(default_factory=list)
    phone_text: list[dict[str, Any]] = field(default_factory=list)
    """The text as an ISO-2022-JP phone shows it: :func:`phone_view` segments."""
    garbled: list[str] = field(default_factory=list)
    """Characters outside JIS X 0208 (shown as 〓 on such a phone)."""
    lint: list[LintFinding] = field(default_factory=list)
    clients: SupportReport | None = None

    def to_dict(self, lang: Lang = "en") -> dict[str, Any]:
        """The JSON twin of the preview page; the lint findings worded in ``lang``."""
        return {
            "template": self.template,
            "variant": self.variant,
            "ok": self.error is None,
            "error": None if self.error is None else self.error.to_dict(),
            "subject": self.subject,
            "text": self.text,
            "raw": self.raw,
            "iso2022jp": {
                "raw": self.iso2022jp_raw,
                "error": self.iso2022jp_error,
                "subject": self.phone_subject,
                "text": self.phone_text,
                "garbled": self.garbled,
            },
            "lint": [f.worded(lang).to_dict() for f in self.lint],
            "clients": self.clients.to_dict(lang) if self.clients is not None else {},
        }


def phone_view(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """``text`` as a phone reading only ISO-2022-JP shows it.

    Segments ``{"text": ..., "ok": True}`` for what it shows as written and
    ``{"text": "〓", "ok": False, "char": "①", "code": "U+2460"}`` for each character
    outside ASCII and JIS X 0208 (RFC 1468), with the distinct ones in order.
    """
    segments: list[dict[str, Any]] = []
    garbled: dict[str, None] = {}
    run: list[str] = []
    for ch in text:
        try:
            ch.encode("iso-2022-jp")
        except UnicodeEncodeError:
            if run:
                segments.append({"text": "".join(run), "ok": True})
                run = []
            garbled[ch] = None
            segments.append({"text": GETA, "ok": False, "char": ch, "code": f"U+{ord(ch):04X}"})
        else:
            run.append(ch)
    if run:
        segments.append({"text": "".join(run), "ok": True})
    return segments, list(garbled)


def dark_html(html: str) -> str:
    """The HTML as a client in dark mode renders it, in a browser that is not.

    ``@media (prefers-color-scheme: dark)`` rules apply and ``light`` ones do not
    (a browser frame follows the browser's own setting, not its embedder's); a mail
    that says it supports dark (``color-scheme`` meta or CSS) gets the dark default
    colours such a client uses. A mail that says nothing stays light, as in Apple Mail.
    """
    swapped = _DARK_QUERY.sub(lambda m: "all" if m.group(1).lower() == "dark" else "not all", html)
    if _DECLARES_DARK.search(html):
        style = "<style>:root{color-scheme:dark}</style>"
        head = re.search(r"<head[^>]*>", swapped, re.I)
        at = head.end() if head else 0
        swapped = swapped[:at] + style + swapped[at:]
    return swapped


def _error(exc: TemplatingError, folder: Path) -> TemplateError:
    """The error with its template file and line: from the message (syntax errors) or
    from the traceback Jinja rewrites to point into the template (runtime errors)."""
    file: str | None = None
    line: int | None = None
    if m := _LOCATION.search(str(exc)):
        file, line = m.group("file"), int(m.group("line"))
    else:
        tb: TracebackType | None = exc.__cause__.__traceback__ if exc.__cause__ else None
        while tb is not None:
            name = tb.tb_frame.f_code.co_filename
            if name.endswith(".j2"):
                file, line = name, tb.tb_lineno
            tb = tb.tb_next
    excerpt: list[tuple[int, str]] = []
    if file is not None and line is not None:
        path = Path(file) if Path(file).is_absolute() else folder / file
        try:
            file = path.resolve().relative_to(folder.resolve()).as_posix()
            lines = path.read_text("utf-8").splitlines()
        except (OSError, ValueError, UnicodeDecodeError):
            lines = []
        excerpt = [
            (n, lines[n - 1]) for n in range(max(1, line - 2), min(len(lines), line + 2) + 1)
        ]
    return TemplateError(message=str(exc), file=file, line=line, excerpt=excerpt)


def preview(
    name: str,
    folder: Path,
    *,
    variant: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Preview:
    """Render one variant every way the preview shows it.

    ``overrides`` (``--context`` / ``--var``) replace the variant's sample values.
    An unknown template or variant raises
    :class:`~maildoctor.mail.templating.UnknownTemplate`; any other template error is
    returned in :attr:`Preview.error`.
    """
    info = load_template(name, folder)
    chosen = info.variant(variant)
    context = {**chosen.sample, **(overrides or {})}
    try:
        rendered = render_parts(
            name, to=PREVIEW_TO, context=context, variant=chosen.name, templates_dir=folder
        )
        msg = build_message(rendered, to=PREVIEW_TO)
    except TemplatingError as e:
        return Preview(template=name, variant=chosen.name, error=_error(e, folder))
    raw = msg.as_bytes()
    iso_raw: str | None = None
    iso_error: str | None = None
    try:
        iso = render_parts(
            name,
            to=PREVIEW_TO,
            context=context,
            variant=chosen.name,
            templates_dir=folder,
            charset="iso-2022-jp",
        )
        iso_raw = (
            build_message(iso, to=PREVIEW_TO, charset="iso-2022-jp").as_bytes().decode("ascii")
        )
    except TemplatingError as e:
        iso_error = str(e)
    phone_subject, garbled_subject = phone_view(rendered.subject)
    phone_text, garbled_text = phone_view(rendered.text)
    lint = lint_message(msg, template=name, raw=raw, token_url=one_time_url(context))
    return Preview(
        template=name,
        variant=chosen.name,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        raw=raw.decode("utf-8", "replace").replace("\r\n", "\n"),
        iso2022jp_raw=None if iso_raw is None else iso_raw.replace("\r\n", "\n"),
        iso2022jp_error=iso_error,
        phone_subject=phone_subject,
        phone_text=phone_text,
        garbled=list(dict.fromkeys(garbled_subject + garbled_text)),
        lint=list(lint),
        clients=client_support(rendered.html),
    )


def preview_catalog(folder: Path) -> list[dict[str, Any]]:
    """The templates and variants a preview can show (raises TemplatingError when the
    folder or a template.toml is broken)."""
    return [
        {
            "name": info.name,
            "subject": info.subject,
            "description": info.description,
            "variants": [{"name": v.name, "description": v.description} for v in info.variants],
        }
        for info in catalog(folder).values()
    ]
