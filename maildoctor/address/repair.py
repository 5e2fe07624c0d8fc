"""Undo the slips that break an address's syntax, the way people make them: pure functions.

A customer who types ``docomo,ne.jp``, ``gmail..com``, ``@.docomo.ne.jp``,
``gmail.com.``, ``ｔａｒｏ＠ｇｍａｉｌ。ｃｏｍ`` or ``so－net`` meant an address
that can be written down; :func:`repair` writes it down, and the typo matcher
then judges the domain it got (which may still lack its ending: ``taro@gmail``).

What a Japanese IME produces in place of ASCII: the full-width forms block
(U+FF01-FF5E), the ideographic space, the full stops ``。`` ``｡`` and the commas
``、`` ``､`` typed for ``.``, and the long-vowel mark ``ー`` (or a dash from the
symbol palette) typed for ``-``. NFKC folds the full-width forms; the rest is
mapped here.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fix_at_signs", "fold_ime", "ime_input", "repair", "trim_prose"]

_IME_CHARS = re.compile(r"[\uFF01-\uFF5E\u3000\u3001\u3002\uFF61\uFF64]")
_IME_STOPS = str.maketrans({"\u3002": ".", "\uff61": ".", "\u3001": ".", "\uff64": "."})
#: Marks typed for "-": the long-vowel mark (full and half width), hyphens and dashes.
_DASHES = "\u30fc\uff70\uff0d\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_DASH_RE = re.compile(f"[{_DASHES}]")
_AT_RE = re.compile("[@\uff20]")
#: A doubled @ (a key pressed twice, or 「＠」 typed after the ASCII one by the IME).
_AT_RUNS = re.compile("@{2,}")
_SEPARATORS = re.compile(r"[,;]")
_DOT_RUNS = re.compile(r"\.{2,}")


def _dash_slips(raw: str) -> bool:
    """A dash look-alike in a part (before or after the @) that is otherwise ASCII.

    ``so－net.ne.jp`` is a slip; ``ヤマダー@example.jp`` is a Japanese local part.
    """
    if not _DASH_RE.search(raw):
        return False
    return any(
        _DASH_RE.search(part) and _DASH_RE.sub("", part).isascii() for part in _AT_RE.split(raw)
    )


#: White space a phone or IME leaves: before or after the address, or beside a dot or
#: the @ (autocorrect's space after a full stop). "taro yamada@" is a different mistake.
_STRAY_SPACE = re.compile(r"^\s|\s$|\s[.@]|[.@]\s")


def ime_input(raw: str, *, spaces: bool = True) -> bool:
    """The input holds characters an IME types in place of ASCII (or stray white space)."""
    if _IME_CHARS.search(raw) or _dash_slips(raw):
        return True
    return spaces and raw.strip() != "" and bool(_STRAY_SPACE.search(raw))


def _fold_dashes(text: str) -> str:
    parts = text.split("@")
    return "@".join(
        _DASH_RE.sub("-", part) if _DASH_RE.sub("", part).isascii() else part for part in parts
    )


def fold_ime(raw: str) -> str:
    """The address a customer meant when typing through a Japanese IME.

    NFKC folds full-width letters, digits, ``＠`` and ``．`` to ASCII; ``。``,
    ``｡``, ``、`` and ``､`` become ``.``; ``ー`` and dashes become ``-`` in a part
    that is otherwise ASCII; all white space is removed (it is never part of an
    address typed into a form).
    """
    folded = unicodedata.normalize("NFKC", raw.translate(_IME_STOPS)).translate(_IME_STOPS)
    folded = _fold_dashes(folded)
    return "".join(ch for ch in folded if not ch.isspace())


#: Japanese words (kana, kanji, half-width kana): what a customer writes around an
#: address (「taro@docomo.ne.jpです」), never a part of the ASCII address inside them.
_PROSE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
#: An ASCII address as RFC 5322's atoms allow it, dots included (trimmed after).
_ASCII_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


def trim_prose(text: str) -> str:
    """``text`` cut to the one ASCII address inside the Japanese words around it.

    ``山田です.taro@docomo.ne.jpです`` (an IME's 「。」 already folded) is
    ``taro@docomo.ne.jp``: kept whole, the words would be read as a Unicode local
    part and an IDN label (``docomo.ne.xn--jp-883a6b``). Unchanged without such
    words, without exactly one ASCII address, or when the Japanese is the address's
    own (``ヤマダー@example.jp``, ``taro@例え.jp``: no ASCII address with a dotted
    domain in them).
    """
    if text.isascii() or not _PROSE.search(text):
        return text
    found = _ASCII_ADDRESS.findall(text)
    if len(found) != 1:
        return text
    local, _, domain = found[0].strip(".").partition("@")
    if not local or "." not in domain.strip("."):
        return text
    return f"{local}@{domain.strip('.')}"


def fix_at_signs(text: str) -> str:
    """``text`` with a doubled ``@`` made one and an ``@`` at either end dropped."""
    return _AT_RUNS.sub("@", text).strip("@")


def repair(raw: str) -> str | None:
    """The address with syntax-breaking slips undone, or None when there is no ``@`` to split at.

    IME characters and white space are folded, Japanese words written around an ASCII
    address are cut away (:func:`trim_prose`); a doubled ``@`` becomes one and an
    ``@`` left at either end goes (``taro@@docomo.ne.jp``, ``taro@docomo.ne.jp@``);
    in the domain, a comma or semicolon becomes a dot, runs of dots become one,
    leading and trailing dots go, and it is lower-cased. The result is not
    checked: it may still be invalid (an ending left out, two addresses run
    together), for the matcher to finish.
    """
    text = fix_at_signs(trim_prose(fold_ime(raw)))
    if "@" not in text:
        return None
    local, _, domain = text.rpartition("@")
    domain = _DOT_RUNS.sub(".", _SEPARATORS.sub(".", domain.lower())).strip(".")
    if not local or not domain:
        return None
    return f"{local}@{domain}"
