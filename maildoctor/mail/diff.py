"""What a template change does to the mail the customer reads.

Every template variant of two templates folders (a git revision's and the working
tree's) is rendered with its sample data, and the subject, the text part and the
HTML part as text (what the reader sees: one line per paragraph, links as
``text <url>``) are compared as a unified diff, so that a reviewer reads the
customer-facing difference of a pull request. Pure apart from reading the folders.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from maildoctor.mail.catalog import catalog
from maildoctor.mail.render import render_parts
from maildoctor.mail.templating import TemplatingError

__all__ = ["RenderedText", "TemplateDiff", "diff_folders", "format_diffs", "html_as_text"]

#: The recipient every template is rendered for when compared.
DIFF_RECIPIENT = "taro.yamada@docomo.ne.jp"

_BLOCKS = frozenset(
    {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "hr", "title"}
)
_SPACES = re.compile(r"[ \t\r\n\f]+")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0
        self._hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head"):
            self._skip += 1
        elif tag in _BLOCKS:
            self.out.append("\n")
        if tag == "a":
            self._hrefs.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.out.append("\n")
        elif tag == "a" and self._hrefs:
            href = self._hrefs.pop()
            if href:
                self.out.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)


def html_as_text(html: str) -> str:
    """The text a reader sees in an HTML part: one line per block, links as ``text <url>``."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parser.out).split("\n"))
    return "\n".join(line for line in lines if line) + "\n"


@dataclass(frozen=True, kw_only=True)
class RenderedText:
    """One template variant as the customer reads it."""

    subject: str
    text: str
    html_text: str


@dataclass(frozen=True, kw_only=True)
class TemplateDiff:
    """The unified diffs of one template variant (empty strings: no change)."""

    source: str
    """``template/variant``."""
    status: str
    """changed, added (only in the working tree) or removed (only in the revision)."""
    diff: str


def _render_all(folder: Path) -> dict[str, RenderedText | str]:
    """Every variant of a folder, by ``template/variant``; a str is a render error."""
    out: dict[str, RenderedText | str] = {}
    for info in catalog(folder).values():
        for variant in info.variants:
            key = f"{info.name}/{variant.name}"
            try:
                r = render_parts(
                    info.name, to=DIFF_RECIPIENT, variant=variant.name, templates_dir=folder
                )
            except TemplatingError as e:
                out[key] = f"(does not render: {e})\n"
                continue
            out[key] = RenderedText(
                subject=r.subject + "\n", text=r.text, html_text=html_as_text(r.html)
            )
    return out


def _pieces(value: RenderedText | str | None) -> dict[str, str]:
    if value is None:
        return {"subject": "", "text": "", "html": ""}
    if isinstance(value, str):
        return {"subject": value, "text": "", "html": ""}
    return {"subject": value.subject, "text": value.text, "html": value.html_text}


def diff_folders(base: Path, head: Path, *, base_label: str, head_label: str) -> list[TemplateDiff]:
    """The diffs of every template variant between two templates folders, by name."""
    old, new = _render_all(base), _render_all(head)
    found = []
    for key in sorted(set(old) | set(new)):
        a, b = _pieces(old.get(key)), _pieces(new.get(key))
        chunks = []
        for piece, label in (("subject", "subject"), ("text", "text/plain"), ("html", "text/html")):
            lines = difflib.unified_diff(
                a[piece].splitlines(keepends=True),
                b[piece].splitlines(keepends=True),
                fromfile=f"{base_label}/{key} ({label})",
                tofile=f"{head_label}/{key} ({label})",
            )
            chunks.append("".join(line if line.endswith("\n") else line + "\n" for line in lines))
        diff = "".join(chunks)
        if diff:
            status = "added" if key not in old else "removed" if key not in new else "changed"
            found.append(TemplateDiff(source=key, status=status, diff=diff))
    return found


def format_diffs(diffs: list[TemplateDiff]) -> str:
    """The diffs one after another, each under a line naming the variant."""
    return "".join(f"== {d.source} ({d.status})\n{d.diff}" for d in diffs)
