"""The advice catalog: the support FAQ's checklist, as data (``data/advice.toml``)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from maildoctor.carriers import SENDER_DOMAIN, Carrier
from maildoctor.findings import Lang
from maildoctor.tickets import CONTRACT_SUBJECTS, DEFAULT_TICKET, TICKETS
from maildoctor.words import words


@dataclass(frozen=True, kw_only=True)
class Advice:
    """One piece of advice to the customer."""

    id: str
    title: dict[str, str]
    """By language: ``{"ja": ..., "en": ...}``."""
    text: dict[str, str]
    """By language; may hold ``{carrier_steps}``, ``{sender_domain}`` and ``{subject}``."""
    covers: tuple[str, ...] = ()
    """Advice this one already says (typing the address again in half-width is
    registering again): left out where this one is given, so no draft says it twice."""


#: The subject advice names when the caller does not say which mail it is about:
#: that of the default ticket's mail (the FAQ's case, the provisional registration).
DEFAULT_SUBJECT = CONTRACT_SUBJECTS[TICKETS[DEFAULT_TICKET].template]


@cache
def _catalog() -> dict[str, Advice]:
    text = resources.files("maildoctor").joinpath("data/advice.toml").read_text("utf-8")
    return {
        advice_id: Advice(
            id=advice_id,
            title={"ja": row["title_ja"], "en": row["title_en"]},
            text={"ja": row["text_ja"], "en": row["text_en"]},
            covers=tuple(row.get("covers", ())),
        )
        for advice_id, row in tomllib.loads(text).items()
    }


CATALOG: dict[str, Advice] = _catalog()
"""Every piece of advice by id."""

_STEP_ORDER = (
    "spam_folder",
    "receive_list",
    "refuse_pc",
    "refuse_url",
    "spoofing",
    "spam_filter",
    "deny_list",
)


def carrier_steps(carrier: Carrier, lang: Lang) -> list[str]:
    """The carrier's setting names with the steps to let lentrance.com through, in the
    order a customer should try them (the spam folder first, where the carrier has one)."""
    ordered = sorted(carrier.settings, key=lambda s: _STEP_ORDER.index(s.kind))
    return [f"{s.name(lang)}: {s.steps(lang)}" for s in ordered]


def advice_text(
    advice_id: str,
    lang: Lang,
    carrier: Carrier | None = None,
    *,
    subject: str = DEFAULT_SUBJECT,
) -> tuple[str, str]:
    """The (title, body) of one piece of advice, with carrier steps filled in and
    ``subject``, the subject of the mail the ticket is about."""
    entry = CATALOG[advice_id]
    if carrier is not None:
        intro = words("advice", lang)["carrier_intro"].format(carrier=carrier.name(lang))
        steps = "\n".join([intro, *(f"- {s}" for s in carrier_steps(carrier, lang))])
    else:
        steps = ""
    body = (
        entry.text[lang]
        .format(carrier_steps=steps, sender_domain=SENDER_DOMAIN, subject=subject)
        .strip()
    )
    return entry.title[lang], body


def advice_for(findings_advice: list[tuple[str, ...]]) -> list[str]:
    """Merge the advice ids of several findings, keeping first-seen order, once each
    (and without advice another one given already says: :func:`uncovered`)."""
    seen: dict[str, None] = {}
    for ids in findings_advice:
        for advice_id in ids:
            seen.setdefault(advice_id, None)
    return uncovered(seen)


def uncovered(ids: Iterable[str]) -> list[str]:
    """``ids`` once each, in order, without those that another of them ``covers``."""
    unique = list(dict.fromkeys(ids))
    covered = {c for a in unique if a in CATALOG for c in CATALOG[a].covers}
    return [a for a in unique if a not in covered]
