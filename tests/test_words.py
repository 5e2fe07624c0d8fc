"""The words tables (data/words.toml): every section in both languages, same keys,
same ``{placeholders}``, so that switching the language never loses a sentence."""

from __future__ import annotations

import string

from maildoctor.words import sections


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_section_has_both_languages_with_the_same_keys_and_fields() -> None:
    tables = sections()
    assert tables
    for name, by_lang in tables.items():
        assert set(by_lang) == {"ja", "en"}, name
        assert set(by_lang["ja"]) == set(by_lang["en"]), name
        for key, ja in by_lang["ja"].items():
            assert _fields(ja) == _fields(by_lang["en"][key]), (name, key)
