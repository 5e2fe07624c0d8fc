"""Typo suggestions for the domain of an address: a pure function over a domain table.

The table (:mod:`maildoctor.address.known_domains`) lists the domains customers
of a Japanese service mean, the real domains that merely look like them, and
which endings exist. The rules, in the order they are tried, say how sure we are:

1. a real domain (target, real look-alike, ISPDB entry, carrier domain, a
   mailbox subdomain of an ISP) is never corrected;
2. a known typo from the table (``yahoo.jp`` → ``yahoo.co.jp``);
3. the dots moved or lost (``gmailcom``, ``docomo.nejp``);
4. the ending cut short (``gmail``, ``docomo.ne``, ``yahoo.co``);
5. a popular name with another ending (``docomo.co.jp``, ``hotmail.net``,
   ``yahoo.cok``): the target whose ending is nearest to the one typed;
6. an ending no registry has (``.con``, ``.co.ip``) after any name;
7. a letter slip (insertion, deletion, substitution, transposition), within
   one edit for names up to six letters and two for longer ones, when
   exactly one popular domain is that close.

Each suggestion is ``strong`` or ``weak``. Weak ones rest on too little to be
said without DNS: a slip of a name of two or three letters (every short
``.com`` is somebody's, and ``kcn``, ``dcn``, ``tcn.ne.jp`` are cable ISPs one
key from ``ocn``) or four in ``.com`` or ``.net``, or an ending that differs only in the
country (``yahoo.ie``, ``hotmail.co.th`` are real).
:mod:`maildoctor.address.assess` shows a weak one only when DNS says the typed
domain cannot receive mail. Ties never pick one: a wrong guess costs the customer
more than no guess. A tie among two or three known domains (``tuus.ac.jp``: a slip of
``tus.ac.jp`` or of ``tufs.ac.jp``) is kept as a ``tie``: the candidates, likeliest first
by the same keyboard rules, for the agent to read as "one of" and to confirm with the
customer; it is never a suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from maildoctor.address.known_domains import (
    DomainTable,
    default_table,
    is_known,
    public_suffix,
    real_ending,
    split_domain,
)

__all__ = [
    "DomainTable",
    "TypoSuggestion",
    "default_table",
    "distance",
    "repair_candidates",
    "suggest_domain",
]

Strength = Literal["strong", "weak", "tie"]

#: The most candidates a tie keeps: more is no help to the agent, just a list of names.
MAX_CANDIDATES = 3

#: Endings under which every short name is taken: a slip of a four-letter name there
#: (love.com for live.com) lands on somebody's real domain as often as not.
_DENSE = frozenset({"com", "net"})


def _key_slip(typed: str, meant: str) -> bool:
    """One neighbouring key in place of another (jp typed as mp or kp)."""
    if len(typed) != len(meant):
        return False
    diff = [(a, b) for a, b in zip(typed, meant, strict=True) if a != b]
    return len(diff) == 1 and _adjacent(*diff[0])


def _short(name: str, ending: str) -> bool:
    """Too short a name to guess a slip of without DNS: two or three letters anywhere
    (kcn, dcn, tcn.ne.jp are cable ISPs one key from ocn), four in .com/.net."""
    return len(name) <= 3 or (len(name) == 4 and ending in _DENSE)


#: QWERTY rows (PC and the phone's romaji keyboard) and how far each sits to the right.
_ROWS = (("1234567890-", 0.0), ("qwertyuiop", 0.0), ("asdfghjkl", 0.25), ("zxcvbnm", 0.75))
_KEYS = {ch: (r, i + shift) for r, (row, shift) in enumerate(_ROWS) for i, ch in enumerate(row)}


def _adjacent(a: str, b: str) -> bool:
    """Neighbouring keys on a QWERTY keyboard (same row or the rows above and below)."""
    if a not in _KEYS or b not in _KEYS:
        return False
    (ra, xa), (rb, xb) = _KEYS[a], _KEYS[b]
    return abs(ra - rb) <= 1 and abs(xa - xb) <= 1.0


def _big_short(target: str, typed: str, table: DomainTable) -> bool:
    """A short name that is one of the big mail domains (au.com), typed one keyboard slip
    away: what is known of both sides decides. The target holds millions of Japanese
    mailboxes; the typed domain is nobody's known mail domain, and the slip is one a
    keyboard makes (a neighbouring key, two letters swapped, one doubled or dropped)."""
    if is_known(typed, table):
        return False
    # Only a big one: a short name one key from a rarer domain is as likely somebody's
    # real mail (m3.com is one key from me.com, love.com from live.com, kcn.ne.jp from ocn).
    if target not in table.targets[: table.top_targets]:
        return False
    if len(typed) == len(target):
        diff = [(a, b) for a, b in zip(typed, target, strict=True) if a != b]
        return (len(diff) == 1 and _adjacent(*diff[0])) or (
            len(diff) == 2 and sorted(typed) == sorted(target)
        )
    return True  # a letter doubled, dropped or a neighbour added (one edit)


def _bounced_key(typed: str, target: str, ending: str) -> bool:
    """A letter of a short listed name under a JPRS attribute type or straight under .jp
    struck twice (ynuu.ac.jp for ynu.ac.jp, gooo.jp for goo.jp): sure without DNS. A
    neighbouring key lands on other real initials as often as not (kcn, tcn for ocn), a
    repeated letter seldom: of the 206 known ac.jp, ne.jp and NAME.jp names of up to four
    letters 13 repeat a letter, and none is another known name with one letter doubled."""
    jp_type = ending == "jp" or (ending.endswith(".jp") and ending[:-3] in _JP_TYPES)
    if not jp_type or len(typed) != len(target) + 1:
        return False
    name = typed[: -len(ending) - 1]
    return any(
        name[i] == name[i - 1] and typed[:i] + typed[i + 1 :] == target for i in range(1, len(name))
    )


#: One romanisation for another (kunrei hu, zi for Hepburn fu, ji): far keys, common slips.
_ROMAJI_SWAPS = frozenset({("h", "f"), ("f", "h"), ("z", "j"), ("j", "z")})


def _romaji_extra(before: str, extra: str) -> bool:
    """A letter romaji input adds: a long vowel written out (kyouto, oono, ohno) or
    Hepburn's h (shi, chi for si, ti)."""
    return (extra == "u" and before == "o") or (extra == "h" and before in "aeioucs")


