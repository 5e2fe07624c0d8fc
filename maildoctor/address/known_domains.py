"""What the typo suggester knows about real domains: the table it matches against.

Three sources, all data:

- ``data/popular_domains.toml``: the domains Japanese customers mean (targets),
  real look-alikes, mail domains whose subdomains are mailboxes, known typos
  and the endings only a slip produces;
- ``data/mail_domains_ispdb.txt``: Thunderbird's ISPDB, ~960 real mail domains
  worldwide (the country variants of Hotmail, Live, Outlook, Yahoo, GMX...);
- ``data/jp_mail_domains.toml``: Japanese ISP and campus mail domains, each with
  its source (Thunderbird's ISPDB, Hipo's university-domains-list); a subdomain of a
  campus domain is a mailbox domain (``st.kyoto-u.ac.jp``);
- the Public Suffix List bundled with ``publicsuffixlist`` (ICANN section, no
  network): which endings exist at all, so ``.cok`` is a slip and ``.co.th`` is
  a country.

The carrier domains of ``data/carriers.json`` are known too.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from publicsuffixlist import PublicSuffixList

from maildoctor.carriers import CARRIERS, carrier_for_domain

__all__ = ["DomainTable", "default_table", "is_known", "public_suffix", "split_domain"]


@dataclass(frozen=True, kw_only=True, eq=False)  # hashed by identity: a cache key
class DomainTable:
    """What the suggester knows (see data/popular_domains.toml for each field)."""

    targets: tuple[str, ...]
    """Domains a typo is corrected to, most popular first."""
    known: frozenset[str]
    """Domains never corrected: the targets, real look-alikes, the ISPDB."""
    suffixes: frozenset[str]
    """Real public suffixes (the Public Suffix List adds every other)."""
    suffix_slips: Mapping[str, str]
    """Endings only a slip produces, and the ending meant."""
    confusable: frozenset[str]
    """Real endings that are a slip after a popular name (.co, .cm, .ne, .co.jp...)."""
    explicit: Mapping[str, str]
    """Known typos and their correction."""
    parents: frozenset[str] = frozenset()
    """Mail domains whose subdomains are mailboxes (beach.ocn.ne.jp)."""
    top_targets: int = 0
    """The first this many targets are the big ones: a tie with a rarer one goes to them."""
    core_targets: int = 0
    """Targets before this index are the popular list; after it, Japan's ISPs and campuses
    (corrected for slips of their letters or of an ending that cannot exist, not for
    another real ending: keio.jp and keio.ac.jp are both the university's)."""
    campus: frozenset[str] = frozenset()
    """Campus domains: every subdomain of one is a mailbox domain (st.kyoto-u.ac.jp)."""
    check_carriers: bool = True
    """Also treat every carrier domain (and its subdomain patterns) as known."""


def _ispdb() -> list[str]:
    text = resources.files("maildoctor").joinpath("data/mail_domains_ispdb.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def _jp_domains() -> tuple[list[str], list[str]]:
    """(ISP domains, campus domains) of data/jp_mail_domains.toml."""
    text = resources.files("maildoctor").joinpath("data/jp_mail_domains.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    return list(raw.get("isp", {})), list(raw.get("campus", {}))


@cache
def default_table() -> DomainTable:
    """The shipped table: popular_domains.toml, the ISPDB and the carrier domains."""
    text = resources.files("maildoctor").joinpath("data/popular_domains.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    carrier_domains = [
        d for c in CARRIERS.values() for d in (*c.domains, *c.legacy_domains) if "*" not in d
    ]
    isp, campus = _jp_domains()
    real = set(raw["real"])
    # Japan's ISPs and campuses come after the popular domains: ties go to those.
    targets = tuple(
        dict.fromkeys([*raw["targets"], *(d for d in (*isp, *campus) if d not in real)])
    )
    explicit = dict(raw["explicit"])
    known = {*targets, *real, *carrier_domains, *_ispdb()} - set(explicit)
    return DomainTable(
        targets=targets,
        known=frozenset(known),
        suffixes=frozenset(raw["suffixes"]),
        suffix_slips=dict(raw["suffix_slips"]),
        confusable=frozenset(raw["confusable_suffixes"]),
        explicit=explicit,
        parents=frozenset(raw.get("parents", ())),
        core_targets=len(dict.fromkeys(raw["targets"])),
        campus=frozenset(campus),
        top_targets=int(raw.get("top_targets", 0)),
    )


@cache
def _psl() -> PublicSuffixList:
    # The list bundled with the package; accept_unknown=False: an ending the list
    # lacks (.cok, .jpp) is not a public suffix.
    return PublicSuffixList(only_icann=True, accept_unknown=False)


@lru_cache(maxsize=65536)
def public_suffix(domain: str) -> str | None:
    """The ICANN public suffix of ``domain`` (``co.jp``, ``com``), or None if its TLD is unreal."""
    if "." not in domain:
        return None
    return _psl().publicsuffix(domain)


def split_domain(domain: str, table: DomainTable) -> tuple[str, str]:
    """(name, ending): the longest slipped or public ending, else the last label."""
    labels = domain.split(".")
    real = public_suffix(domain)
    for n in range(min(3, len(labels) - 1), 0, -1):
        ending = ".".join(labels[-n:])
        if ending in table.suffix_slips or ending in table.suffixes or ending == real:
            return ".".join(labels[:-n]), ending
    return ".".join(labels[:-1]), labels[-1]


def real_ending(ending: str, table: DomainTable) -> bool:
    """An ending that exists (the table's list or the Public Suffix List)."""
    return ending in table.suffixes or public_suffix(f"x.{ending}") == ending


@lru_cache(maxsize=8)
def _target_parents(table: DomainTable) -> frozenset[str]:
    return frozenset(t.split(".", 1)[1] for t in table.targets if t.count(".") >= 2)


def is_known(domain: str, table: DomainTable) -> bool:
    """A real domain (or a mailbox subdomain of one): never corrected."""
    if domain in table.known:
        return True
    if table.check_carriers and carrier_for_domain(domain) is not None:
        return True
    labels = domain.split(".")
    for i in range(1, len(labels) - 1):
        parent = ".".join(labels[i:])
        if parent in table.campus:
            return True
        if parent in table.parents and parent not in _target_parents(table):
            return True
    return False
