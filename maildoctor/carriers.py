"""Japanese mobile-carrier mail: which domains belong to which carrier, and their filters.

The facts live in ``data/carriers.json`` (curated from the researched
``docs/carriers-jp.source.json``, which cites a source for each); this module
only looks them up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal

SENDER_DOMAIN = "lentrance.com"
"""The domain Lentrance sends from, which the FAQ tells customers to allow."""

SettingKind = Literal[
    "receive_list", "deny_list", "refuse_pc", "refuse_url", "spoofing", "spam_filter", "spam_folder"
]
Outcome = Literal["delivered", "junk", "filtered", "rejected"]


@dataclass(frozen=True, kw_only=True)
class CarrierSetting:
    """One of a carrier's receive-filter settings, as the customer sees it."""

    kind: SettingKind
    """What the setting does, in maildoctor's terms (the harness simulates these kinds)."""
    name_ja: str
    """The setting's name on the carrier's own screens."""
    name_en: str
    """An English gloss of the name."""
    steps_ja: str
    """What the customer does there so that mail from lentrance.com arrives."""
    steps_en: str

    def name(self, lang: str) -> str:
        return self.name_ja if lang == "ja" else self.name_en

    def steps(self, lang: str) -> str:
        return self.steps_ja if lang == "ja" else self.steps_en


@dataclass(frozen=True, kw_only=True)
class Carrier:
    """A Japanese mobile carrier's mail service (contract id, domains, filters)."""

    id: str
    """Contract id: docomo, au, softbank, ymobile, rakuten, uqmobile."""
    name_ja: str
    name_en: str
    domains: tuple[str, ...]
    """Current domains; ``*.x`` matches any subdomain of x."""
    legacy_domains: tuple[str, ...]
    """Domains no longer issued that still receive mail."""
    legacy_local_parts: bool
    """Whether the carrier once issued RFC-violating local parts (``a..b@``, ``abc.@``)."""
    filtered_outcome: Outcome
    """What the carrier does with mail its filters catch: docomo files it as junk
    since 2025, au rejects it at SMTP, the others drop it (as far as is known)."""
    reject_reply: tuple[int, str] | None
    """The SMTP reply of a filter rejection, when the carrier rejects (au: 550 User unknown)."""
    note_ja: str
    note_en: str
    settings: tuple[CarrierSetting, ...]
    defaults_on: tuple[str, ...] = ()
    """Filter kinds that are on for a new contract (au, SoftBank, Y!mobile: spoofing)."""
    filter_order: tuple[str, ...] | None = None
    """The order in which the filters apply, when the receive list does not come first."""
    sources: tuple[str, ...]

    def name(self, lang: str) -> str:
        return self.name_ja if lang == "ja" else self.name_en

    def note(self, lang: str) -> str:
        return self.note_ja if lang == "ja" else self.note_en

    def setting(self, kind: str) -> CarrierSetting | None:
        return next((s for s in self.settings if s.kind == kind), None)

    def matches(self, domain: str) -> bool:
        return any(_domain_matches(domain, p) for p in (*self.domains, *self.legacy_domains))


def _domain_matches(domain: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return domain.endswith(pattern[1:])
    return domain == pattern


def _carrier(raw: dict[str, Any]) -> Carrier:
    reply = raw["reject_reply"]
    return Carrier(
        id=raw["id"],
        name_ja=raw["name_ja"],
        name_en=raw["name_en"],
        domains=tuple(raw["domains"]),
        legacy_domains=tuple(raw["legacy_domains"]),
        legacy_local_parts=raw["legacy_local_parts"],
        filtered_outcome=raw["filtered_outcome"],
        reject_reply=(reply[0], reply[1]) if reply else None,
        note_ja=raw["note_ja"],
        note_en=raw["note_en"],
        settings=tuple(CarrierSetting(**s) for s in raw["settings"]),
        defaults_on=tuple(raw.get("defaults_on", ())),
        filter_order=tuple(raw["filter_order"]) if raw.get("filter_order") else None,
        sources=tuple(raw["sources"]),
    )


@cache
def _load() -> dict[str, Any]:
    text = resources.files("maildoctor").joinpath("data/carriers.json").read_text("utf-8")
    return json.loads(text)


CARRIERS: dict[str, Carrier] = {c["id"]: _carrier(c) for c in _load()["carriers"]}
"""Every carrier by contract id."""

NOT_CARRIER_MAIL: frozenset[str] = frozenset(_load()["not_carrier_mail"])
"""Phone-related domains that carriers do not treat as carrier mail (webmail, MVNO, ISP)."""


def _pattern_index() -> tuple[dict[str, int], dict[str, int]]:
    """Each domain pattern -> the first carrier (by its place in CARRIERS) that names it:
    exact ones as they are, ``*.x`` ones by ``.x``."""
    exact: dict[str, int] = {}
    wild: dict[str, int] = {}
    for i, carrier in enumerate(CARRIERS.values()):
        for pattern in (*carrier.domains, *carrier.legacy_domains):
            if pattern.startswith("*."):
                wild.setdefault(pattern[1:], i)
            else:
                exact.setdefault(pattern, i)
    return exact, wild


_EXACT, _WILD = _pattern_index()
_IN_ORDER = tuple(CARRIERS.values())


@lru_cache(maxsize=65536)
def carrier_for_domain(domain: str) -> Carrier | None:
    """The carrier whose mail service ``domain`` (lower-case, ASCII) belongs to, if any:
    the first whose patterns match (:meth:`Carrier.matches`), found by looking the
    domain and its parents up instead of trying 61 patterns (a batch's every new domain
    asks, through the typo search's "is it real?")."""
    domain = domain.lower().rstrip(".")
    if domain in NOT_CARRIER_MAIL:
        return None
    found = [_EXACT.get(domain)]
    found += [_WILD.get(domain[i:]) for i, ch in enumerate(domain) if ch == "."]
    hits = [i for i in found if i is not None]
    return _IN_ORDER[min(hits)] if hits else None