def _likely_slip(typed: str, target: str) -> bool:
    """One edit a keyboard or romaji input makes: a neighbouring key, two letters swapped,
    a letter dropped, struck twice or a neighbour struck with it, another romanisation
    (hukuoka, kyouto, hirosima). A far key in place of another (univ for unii, tufs for
    tuus) is seldom a slip and often another name."""
    if len(typed) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(typed, target, strict=True)) if a != b]
        if len(diff) == 1:
            pair = (typed[diff[0]], target[diff[0]])
            return _adjacent(*pair) or pair in _ROMAJI_SWAPS
        i = diff[0]
        swapped = typed[i] == target[i + 1] and typed[i + 1] == target[i]
        return len(diff) == 2 and diff[1] == i + 1 and swapped
    if len(typed) == len(target) - 1:
        return True  # a letter dropped
    for i in range(len(typed)):  # a letter struck twice or with its neighbour
        if typed[:i] + typed[i + 1 :] == target:
            around = typed[i - 1 : i] + typed[i + 1 : i + 2]
            if _romaji_extra(typed[i - 1 : i], typed[i]):
                return True
            return any(c == typed[i] or _adjacent(c, typed[i]) for c in around)
    return False


def _too_short_for_jp(domain: str) -> bool:
    """JPRS: an ASCII name registered under .jp (NAME.jp, NAME.co.jp...) has three
    characters or more, so one of one or two (yb.ne.jp, kt.ac.jp) cannot exist."""
    labels = domain.split(".")
    if labels[-1] != "jp" or len(labels) < 2:
        return False
    typed_type = len(labels) >= 3 and labels[-2] in _JP_TYPES
    name = labels[-3] if typed_type else labels[-2]
    return len(name) < 3 and not (len(labels) == 2 and name in _JP_TYPES)


