"""Typo suggestions for the domain of an address: a pure function over a domain table.

The table (``data/popular_domains.toml`` plus the carrier domains of
``data/carriers.json``) lists the domains customers of a Japanese service
mean, the real domains that merely look like them, and the endings only a
slip produces. The order of the rules matters and says how sure we are:

1. a known domain (target, real look-alike, carrier domain) is never corrected;
2. a known typo from the table (``yahoo.jp`` → ``yahoo.co.jp``);
3. an ending no registry has (``.con``, ``.co.ip``, ``.jpp``) is fixed;
4. a popular name with a confused ending (``docomo.co.jp``, ``gmail.co``);
5. a letter slip (insertion, deletion, substitution, transposition), within
   one edit for short names and two for long ones, when exactly one popular
   domain is that close.

Ties abstain: a wrong guess costs the customer more than no guess.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from rapidfuzz.distance import OSA

from maildoctor.carriers import CARRIERS, carrier_for_domain

__all__ = ["DomainTable", "TypoSuggestion", "default_table", "distance", "suggest_domain"]


@dataclass(frozen=True, kw_only=True)
class TypoSuggestion:
    """A likely correction of a mistyped domain."""

    domain: str
    """The domain as typed (lower case)."""
    suggested: str
    """The domain the customer probably meant."""
    rule: str
    """Which rule found it: ``explicit``, ``suffix``, ``confused_suffix`` or ``letters``."""


@dataclass(frozen=True, kw_only=True, eq=False)  # hashed by identity: a cache key
class DomainTable:
    """What the suggester knows (see data/popular_domains.toml for each field)."""

    targets: tuple[str, ...]
    """Domains a typo is corrected to, most popular first."""
    known: frozenset[str]
    """Domains never corrected: the targets and real look-alikes."""
    suffixes: frozenset[str]
    """Real public suffixes."""
    suffix_slips: Mapping[str, str]
    """Endings only a slip produces, and the ending meant."""
    confusable: frozenset[str]
    """Real endings that are a slip after a popular name."""
    explicit: Mapping[str, str]
    """Known typos and their correction."""
    check_carriers: bool = True
    """Also treat every carrier domain (and its subdomain patterns) as known."""


@cache
def default_table() -> DomainTable:
    """The table shipped in data/popular_domains.toml, with the carrier domains added."""
    text = resources.files("maildoctor").joinpath("data/popular_domains.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    carrier_domains = [
        d for c in CARRIERS.values() for d in (*c.domains, *c.legacy_domains) if "*" not in d
    ]
    targets = tuple(dict.fromkeys([*raw["targets"]]))
    return DomainTable(
        targets=targets,
        known=frozenset([*targets, *raw["real"], *carrier_domains]),
        suffixes=frozenset(raw["suffixes"]),
        suffix_slips=dict(raw["suffix_slips"]),
        confusable=frozenset(raw["confusable_suffixes"]),
        explicit=dict(raw["explicit"]),
    )


def distance(a: str, b: str, limit: int = 3) -> int:
    """Optimal-string-alignment distance (Damerau-Levenshtein without re-edits).

    An adjacent transposition counts as one edit, as a keyboard slip does.
    Returns ``limit + 1`` as soon as the distance is known to exceed ``limit``.
    rapidfuzz computes it in C: about 18x faster over the popular-domain table,
    which matters for member lists with many distinct company domains.
    """
    return int(OSA.distance(a, b, score_cutoff=limit))


# A confused ending's family: .co/.cm are a short .com, a bare .ne a short .ne.jp.
_FAMILY = {"co": "com", "cm": "com", "om": "com", "ne": "jp", "jo": "jp"}


def _split(domain: str, table: DomainTable) -> tuple[str, str]:
    """(name, suffix) with the longest known or slipped suffix; else the last label."""
    labels = domain.split(".")
    for n in range(min(3, len(labels) - 1), 0, -1):
        suffix = ".".join(labels[-n:])
        if suffix in table.suffixes or suffix in table.suffix_slips:
            return ".".join(labels[:-n]), suffix
    return ".".join(labels[:-1]), labels[-1]


@lru_cache(maxsize=8)
def _parts(table: DomainTable) -> tuple[tuple[str, str, str], ...]:
    """(target, name, suffix) of every target, split once per table."""
    return tuple((t, *_split(t, table)) for t in table.targets)


def _is_known(domain: str, table: DomainTable) -> bool:
    if domain in table.known:
        return True
    return table.check_carriers and carrier_for_domain(domain) is not None


def suggest_domain(domain: str, table: DomainTable | None = None) -> TypoSuggestion | None:
    """The domain the customer probably meant, or None when unsure (or it is right)."""
    table = table or default_table()
    return _suggest(domain.lower().rstrip("."), table)


@lru_cache(maxsize=65536)
def _suggest(domain: str, table: DomainTable) -> TypoSuggestion | None:
    if "." not in domain or _is_known(domain, table):
        return None

    def found(suggested: str, rule: str) -> TypoSuggestion:
        return TypoSuggestion(domain=domain, suggested=suggested, rule=rule)

    if domain in table.explicit:
        return found(table.explicit[domain], "explicit")
    name, suffix = _split(domain, table)
    if not name:
        return None
    if suffix in table.suffix_slips:
        fixed = f"{name}.{table.suffix_slips[suffix]}"
        if _is_known(fixed, table):
            return found(fixed, "suffix")
        deeper = _suggest(fixed, table)
        if deeper is not None:
            return found(deeper.suggested, deeper.rule)
        # A made-up ending is wrong whatever the name; fix it only for a plain
        # name (mail.company.cmo may be a host name, not a slip).
        return found(fixed, "suffix") if "." not in name else None
    if suffix in table.confusable or suffix not in table.suffixes:
        same_name = [t for t, t_name, _ in _parts(table) if t_name == name and t != domain]
        if same_name and len(name) >= 3:
            # Prefer the ending in the same family (.jp for .jp, .com for .com).
            family = _FAMILY.get(suffix, suffix.rsplit(".", 1)[-1])
            same_family = [t for t in same_name if t.rsplit(".", 1)[-1] == family]
            return found((same_family or same_name)[0], "confused_suffix")
    return _letter_slip(domain, name, suffix, table, found)


def _letter_slip(
    domain: str,
    name: str,
    suffix: str,
    table: DomainTable,
    found: Callable[[str, str], TypoSuggestion],
) -> TypoSuggestion | None:
    real_suffix = suffix in table.suffixes and suffix not in table.confusable
    best: list[str] = []
    best_d = 99
    for target, t_name, t_suffix in _parts(table):
        if real_suffix and t_suffix != suffix:
            # A real ending (yahoo.co.uk) is not a slip of another (yahoo.co.jp):
            # only the name may be mistyped, or the whole domain by one key.
            if distance(domain, target, 1) == 1 and len(target) >= 8:
                d = 1
            else:
                continue
        else:
            limit = 1 if len(t_name) <= 5 else 2
            d = distance(domain, target, limit)
            if d > limit:
                continue
        if d < best_d:
            best, best_d = [target], d
        elif d == best_d:
            best.append(target)
    if len(best) == 1:
        return found(best[0], "letters")
    return None
