"""The product's own words (headings, labels, summary sentences) in Japanese and English.

Kept in ``data/words.toml``, one table per place they are shown, so that the CLI,
the desk and the reply drafts word one fact the same way and a translator edits one
file; code picks a table by language and never branches on it.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Literal

from maildoctor.findings import Lang

__all__ = [
    "Surface",
    "display_width",
    "for_surface",
    "page_words",
    "pages",
    "reason_label",
    "sections",
    "words",
]

#: Where a sentence is shown: the CLI may name its own flags (``--offline``); the desk
#: is a page for agents who never open a terminal, and says what is true on the desk.
Surface = Literal["cli", "desk"]


@cache
def sections() -> dict[str, dict[str, dict[str, str]]]:
    """Every table: ``{section: {lang: {key: text}}}``."""
    text = resources.files("maildoctor").joinpath("data/words.toml").read_text("utf-8")
    return tomllib.loads(text)


def words(section: str, lang: Lang) -> dict[str, str]:
    """The ``section`` table in ``lang`` (a KeyError names a missing section)."""
    return sections()[section][lang]


def for_surface(table: Mapping[str, str], key: str, surface: Surface) -> str:
    """``table[key]`` as ``surface`` words it: its own ``{key}_{surface}`` entry when the
    data has one (the desk's "this desk is set up without DNS"), else ``key``'s."""
    return table.get(f"{key}_{surface}") or table[key]


def reason_label(reason: str, lang: Lang) -> str:
    """A bounce reason's name in ``lang`` (``userunknown``: ``宛先不明``); a name no table
    knows (an ESP's own word in a delivery record) is shown as it came, none as ``-``."""
    return words("reason_labels", lang).get(reason) or reason or "-"


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: a wide (Japanese) character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@cache
def pages() -> dict[str, dict[str, dict[str, str]]]:
    """The web pages' own tables (``data/page_words.toml``): ``{page: {lang: {key: text}}}``."""
    text = resources.files("maildoctor").joinpath("data/page_words.toml").read_text("utf-8")
    return tomllib.loads(text)


#: Words a page shows that the CLI shows too: ``{page: {key prefix: words.toml section}}``,
#: so that each sentence stays in one place.
SHARED: dict[str, dict[str, str]] = {
    "desk": {"sev_": "severity"},
    "preview": {"sev_": "severity"},
}


def page_words(page: str) -> dict[str, dict[str, str]]:
    """Everything ``page`` shows, by language: its own table plus the shared sections
    (a KeyError names an unknown page)."""
    tables = pages()[page]
    merged: dict[str, dict[str, str]] = {}
    for lang, own in tables.items():
        merged[lang] = dict(own)
        for prefix, section in SHARED.get(page, {}).items():
            merged[lang].update({prefix + k: v for k, v in sections()[section][lang].items()})
    return merged
