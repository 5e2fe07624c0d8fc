"""The words tables (data/words.toml): every section in both languages, same keys,
same ``{placeholders}``, so that switching the language never loses a sentence."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from maildoctor.mail.lint_rules import SEVERITIES, lint_words
from maildoctor.words import page_words, pages, sections


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


def test_every_page_has_both_languages_with_the_same_keys_and_fields() -> None:
    tables = pages()
    assert set(tables) == {"desk", "harness", "preview"}
    for page in tables:
        by_lang = page_words(page)
        assert set(by_lang) == {"ja", "en"}, page
        assert set(by_lang["ja"]) == set(by_lang["en"]), page
        for key, ja in by_lang["ja"].items():
            assert ja and by_lang["en"][key], (page, key)
            assert _fields(ja) == _fields(by_lang["en"][key]), (page, key)


def test_a_sentence_the_cli_says_too_is_not_repeated_for_a_page() -> None:
    """The desk's severities are words.toml's [severity], not a copy in page_words.toml."""
    assert page_words("desk")["ja"]["sev_warning"] == sections()["severity"]["ja"]["warning"]
    for page, by_lang in pages().items():
        assert not any(key.startswith("sev_") for key in by_lang["ja"]), page


@pytest.mark.parametrize("page", ["desk.js", "app.js", "preview.js"])
def test_no_page_script_carries_a_words_table(page: str) -> None:
    script = (Path(__file__).parent.parent / "maildoctor/web/static" / page).read_text("utf-8")
    assert "const WORDS" not in script
    assert not re.search(r"^\s*(ja|en): \{", script, re.M), page


def test_every_lint_rule_is_worded_in_both_languages_with_the_same_fields() -> None:
    table = lint_words()
    assert set(table) == set(SEVERITIES)
    for code, by_lang in table.items():
        assert set(by_lang) == {"ja", "en"}, code
        for part in ("message", "fix"):
            ja, en = by_lang["ja"][part], by_lang["en"][part]
            assert ja and en, (code, part)
            if re.sub(r"\{[^}]*\}|[:\s]", "", en):  # words, not only "{receiver}: {text}"
                assert ja != en, (code, part)
            assert _fields(ja) == _fields(en), (code, part)


def test_every_reply_draft_exists_in_both_languages() -> None:
    """A reply draft is chosen by language (words.toml [reply_templates]): one missing in a
    language would send that desk's agents another language's draft, or none."""
    replies = Path(__file__).parents[1] / "templates" / "replies"
    ja = {p.name for p in replies.glob("*.txt.j2")}
    en = {p.name for p in (replies / "en").glob("*.txt.j2")}
    assert ja and ja == en


def test_no_module_carries_a_words_table() -> None:
    """Words live in the data files: no dict literal in the code with "ja" and "en" keys
    whose values are written out (text, or a table of texts)."""
    package = Path(__file__).parents[1] / "maildoctor"
    found = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Dict):
                continue
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            written = any(isinstance(v, ast.Constant | ast.Dict) for v in node.values)
            if {"ja", "en"} <= keys and written:
                found.append(f"{path.relative_to(package)}:{node.lineno}")
    assert found == []


def test_every_bounce_reason_is_named_in_both_languages() -> None:
    """Each reason the classifier can give (bounce_patterns.toml [reason.*]) has a label:
    an agent's sentence never falls back to Sisimai's id."""
    from maildoctor.bounce.patterns import tables
    from maildoctor.words import reason_label

    for reason in tables().reasons:
        for lang in ("ja", "en"):
            assert reason_label(reason, lang) != reason, (reason, lang)
    assert set(sections()["reason_labels"]["ja"]) == set(tables().reasons)
    assert reason_label("", "ja") == "-" and reason_label("bounce_vendor_word", "en") == (
        "bounce_vendor_word"
    )
