"""The bounce pattern tables (``maildoctor/data/bounce_patterns.toml``), loaded once.

The tables are data so that a support engineer who meets a new bounce wording
adds a line there, not a branch in code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import ahocorasick_rs

from maildoctor.bounce.reasons import current_name
from maildoctor.bounce.vocabulary import present_in

__all__ = ["CarrierRule", "MtaRule", "ReasonRule", "Tables", "detect_mta", "lhost_of", "tables"]


@dataclass(frozen=True, kw_only=True)
class MtaRule:
    """How to recognise the software or service that wrote a bounce."""

    name: str
    """Display name (``Postfix``, ``au (KDDI)``)."""
    headers: tuple[re.Pattern[str], ...]
    """Any of these matching the bounce's header block identifies it."""
    subject: tuple[re.Pattern[str], ...]
    """... or the subject."""
    sender: tuple[re.Pattern[str], ...]
    """... or the From header."""
    text: tuple[re.Pattern[str], ...]
    """... or the explanation text."""
    lhost: str = ""
    """The Sisimai Lhost module that reads this MTA's bounces (its message table)."""
    require_sender: re.Pattern[str] | None = None
    """When set, the From header must match too (a layout another MTA shares)."""


@dataclass(frozen=True, kw_only=True)
class ReasonRule:
    """One bounce reason: its words, its status codes, and what it means."""

    name: str
    """Sisimai reason name (``userunknown``)."""
    hard: bool
    """Whether retrying can never help (a hard bounce)."""
    advice: tuple[str, ...]
    """Advice catalog ids that fit."""
    summary: dict[str, str]
    """One line per language saying what happened."""


@dataclass(frozen=True, kw_only=True)
class CarrierRule:
    """A receiving provider whose words mean something else than they say."""

    name: str
    """Provider (``KDDI``)."""
    carrier: str
    """maildoctor carrier id, ``""`` when not a Japanese carrier."""
    hosts: tuple[re.Pattern[str], ...]
    """Remote MTA host names of the provider."""
    rules: tuple[tuple[re.Pattern[str], str, str, str], ...]
    """(pattern on the reply, status condition regex or "", reason, SMTP command or "")."""


@dataclass(frozen=True, kw_only=True)
class Tables:
    """All tables of the bounce data file."""

    mtas: tuple[MtaRule, ...]
    reasons: dict[str, ReasonRule]
    carriers: tuple[CarrierRule, ...]
    carrier_advice: dict[tuple[str, str], tuple[tuple[str, ...], dict[str, str]]]
    """(carrier id, reason) -> (advice ids replacing the reason's, summary by language)."""


def _rx(items: Any) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.I | re.M) for p in items or ())


_SPECIAL = set(".^$*+?{}[]()|\\")


def required_literals(pattern: str) -> tuple[str, ...]:
    """Lower-case ASCII texts every match of ``pattern`` contains: its literal runs
    outside groups and classes, ``\\.`` read as ``.``, a character a quantifier makes
    optional left out; none when the pattern alternates at its top level. A cheap
    presence test on them lets the scan skip the regex for rules that cannot match."""
    if pattern.startswith("(?") and len(pattern) > 3 and pattern[3] == ")":
        pattern = pattern[4:]  # an inline flag: (?s), (?i)
    runs: list[str] = []
    run: list[str] = []
    depth = 0
    in_class = False
    i = 0

    def close() -> None:
        text = "".join(run).lower()
        if len(text) >= 3 and text.isascii():
            runs.append(text)
        run.clear()

    while i < len(pattern):
        ch = pattern[i]
        if in_class:
            if ch == "\\":
                i += 1
            elif ch == "]":
                in_class = False
            i += 1
            continue
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt.isalnum():  # \S, \w, \d, \b...: a class or an anchor
                close()
                i += 2
                continue
            literal, step = nxt, 2
        elif ch == "[":
            close()
            in_class = True
            i += 1
            continue
        elif ch == "{":  # a quantifier's bounds ({6,7}): no text
            close()
            end = pattern.find("}", i)
            i = end + 1 if end > 0 else len(pattern)
            continue
        elif ch == "(":
            close()
            depth += 1
            i += 1
            continue
        elif ch == ")":
            depth -= 1
            i += 1
            continue
        elif ch == "|":
            if depth == 0:
                return ()
            i += 1
            continue
        elif ch in _SPECIAL:
            close()
            i += 1
            continue
        else:
            literal, step = ch, 1
        following = pattern[i + step : i + step + 1]
        if depth == 0:
            if following in ("?", "*", "{"):
                close()  # optional: not required
            else:
                run.append(literal)
        i += step
    close()
    return tuple(runs)