def _crowded(typed: str, t_name: str, t_ending: str) -> bool:
    """A slip that lands where real .jp names crowd, so the typed name is as likely
    somebody's own: a typed name of three letters (any three are somebody's initials:
    sit.ac.jp is one letter from sist.ac.jp, and both are real), or a difference only in
    the short code campuses put beside the place (nagoya-u, nagoya-cu, kyoto-wu,
    u-toyama, pu-toyama: a university, a city one, a women's one, a prefectural one)."""
    labels = typed.split(".")
    n_end = t_ending.count(".") + 1
    if "." in t_name or len(labels) != 1 + n_end:
        return False  # i.softbank.jp, jcom.home.ne.jp: a mail host's name, not a registrant's
    name, meant = labels[0], t_name
    if name == meant:
        return False  # the slip is in the ending
    if len(name) <= 3:
        return True
    places = [s for s in name.split("-") if len(s) > 3]
    return bool(places) and places == [s for s in meant.split("-") if len(s) > 3]


def _keyboard_slips(typed: str, target: str) -> bool:
    """Every letter typed in place of another was a neighbouring key (for two-edit matches:
    foxmail is two far keys from hotmail, a different name; hptmaul two near ones)."""
    for op in Levenshtein.editops(typed, target):
        if op.tag == "replace" and not _adjacent(typed[op.src_pos], target[op.dest_pos]):
            return False
    return True


@dataclass(frozen=True, kw_only=True)
class TypoSuggestion:
    """A likely correction of a mistyped domain."""

    domain: str
    """The domain as typed (lower case)."""
    suggested: str
    """The domain the customer probably meant."""
    rule: str
    """Which rule found it: ``explicit``, ``dots``, ``ending_missing``,
    ``confused_suffix``, ``suffix``, ``letters`` (or ``repair`` for broken syntax)."""
    strength: Strength = "strong"
    """``weak``: shown only when DNS says the typed domain takes no mail. ``tie``: the
    rules end between ``candidates`` and pick none (``suggested`` is the first)."""
    candidates: tuple[str, ...] = ()
    """For a ``tie``: the two or three domains it may be a slip of, likeliest first."""

    @property
    def is_tie(self) -> bool:
        """True when this is "one of" ``candidates``, not a suggestion."""
        return self.strength == "tie"


def _tie(domain: str, rule: str, candidates: list[str]) -> TypoSuggestion | None:
    """A tie among ``candidates`` (likeliest first), or None when there are too many to
    be of use."""
    if not 2 <= len(candidates) <= MAX_CANDIDATES:
        return None
    return TypoSuggestion(
        domain=domain,
        suggested=candidates[0],
        rule=rule,
        strength="tie",
        candidates=tuple(candidates),
    )


def distance(a: str, b: str, limit: int = 3) -> int:
    """Optimal-string-alignment distance (Damerau-Levenshtein without re-edits).

    An adjacent transposition counts as one edit, as a keyboard slip does.
    Returns ``limit + 1`` as soon as the distance is known to exceed ``limit``.
    rapidfuzz computes it in C: about 18x faster over the popular-domain table.
    """
    return int(OSA.distance(a, b, score_cutoff=limit))


#: The longest domain name DNS can carry (RFC 1035 2.3.4, without the final dot).
MAX_DOMAIN = 253


@lru_cache(maxsize=8)
def _parts(table: DomainTable) -> tuple[tuple[str, str, str], ...]:
    """(target, name, ending) of every target, split once per table."""
    return tuple((t, *split_domain(t, table)) for t in table.targets)


@dataclass(frozen=True)
class _Index:
    """The targets looked up instead of scanned (a domain the table does not know runs
    every rule once; a list of 5,000 such domains is a batch's usual day)."""

    flat: dict[str, str]
    """Without its dots (gmailcom) -> the first target."""
    dashed: dict[str, str]
    """Its dots as hyphens (gmail-com) -> the first target."""
    cut: dict[str, tuple[str, ...]]
    """Its first labels (yahoo, yahoo.co) -> the targets that start so, in order."""
    by_length: dict[int, tuple[tuple[int, str, str, str], ...]]
    """Length -> (rank, target, name, ending): one edit changes the length by one at most."""
    by_name: dict[str, tuple[tuple[int, str, str], ...]]
    """Name (docomo) -> (rank, target, ending) of the targets with that name, in order."""


