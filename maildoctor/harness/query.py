"""The message search's query language, a small subset of Mailpit's (pure).

``taro to:docomo.ne.jp from:lentrance subject:"仮登録 完了" rule:refuse_pc
after:2026-12-01 before:2026-12-08 has:attachment tag:trial -junk``: words are ANDed;
a plain word matches part of the subject, the addresses, the decisions, the
Message-ID or the text of the body; ``field:value`` narrows it to one field; a
leading ``-`` negates a term; double quotes keep spaces in a value. An unknown
``name:`` is an ordinary word (``10:00`` or a URL are searched as typed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from maildoctor.errors import BadInput

__all__ = ["FIELDS", "QueryError", "Term", "parse_query", "time_bound"]

#: The ``field:`` prefixes the search knows.
FIELDS = frozenset({"to", "from", "subject", "rule", "before", "after", "has", "tag"})
#: What ``has:`` and ``tag:`` accept.
_HAS = frozenset({"attachment"})
_TAGS = frozenset({"trial"})
#: Longest query taken (each term is one SQL clause).
MAX_TERMS = 20


class QueryError(BadInput, ValueError):
    """A query that cannot be searched; the message says which term and why."""


@dataclass(frozen=True)
class Term:
    """One term: ``field`` is ``""`` for a plain word."""

    field: str
    value: str
    negated: bool = False


def _tokens(text: str) -> list[str]:
    """Split on spaces outside double quotes; the quotes are dropped."""
    tokens: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch.isspace() and not quoted:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        tokens.append("".join(current))
    return tokens


def time_bound(value: str) -> float:
    """``2026-12-07`` (midnight) or ``2026-12-07T10:30`` in the server's local time, as
    Unix time."""
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(
            f"{value!r} is not a date: write it as 2026-12-07 or 2026-12-07T10:30."
        ) from None
    return when.timestamp()


def parse_query(text: str) -> list[Term]:
    """The terms of ``text``; raises QueryError for a value a field cannot take."""
    terms: list[Term] = []
    for token in _tokens(text):
        negated = token.startswith("-") and len(token) > 1
        body = token[1:] if negated else token
        name, colon, value = body.partition(":")
        field = name.lower()
        if not colon or field not in FIELDS:
            terms.append(Term("", body, negated))
            continue
        if not value:
            raise QueryError(f"{name}: needs a value (for example {name}:docomo.ne.jp).")
        if field in ("before", "after"):
            time_bound(value)  # checked here, so that the error names the term
        elif field == "has" and value.lower() not in _HAS:
            raise QueryError(f"has:{value} is not known; has:attachment is.")
        elif field == "tag" and value.lower() not in _TAGS:
            raise QueryError(f"tag:{value} is not known; tag:trial (the desk's trials) is.")
        terms.append(Term(field, value.lower() if field in ("has", "tag") else value, negated))
    if len(terms) > MAX_TERMS:
        raise QueryError(f"The search has {len(terms)} terms; at most {MAX_TERMS} are taken.")
    return terms
