"""The product's own words (headings, labels, summary sentences) in Japanese and English.

Kept in ``data/words.toml``, one table per place they are shown, so that the CLI,
the desk and the reply drafts word one fact the same way and a translator edits one
file; code picks a table by language and never branches on it.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from maildoctor.findings import Lang

__all__ = ["sections", "words"]


@cache
def sections() -> dict[str, dict[str, dict[str, str]]]:
    """Every table: ``{section: {lang: {key: text}}}``."""
    text = resources.files("maildoctor").joinpath("data/words.toml").read_text("utf-8")
    return tomllib.loads(text)


def words(section: str, lang: Lang) -> dict[str, str]:
    """The ``section`` table in ``lang`` (a KeyError names a missing section)."""
    return sections()[section][lang]