@lru_cache(maxsize=8)
def _index(table: DomainTable) -> _Index:
    flat: dict[str, str] = {}
    dashed: dict[str, str] = {}
    cut: dict[str, list[str]] = {}
    by_length: dict[int, list[tuple[int, str, str, str]]] = {}
    by_name: dict[str, list[tuple[int, str, str]]] = {}
    for rank, (t, name, ending) in enumerate(_parts(table)):
        by_name.setdefault(name, []).append((rank, t, ending))
        flat.setdefault(t.replace(".", ""), t)
        dashed.setdefault(t.replace(".", "-"), t)
        labels = t.split(".")
        for k in range(1, len(labels)):
            cut.setdefault(".".join(labels[:k]), []).append(t)
        by_length.setdefault(len(t), []).append((rank, t, name, ending))
    return _Index(
        flat=flat,
        dashed=dashed,
        cut={k: tuple(v) for k, v in cut.items()},
        by_length={k: tuple(v) for k, v in by_length.items()},
        by_name={k: tuple(v) for k, v in by_name.items()},
    )


@lru_cache(maxsize=256)
def _near_length(
    table: DomainTable, length: int
) -> tuple[tuple[tuple[int, str, str, str], ...], tuple[str, ...]]:
    """(rank, target, name, ending) of the targets at most two letters longer or shorter,
    in the table's order, and the targets alone (the choices of one C call): per table
    and length, so a batch's thousands of domains sort them once."""
    by_length = _index(table).by_length
    near = tuple(sorted(p for n in range(length - 2, length + 3) for p in by_length.get(n, ())))
    return near, tuple(t for _, t, _, _ in near)


def _near(domain: str, table: DomainTable) -> list[tuple[int, int, str, str, str]]:
    """(distance, rank, target, name, ending) of the targets at most two edits from
    ``domain``, in the table's order: no slip rule looks further. One rapidfuzz call
    scores every target within two letters of its length (an edit changes the length by
    one at most), so the Python rules run only on the few that pass, not on hundreds."""
    near, choices = _near_length(table, len(domain))
    hits = process.extract(domain, choices, scorer=OSA.distance, score_cutoff=2, limit=None)
    return [(int(d), *near[i]) for _, d, i in sorted(hits, key=lambda hit: hit[2])]


def suggest_domain(domain: str, table: DomainTable | None = None) -> TypoSuggestion | None:
    """The domain the customer probably meant, or None when unsure (or it is right).

    A name longer than DNS allows (253 characters, RFC 1035) is no slip of a real
    one: it gets no suggestion, and a pasted blob of labels costs nothing (the
    subdomain rule recurses once per label).
    """
    if len(domain) > MAX_DOMAIN:
        return None
    table = table or default_table()
    return _suggest(domain.lower().strip("."), table)


def _country_only(ending: str, table: DomainTable) -> bool:
    """A real ending that names a country (.ie, .co.th), not one of the usual slips."""
    return (
        ending not in table.confusable
        and len(ending.rsplit(".", 1)[-1]) == 2
        and real_ending(ending, table)
    )


