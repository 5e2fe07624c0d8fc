"""The ticket-text scanner: the same addresses as a reference pattern, at any size.

``scan_addresses`` replaced a backtracking pattern that was quadratic on a run of
address characters with no ``@``; these tests hold it to that pattern's answers
on small texts (hypothesis) and to the right answer on large ones. Speed itself
is measured by bench/scan_bench.py, not here.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from maildoctor.address.intake import find_addresses, scan_addresses

# The pattern find_addresses used before the scanner (fine on short texts), with the
# local part limited to the full-width forms of atext characters, as the scanner reads it.
_ATEXT = "A-Za-z0-9.!#$%&'*+/=?^_`{|}~\\-"
_FW_ATEXT = "".join(
    chr(ord(c) + 0xFEE0)
    for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+/=?^_`{|}~-"
)
_LOCAL = f"[{_ATEXT}{re.escape(_FW_ATEXT)}]+"
_LABEL = r"[A-Za-z0-9\-\uFF0D\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A]+"
_REFERENCE = re.compile(rf"{_LOCAL}[@\uFF20]{_LABEL}(?:[.\uFF0E]{_LABEL})+")


def reference(text: str) -> list[str]:
    found = (m.group(0).strip(".\uff0e") for m in _REFERENCE.finditer(text))
    # A local part of dots only (".@a.a") is no address once its dots go: the scanner
    # drops it rather than offer "@a.a" to the agent.
    return list(dict.fromkeys(f for f in found if f[0] not in "@\uff20"))


#: Characters that make and break addresses, Japanese prose and IME forms among them.
_ALPHABET = st.sampled_from(
    [*"ab.-@_+,;: \n", "＠", "．", "ａ", "－", "。", "、", "ー", "（", "）", "「", "登", "は"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_same_addresses_as_the_reference_pattern(text: str) -> None:
    assert find_addresses(text) == reference(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_slips_find_a_superset_at_the_same_places(text: str) -> None:
    """Reading IME slips never loses an address the strict scan finds."""
    strict = scan_addresses(text)
    lenient = scan_addresses(text, slips=True)
    for found in strict:
        assert any(f.start <= found.start and found.end <= f.end for f in lenient), (found, lenient)


def test_positions_are_the_text() -> None:
    text = "登録したアドレスはtaro@docomo.ne.jpです。旧アドレス（ｈａｎａｋｏ＠ａｕ．ｃｏｍ）"
    found = scan_addresses(text)
    assert [f.text for f in found] == ["taro@docomo.ne.jp", "ｈａｎａｋｏ＠ａｕ．ｃｏｍ"]
    assert all(text[f.start : f.end] == f.text for f in found)


def test_ime_slips_read_only_when_asked() -> None:
    text = "アドレスはtaro@gmailーcomとtaro@gmail、comです。a@x.jp,b@y.jp"
    assert find_addresses(text) == ["a@x.jp", "b@y.jp"]
    lenient = [f.text for f in scan_addresses(text, slips=True)]
    assert lenient == ["taro@gmailーcom", "taro@gmail、com", "a@x.jp", "b@y.jp"]
    assert [f.text for f in scan_addresses("taro@@gmail.com", slips=True)] == ["taro@@gmail.com"]


def test_large_inputs_give_the_right_answer() -> None:
    """The inputs that took seconds to minutes with the pattern (a run with no ``@``,
    an ``@`` and an endless label, dots) and an address after each."""
    blobs = ("a" * 200_000, "a." * 100_000, "a@" + "b" * 200_000, "@" * 200_000, "a@b" * 60_000)
    for blob in blobs:
        text = blob + " 連絡先 taro@docomo.ne.jp"
        assert find_addresses(text)[-1] == "taro@docomo.ne.jp"
        assert scan_addresses(text, slips=True)[-1].text == "taro@docomo.ne.jp"
    many = " ".join(f"user{i}@example{i % 7}.jp" for i in range(20_000))
    assert len(find_addresses(many)) == 20_000
