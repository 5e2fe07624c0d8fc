"""What docomo, SoftBank, au, Gmail and Yahoo will do with the domain's mail, from the
sender audit's checks and the receivers' own announcements (``data/receivers.toml``).

:func:`receiver_rows` is the one function the ``sender`` report, the diagnose trial's
spoofing row and the template preview call. Pure: checks in, rows out.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from maildoctor.findings import Lang

__all__ = ["ReceiverRow", "receiver_for_carrier", "receiver_rows"]


@dataclass(frozen=True, kw_only=True)
class ReceiverRow:
    """One receiver's predicted treatment of the domain's mail."""

    receiver: str
    """``docomo``, ``softbank``, ``au``, ``gmail``, ``yahoo``."""
    name: str
    treatment: str
    """The outcome's id (``warning_banner``, ``spoofing_filter_rejects``...) or ``unknown``."""
    text: str
    """What happens, in the report's language."""
    source: str
    """The receiver's own page for the rule."""
    sources_also: tuple[str, ...]
    since: str
    """When the rule took effect (``YYYY-MM``)."""
    unknown_checks: tuple[str, ...] = ()
    """The checks whose being unknown made the row unknown."""
    carriers: tuple[str, ...] = ()
    """maildoctor carrier ids the row is about (``softbank`` and ``ymobile``)."""
    spoofing_filter: str | None = None
    """Whether the carrier's spoofing filter lets the mail through: ``pass``, ``fail``,
    ``unknown``; None when the row does not describe that filter."""
    checks: tuple[str, ...] = ()
    """Every check the receiver's outcomes rest on (for a "why")."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "receiver": self.receiver,
            "name": self.name,
            "treatment": self.treatment,
            "text": self.text,
            "source": self.source,
            "sources_also": list(self.sources_also),
            "since": self.since,
            "unknown_checks": list(self.unknown_checks),
            "spoofing_filter": self.spoofing_filter,
        }


@cache
def _data() -> dict[str, Any]:
    text = resources.files("maildoctor").joinpath("data/receivers.toml").read_text("utf-8")
    return tomllib.loads(text)


def _all(values: Sequence[bool | None], want: bool) -> bool | None:
    if any(v is (not want) for v in values):
        return False
    return None if None in values else True


def _holds(outcome: Mapping[str, Any], checks: Mapping[str, bool | None]) -> bool | None:
    """Three-valued: whether the outcome's conditions hold (None: a check is unknown)."""
    parts: list[bool | None] = []
    if outcome.get("when_true"):
        parts.append(_all([checks.get(c) for c in outcome["when_true"]], True))
    if outcome.get("when_false"):
        values = [checks.get(c) for c in outcome["when_false"]]
        parts.append(True if False in values else (None if None in values else False))
    if outcome.get("when_all_false"):
        parts.append(_all([checks.get(c) for c in outcome["when_all_false"]], False))
    if False in parts:
        return False
    return None if None in parts else True


def _row(receiver: Mapping[str, Any], checks: Mapping[str, bool | None], lang: Lang) -> ReceiverRow:
    common = {
        "receiver": receiver["id"],
        "name": receiver[f"name_{lang}"],
        "source": receiver["source"],
        "sources_also": tuple(receiver.get("sources_also", ())),
        "since": receiver.get("since", ""),
        "carriers": tuple(receiver.get("carriers", ())),
    }
    decides = any("filter" in o for o in receiver["outcome"])
    seen: list[str] = []
    for outcome in receiver["outcome"]:
        for key in ("when_true", "when_false", "when_all_false"):
            seen += [c for c in outcome.get(key, ()) if c not in seen]
    for outcome in receiver["outcome"]:
        holds = _holds(outcome, checks)
        if holds:
            return ReceiverRow(
                treatment=outcome["treatment"],
                text=outcome[f"text_{lang}"],
                spoofing_filter=outcome.get("filter"),
                checks=tuple(seen),
                **common,
            )
        if holds is None:
            unknown = tuple(
                dict.fromkeys(
                    c
                    for key in ("when_true", "when_false", "when_all_false")
                    for c in outcome.get(key, ())
                    if checks.get(c) is None
                )
            )
            text = _data()["labels"][f"unknown_{lang}"].format(checks=", ".join(unknown))
            return ReceiverRow(
                treatment="unknown",
                text=text,
                unknown_checks=unknown,
                spoofing_filter="unknown" if decides else None,
                checks=tuple(seen),
                **common,
            )
    raise ValueError(f"receivers.toml: {receiver['id']} has no outcome that always holds")


def receiver_rows(checks: Mapping[str, bool | None], lang: Lang = "ja") -> tuple[ReceiverRow, ...]:
    """Every receiver's row for a sending domain whose audit gave ``checks``
    (``SenderAudit.checks``: spf, dkim, dmarc, enforced, aligned, ptr, bimi)."""
    return tuple(_row(r, checks, lang) for r in _data()["receiver"])


def receiver_for_carrier(
    checks: Mapping[str, bool | None], carrier_id: str, lang: Lang = "ja"
) -> ReceiverRow | None:
    """The row for a maildoctor carrier id (``softbank`` and ``ymobile`` share one)."""
    return next((r for r in receiver_rows(checks, lang) if carrier_id in r.carriers), None)