@lru_cache(maxsize=65536)
def _suggest(domain: str, table: DomainTable) -> TypoSuggestion | None:
    if not domain or is_known(domain, table):
        return None

    def found(suggested: str, rule: str, strength: Strength = "strong") -> TypoSuggestion:
        return TypoSuggestion(domain=domain, suggested=suggested, rule=rule, strength=strength)

    if domain in table.explicit:
        return found(table.explicit[domain], "explicit")
    parts = _parts(table)
    jp = _jp_shape(domain, table)
    if jp is not None:
        return jp
    index = _index(table)
    dots = index.flat.get(domain.replace(".", ""))
    if dots is not None:
        return found(dots, "dots")
    if "-" in domain:
        # A hyphen where a dot belongs (the IME's long-vowel mark folds to one:
        # gmailーcom, docomo-ne-jp): sure when the typed domain cannot exist as is.
        dashed = index.dashed.get(domain.replace(".", "-"))
        if dashed is not None:
            sure = "." not in domain or public_suffix(domain) is None
            return found(dashed, "dots", "strong" if sure else "weak")
    cut = list(index.cut.get(domain, ()))
    if "." not in domain:
        # hotmail: hotmail.co.jp or hotmail.com, both big: a tie, and ties abstain
        big_cut = [t for t in cut if t in table.targets[: table.top_targets]]
        if len(big_cut) > 1:
            return _tie(domain, "ending_missing", big_cut)
        return found(cut[0], "ending_missing") if cut else None
    name, ending = split_domain(domain, table)
    if cut:
        # yahoo.co is yahoo.co.jp cut short or yahoo.com a letter short. A letter left
        # off is the commoner slip, unless the longer one is one of the big domains.
        short = [
            t for t, t_name, t_end in parts if t_name == name and distance(ending, t_end, 1) == 1
        ]
        rank = {t: i for i, t in enumerate(table.targets)}
        big = [t for t in cut if rank[t] < table.top_targets]
        if big or not short:
            return found((big or cut)[0], "ending_missing")
        return found(short[0], "confused_suffix")
    if not name:
        return None
    if ending in table.suffix_slips:
        fixed = f"{name}.{table.suffix_slips[ending]}"
        if is_known(fixed, table):
            return found(fixed, "suffix")
        deeper = _suggest(fixed, table)
        if deeper is not None and not deeper.is_tie:
            return found(deeper.suggested, deeper.rule, deeper.strength)
        # A made-up ending is wrong whatever the name; fix it only for a plain
        # name (mail.company.cmo may be a host name, not a slip).
        return found(fixed, "suffix") if "." not in name else None
    core = table.core_targets or len(parts)
    unreal_ending = not real_ending(ending, table)
    same_name = [
        (t, t_end)
        for i, t, t_end in index.by_name.get(name, ())
        if i < core or unreal_ending or _isp_types(ending, t, table)
    ]
    if same_name:
        rank = {t: i for i, (t, _) in enumerate(same_name)}
        best = min(same_name, key=lambda te: (distance(ending, te[1], 9), rank[te[0]]))[0]
        country = _country_only(ending, table) and not _key_slip(ending, same_name[0][1])
        # A short name under one of the one-key slips of its ending (au.co, me.cm, mac.om)
        # is a slip: the target is a big mail domain, the typed one is known to no one.
        slip = ending in table.confusable
        weak = country or (len(name) <= 3 and real_ending(ending, table) and not slip)
        return found(best, "confused_suffix", "weak" if weak else "strong")
    letters = _letter_slip(domain, ending, table)
    if letters is not None and letters.suggested.count(".") < domain.count("."):
        # The slip read across a dot (s.askushin-u.ac.jp as sakushin-u.ac.jp: the dot lost
        # and a letter more) against the first label kept as a mailbox subdomain of a
        # campus or ISP and one slip in the rest: keeping what was typed needs fewer edits.
        return _subdomain_slip(domain, table) or letters
    if letters is not None and letters.is_tie:
        # any one answer beats "one of"
        sub = _subdomain_slip(domain, table)
        return sub if sub is not None and not sub.is_tie else letters
    return letters or _subdomain_slip(domain, table)


#: JPRS's organisation types: the only two-letter second levels under .jp
#: (a general-use .jp name has three letters or more; prefectures are long names).
_JP_TYPES = ("ac", "ad", "co", "ed", "go", "gr", "lg", "ne", "or")


def _isp_types(ending: str, target: str, table: DomainTable) -> bool:
    """An ISP's ne.jp typed as or.jp, or the other way (JPRS: one organisation, one type;
    a campus holds both NAME.jp and NAME.ac.jp, so not for campuses)."""
    return (
        target not in table.campus
        and ending in ("ne.jp", "or.jp")
        and target.endswith((".ne.jp", ".or.jp"))
    )