@cache
def tables() -> Tables:
    """Load and compile ``bounce_patterns.toml`` (once per process)."""
    text = resources.files("maildoctor").joinpath("data/bounce_patterns.toml").read_text("utf-8")
    data = tomllib.loads(text)
    mtas = tuple(
        MtaRule(
            name=m["name"],
            headers=_rx(m.get("headers")),
            subject=_rx(m.get("subject")),
            sender=_rx(m.get("sender")),
            text=_rx(m.get("text")),
            lhost=m.get("lhost", ""),
            require_sender=re.compile(m["require_sender"], re.I) if "require_sender" in m else None,
        )
        for m in data["mta"]
    )
    reasons = {
        current_name(name): ReasonRule(
            name=current_name(name),
            hard=bool(r.get("hard", False)),
            advice=tuple(r.get("advice", ())),
            summary=dict(r.get("summary", {})),
        )
        for name, r in data["reason"].items()
    }
    carriers = tuple(
        CarrierRule(
            name=c["name"],
            carrier=c.get("carrier", ""),
            hosts=_rx(c["hosts"]),
            rules=tuple(
                (re.compile(rule[0], re.I), rule[1], rule[2], rule[3] if len(rule) > 3 else "")
                for rule in c["rules"]
            ),
        )
        for c in data["rhost"]
    )
    return Tables(
        mtas=mtas,
        reasons=reasons,
        carriers=carriers,
        carrier_advice={
            (cid, current_name(reason)): (
                tuple(row["advice"]),
                {lang: row[f"note_{lang}"] for lang in ("ja", "en") if f"note_{lang}" in row},
            )
            for cid, by_reason in data.get("carrier_advice", {}).items()
            for reason, row in by_reason.items()
        },
    )


#: per field (headers, subject, sender, text): (rule index, literals, pattern) in rule order
_Entries = tuple[tuple[tuple[int, tuple[str, ...], re.Pattern[str]], ...], ...]


@cache
def _mta_entries() -> _Entries:
    rules = tables().mtas
    return tuple(
        tuple(
            (i, required_literals(p.pattern), p)
            for i, r in enumerate(rules)
            for p in (r.headers, r.subject, r.sender, r.text)[field]
        )
        for field in range(4)
    )


@cache
def _literal_finders() -> tuple[ahocorasick_rs.AhoCorasick | None, ...]:
    """Per field, every pattern's required literal, found in one pass over the field."""
    finders: list[ahocorasick_rs.AhoCorasick | None] = []
    for entries in _mta_entries():
        literals = sorted({literal for _, needed, _ in entries for literal in needed})
        finders.append(ahocorasick_rs.AhoCorasick(literals) if literals else None)
    return tuple(finders)


def detect_mta(*, headers: str, subject: str, sender: str, text: str) -> str:
    """Name of the software or service that wrote the bounce, ``""`` if unknown: the first
    rule (in the table's order) any of whose patterns matches its field. A pattern whose
    required literals the field lacks is not run (the literals are found in one pass, and
    only the patterns needing a literal found are looked at)."""
    rules = tables().mtas
    best = len(rules)
    fields = (headers, subject, sender, text)
    for entries, field, finder, by_literal, free in zip(
        _mta_entries(),
        fields,
        _literal_finders(),
        _entries_by_literal(),
        _free_entries(),
        strict=True,
    ):
        present = present_in(finder, field.lower()) if finder is not None else set()
        candidates = set(free)
        for literal in present:
            candidates.update(by_literal[literal])
        for k in sorted(candidates):
            i, needed, pattern = entries[k]
            if i >= best:
                break
            if needed and not all(literal in present for literal in needed):
                continue
            rule = rules[i]
            if rule.require_sender is not None and not rule.require_sender.search(sender):
                continue
            if pattern.search(field):
                best = i
                break
    return rules[best].name if best < len(rules) else ""


@cache
def _entries_by_literal() -> tuple[dict[str, tuple[int, ...]], ...]:
    """Per field: each required literal, the positions (in :func:`_mta_entries`) of the
    patterns that need it."""
    found: list[dict[str, tuple[int, ...]]] = []
    for entries in _mta_entries():
        by: dict[str, list[int]] = {}
        for k, (_, needed, _) in enumerate(entries):
            for literal in needed:
                by.setdefault(literal, []).append(k)
        found.append({literal: tuple(ks) for literal, ks in by.items()})
    return tuple(found)


@cache
def _free_entries() -> tuple[tuple[int, ...], ...]:
    """Per field, the positions of the patterns with no required literal (always run)."""
    return tuple(
        tuple(k for k, (_, needed, _) in enumerate(e) if not needed) for e in _mta_entries()
    )


def lhost_of(mta: str) -> str:
    """The Sisimai Lhost name of the MTA called ``mta`` by :func:`detect_mta`, ``""`` if none."""
    for rule in tables().mtas:
        if rule.name == mta:
            return rule.lhost
    return ""