def _jp_shape(domain: str, table: DomainTable) -> TypoSuggestion | None:
    """Shapes JPRS's rules say cannot exist: a popular ``.com`` with ``.jp`` added
    (gmail.com.jp: there is no com.jp type), and a second level of one or two letters
    that is no organisation type (docomo.n.jp, ocn.ns.jp): the type one edit away."""
    labels = domain.split(".")
    if len(labels) < 3 or labels[-1] != "jp":
        return None
    head, second = ".".join(labels[:-2]), labels[-2]
    if second in ("com", "net") and f"{head}.{second}" in table.targets:
        return TypoSuggestion(domain=domain, suggested=f"{head}.{second}", rule="suffix")
    if len(second) > 3 or second in _JP_TYPES:
        return None
    near = [t for t in _JP_TYPES if distance(second, t, 1) == 1]
    known = [t for t in near if is_known(f"{head}.{t}.jp", table)]
    # Three letters may be a general-use .jp name (nee.jp): only towards a known domain.
    choice = known if known or len(second) == 3 else near
    if len(known) > 1:
        return _tie(domain, "suffix", [f"{head}.{t}.jp" for t in known])
    if len(choice) != 1:
        return None
    fixed = f"{head}.{choice[0]}.jp"
    if is_known(fixed, table):
        return TypoSuggestion(domain=domain, suggested=fixed, rule="suffix")
    deeper = _suggest(fixed, table)
    if deeper is not None and not deeper.is_tie:
        return TypoSuggestion(
            domain=domain, suggested=deeper.suggested, rule=deeper.rule, strength=deeper.strength
        )
    return TypoSuggestion(domain=domain, suggested=fixed, rule="suffix")


def _subdomain_slip(domain: str, table: DomainTable) -> TypoSuggestion | None:
    """A slip in the registered part of a mailbox subdomain (beach.ocn.ne.jo,
    st.kyotou-u.ac.jp): the part after the first label corrected to a domain whose
    subdomains are mailboxes (an ISP's or a campus's)."""
    first, _, rest = domain.partition(".")
    if rest.count(".") < 1:
        return None
    sub = _suggest(rest, table)
    if sub is None:
        return None
    meant = sub.candidates or (sub.suggested,)
    if not all(m in table.campus or m in table.parents for m in meant):
        return None  # a mailbox subdomain only of a domain whose subdomains are mailboxes
    return TypoSuggestion(
        domain=domain,
        suggested=f"{first}.{sub.suggested}",
        rule=sub.rule,
        strength=sub.strength,
        candidates=tuple(f"{first}.{c}" for c in sub.candidates),
    )


def _letter_slip(domain: str, ending: str, table: DomainTable) -> TypoSuggestion | None:
    own_ending = real_ending(ending, table) and ending not in table.confusable
    # A domain under an ending no registry has, or a .jp name shorter than JPRS allows,
    # cannot exist: its slip is sure whatever its size.
    unreal = public_suffix(domain) is None or _too_short_for_jp(domain)
    labels = domain.split(".")
    best: list[tuple[str, Strength]] = []
    best_d = 99
    # no rule takes a target more than two edits away
    for near_d, rank, target, t_name, t_ending in _near(domain, table):
        # Japan's ISPs and campuses (after the popular list): small domains among many real
        # names like them, where a slip's other reading is somebody's own domain
        listed_jp = rank >= table.core_targets and t_ending.endswith("jp") and not unreal
        strength: Strength = "strong"
        if own_ending and t_ending != ending:
            # A real ending (yahoo.co.uk) is not a slip of another (yahoo.co.jp): only
            # one key in the whole domain, and only as far as DNS bears it out, unless
            # the ending typed in the target's place exists nowhere (docomo.ne.kp).
            if len(target) < 8 or near_d != 1:
                continue
            aligned = ".".join(labels[-(t_ending.count(".") + 1) :])
            d = 1
            if public_suffix(f"x.{aligned}") == aligned and not _key_slip(aligned, t_ending):
                strength = "weak"
        else:
            limit = 1 if len(t_name) <= 6 else 2
            d = near_d
            if d > limit or (d == 2 and not _keyboard_slips(domain, target)):
                continue
            if d == 1 and len(t_name) <= 4 and not _likely_slip(domain, target):
                continue  # a far key in a name of four letters or fewer: another name (unii, univ)
            if (
                _short(t_name, t_ending)
                and not unreal
                and not _big_short(target, domain, table)
                and not _bounced_key(domain, target, t_ending)
            ) or (
                listed_jp
                and _crowded(domain, t_name, t_ending)
                and not _bounced_key(domain, target, t_ending)
            ):
                strength = "weak"
            elif d == 1 and not unreal and not _likely_slip(domain, target):
                # a far key (meikei for meikai, geidai for gaidai): seldom a slip, and
                # one vowel for another keeps a romanised name a name
                strength = "weak"
            elif d == 2 and listed_jp:
                # two edits in a .jp name: Japanese names differ by a syllable (kagawa,
                # kanagawa; kogakuin, kokugakuin) as often as a hand slips twice
                strength = "weak"
        if d < best_d:
            best, best_d = [(target, strength)], d
        elif d == best_d:
            best.append((target, strength))
    if len(best) > 1:
        # A tie between a big domain and rarer ones goes to the big one: its prior
        # is ten times theirs and more.
        big_ones = set(table.targets[: table.top_targets])
        big = [b for b in best if b[0] in big_ones]
        best = big if len(big) == 1 else best
    if len(best) > 1 and best_d == 1:
        # Then to the one a keyboard slip explains (tuus.ac.jp: tus with a letter struck
        # twice, not tufs with a far key): the other edit is seldom made.
        likely = [b for b in best if _likely_slip(domain, b[0])]
        best = likely if len(likely) == 1 else best
    if len(best) == 1:
        target, strength = best[0]
        return TypoSuggestion(domain=domain, suggested=target, rule="letters", strength=strength)
    # A tie: the slip a keyboard or romaji input makes first, then the table's order
    # (big domains first, then by how many mailboxes each holds).
    likely_first = sorted(best, key=lambda b: best_d == 1 and not _likely_slip(domain, b[0]))
    if len(best) > MAX_CANDIDATES and best_d == 1:
        likely_first = [b for b in best if _likely_slip(domain, b[0])]  # too many: the slips
    return _tie(domain, "letters", [t for t, _ in likely_first])


def repair_candidates(
    domain: str, table: DomainTable | None = None, limit: int = 3, *, keep_first: bool = True
) -> tuple[str, ...]:
    """The few domains DNS may be asked about when ``domain`` does not exist and the
    suggester alone is not sure (a short name, a tie): the suggester's own guess first,
    then known domains one slip away (two for long names, keyboard slips only; a
    keyboard's or romaji input's edit before a far key) and, for a ``.jp`` second level,
    each organisation type one edit away; at most ``limit``, likeliest first. Which one
    takes mail is DNS's to say."""
    table = table or default_table()
    domain = domain.lower().strip(".")
    if not domain or len(domain) > MAX_DOMAIN or is_known(domain, table):
        return ()
    found: list[str] = []
    guess = _suggest(domain, table)
    if guess is not None and not guess.is_tie:  # a tie's candidates come in below, ranked
        found.append(guess.suggested)
    # one edit before two, a keyboard's or romaji input's edit before a far key
    scored: list[tuple[int, bool, int, str]] = []
    for d, rank, target, t_name, _ in _near(domain, table):
        limit_d = 1 if len(t_name) <= 6 else 2
        if d <= limit_d and (d == 1 or _keyboard_slips(domain, target)):
            scored.append((d, d == 1 and not _likely_slip(domain, target), rank, target))
    found.extend(t for *_, t in sorted(scored))
    if "." not in domain:  # the ending left out: every ending the name has
        found.extend(_index(table).cut.get(domain, ()))
    labels = domain.split(".")
    if len(labels) >= 3 and labels[-1] == "jp" and labels[-2] not in _JP_TYPES:
        head = ".".join(labels[:-2])
        found.extend(f"{head}.{t}.jp" for t in _JP_TYPES if distance(labels[-2], t, 1) == 1)
    first, _, rest = domain.partition(".")
    if keep_first and rest.count(".") >= 2:
        # a mailbox subdomain (s.vgu.ac.jp): the slip in the campus's or ISP's own part
        found.extend(
            f"{first}.{c}"
            for c in repair_candidates(rest, table, limit, keep_first=False)
            if c in table.campus or c in table.parents
        )
    return tuple(dict.fromkeys(c for c in found if c != domain))[: max(0, limit)]
