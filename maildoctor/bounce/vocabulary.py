"""Sisimai's facts about bounce words, loaded from ``maildoctor/data/bounce_reasons.toml``:
each reason's vocabulary, what status codes mean, and what particular MTAs
(``Sisimai::Lhost::*``) and receiving providers (``Sisimai::Rhost::*``) mean by
their own words. Lookups only; :mod:`.reasons` decides."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import ahocorasick_rs

__all__ = [
    "dsn_field_reason",
    "lhost_command_reason",
    "lhost_reason",
    "matches",
    "mda_reason",
    "rhost_reason",
    "status_reason",
]


@dataclass(frozen=True)
class _Vocabulary:
    index: tuple[str, ...]
    pairs: tuple[tuple[str, ...], ...]
    isnot: tuple[str, ...]

    def match(self, text: str) -> bool:
        if any(x in text for x in self.isnot):
            return False
        return any(x in text for x in self.index) or any(_aligned(text, p) for p in self.pairs)


def _aligned(text: str, pieces: tuple[str, ...]) -> bool:
    """Every piece occurs in ``text``, each after the previous (Sisimai::String->aligned)."""
    at = 0
    for piece in pieces:
        found = text.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return True


@dataclass(frozen=True)
class _Data:
    vocabulary: dict[str, _Vocabulary]
    status: dict[str, str]
    lhost: dict[str, dict[str, tuple[str, ...]]]
    lhost_headers: dict[str, dict[str, tuple[str, ...]]]
    rhost: dict[str, tuple[tuple[str, ...], dict[str, tuple[_RhostEntry, ...]]]]
    states: dict[str, dict[str, str]]
    bullets: dict[str, tuple[int, str]]
    codes: dict[str, _Codes]
    commands: dict[str, dict[str, str]]
    fields: dict[str, dict[str, str]]
    mdas: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]]]]


@dataclass(frozen=True)
class _Codes:
    """A provider's table of its own error codes (Sisimai::Rhost::FrancePTT, GoDaddy...)."""

    hosts: tuple[str, ...]
    pattern: re.Pattern[str]
    """Captures the code in the provider's reply."""
    codes: dict[str, str]
    ranges: tuple[tuple[int, int, str], ...]
    unknown: str
    """What a code the table does not list means (``""``: nothing)."""
    exact: frozenset[str]
    """Host names the provider's table applies to (and any host under them, ``suffixes``)."""
    suffixes: tuple[str, ...]

    def reason(self, text: str) -> str:
        m = self.pattern.search(text)
        if m is None:
            return ""
        code = m.group(1).lower()
        if code in self.codes:
            return self.codes[code]
        if code.isdigit():
            for low, high, reason in self.ranges:
                if low <= int(code) <= high:
                    return reason
        return self.unknown


@cache
def _data() -> _Data:
    text = resources.files("maildoctor").joinpath("data/bounce_reasons.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    extra = raw.get("maildoctor_vocabulary", {})
    vocabulary = {
        name: _Vocabulary(
            tuple(s.lower() for s in (*v.get("index", ()), *extra.get(name, {}).get("index", ()))),
            tuple(tuple(s.lower() for s in p) for p in v.get("pairs", ())),
            tuple(s.lower() for s in v.get("isnot", ())),
        )
        for name, v in raw["vocabulary"].items()
    }
    lhost = {
        mta: {reason: tuple(s.lower() for s in words) for reason, words in table.items()}
        for mta, table in raw.get("lhost_messages", {}).items()
    }
    headers = {
        mta: {reason: tuple(s.lower() for s in words) for reason, words in table.items()}
        for mta, table in raw.get("lhost_headers", {}).items()
    }
    status = {**raw["status_reason"], **raw.get("status_reason_extra", {})}
    rhost = {
        name: (
            tuple(h.lower() for h in table["hosts"]),
            {r: tuple(_entry(e) for e in entries) for r, entries in table.items() if r != "hosts"},
        )
        for name, table in raw.get("rhost_messages", {}).items()
    }
    codes = {
        name: _Codes(
            hosts=tuple(h.lower() for h in table["hosts"]),
            pattern=re.compile(table["pattern"], re.I),
            codes={str(k).lower(): v for k, v in table.get("codes", {}).items()},
            ranges=tuple((int(a), int(b), str(r)) for a, b, r in table.get("ranges", ())),
            unknown=str(table.get("unknown", "")),
            exact=frozenset(h.lower() for h in table["hosts"] if not h.startswith(".")),
            suffixes=tuple(
                h.lower() if h.startswith(".") else "." + h.lower() for h in table["hosts"]
            ),
        )
        for name, table in raw.get("rhost_codes", {}).items()
    }
    states = {name: dict(table) for name, table in raw.get("lhost_states", {}).items()}
    bullets = {
        name: (int(rule["count"]), str(rule["reason"]))
        for name, rule in raw.get("lhost_bullets", {}).items()
    }
    commands = {
        name: {str(k).upper(): str(v) for k, v in table.items()}
        for name, table in raw.get("lhost_commands", {}).items()
    }
    fields = {
        name.lower(): {str(k).lower(): str(v) for k, v in table.items()}
        for name, table in raw.get("dsn_fields", {}).items()
    }
    mdas = {
        name: (
            tuple(table["markers"]),
            {r: tuple(w.lower() for w in words) for r, words in table.items() if r != "markers"},
        )
        for name, table in raw.get("mda", {}).items()
    }
    return _Data(
        vocabulary, status, lhost, headers, rhost, states, bullets, codes, commands, fields, mdas
    )


#: (status or status prefix, low, high, words): see [rhost_messages] in the data file
_RhostEntry = tuple[str, int, int, str]


def _entry(value: str | list[str | int]) -> _RhostEntry:
    if isinstance(value, str):
        return ("", 0, 0, value.lower())
    status, low, high, words = value
    return (str(status), int(low), int(high), str(words).lower())


def _entry_fits(entry: _RhostEntry, status: str, text: str) -> bool:
    code, low, high, words = entry
    if code and low == high and status != code:
        return False
    if code and low != high:
        last = status.rsplit(".", 1)[-1]
        if not status.startswith(code) or not last.isdigit() or not low <= int(last) <= high:
            return False
    return words in text


@cache
def _rhost_hosts() -> tuple[
    tuple[str, frozenset[str], tuple[str, ...], dict[str, tuple[_RhostEntry, ...]]], ...
]:
    """Each provider's host patterns as exact names and suffixes: ``.apple.com`` is any
    host under it, ``icloud.com`` the name itself and any host under it."""
    return tuple(
        (
            name,
            frozenset(p for p in patterns if not p.startswith(".")),
            tuple(p if p.startswith(".") else "." + p for p in patterns),
            table,
        )
        for name, (patterns, table) in _data().rhost.items()
    )


def rhost_reason(
    remote: str, domain: str, words: str, status: str = "", reporting: str = ""
) -> tuple[str, str]:
    """(provider, reason) when the refusing host or the recipient's domain is a provider
    whose own words (and status) ``words`` hold (Sisimai::Rhost::*), else ``("", "")``.

    As Sisimai's ``Rhost`` does, the host that wrote the bounce (``reporting``) is tried
    last, when neither of the others is a known provider's: a notice Aol, Outlook.com or
    Google Workspace wrote about its own mailbox names no remote host."""
    said = _rhost_for([h for h in (remote, domain) if h], words, status)
    if said == ("", "") and reporting:
        said = _rhost_for([reporting], words, status)
    return said


def _rhost_for(names: list[str], words: str, status: str) -> tuple[str, str]:
    """The first reading of ``words`` by a table of the providers ``names`` belong to:
    error-code tables first, then word tables."""
    tables = dict.fromkeys(t for h in names for t in _tables_of(h.rstrip(".").lower()))
    if not tables:
        return "", ""
    for kind, name in tables:
        if kind == "codes":
            said = _data().codes[name].reason(words)
            if said:
                return name, said
    text = words.lower()
    for kind, name in tables:
        if kind == "messages":
            for reason, entries in _data().rhost[name][1].items():
                if any(_entry_fits(e, status, text) for e in entries):
                    return name, reason
    return "", ""


@lru_cache(maxsize=4096)
def _tables_of(host: str) -> tuple[tuple[str, str], ...]:
    """The providers' tables whose hosts ``host`` is (or is under), code tables first,
    in the data file's order: host names repeat across bounces, so this is cached."""
    if not host:
        return ()
    found = [
        ("codes", name)
        for name, t in _data().codes.items()
        if host in t.exact or host.endswith(t.suffixes)
    ]
    found += [
        ("messages", name)
        for name, exact, suffixes, _ in _rhost_hosts()
        if host in exact or host.endswith(suffixes)
    ]
    return tuple(found)


def present_in(finder: ahocorasick_rs.AhoCorasick, text: str) -> set[str]:
    """Every word of ``finder`` that ``text`` holds (overlapping ones too: ``outlook.com``
    inside ``protection.outlook.com``)."""
    return set(finder.find_matches_as_strings(text, overlapping=True))


@cache
def _automaton() -> ahocorasick_rs.AhoCorasick:
    """Every phrase of every reason's vocabulary, for one pass over a text (Aho-Corasick:
    linear in the text whatever the number of phrases)."""
    phrases = {
        phrase
        for v in _data().vocabulary.values()
        for phrase in (*v.index, *v.isnot, *(piece for pair in v.pairs for piece in pair))
        if phrase
    }
    return ahocorasick_rs.AhoCorasick(sorted(phrases))


@lru_cache(maxsize=1024)
def _reasons_in(text: str) -> frozenset[str]:
    """The reasons whose vocabulary ``text`` holds (all of them, in one pass)."""
    present = present_in(_automaton(), text) if text else set()
    found = set()
    for name, v in _data().vocabulary.items():
        if any(x in present for x in v.isnot):
            continue
        if any(x in present for x in v.index) or any(
            all(p in present for p in pair) and _aligned(text, pair) for pair in v.pairs
        ):
            found.add(name)
    return frozenset(found)


def matches(reason: str, text: str) -> bool:
    """Whether ``text`` holds ``reason``'s vocabulary (one pass per text for every reason:
    the rules ask it of many reasons in turn)."""
    return reason in _reasons_in(text)


def status_reason(status: str) -> str:
    """The reason an RFC 3463 status code means on its own, ``""`` if none."""
    return _data().status.get(status, "") if status else ""


_BULLET = re.compile(r"^ ?\* ?\S", re.M)
_STATE = re.compile(r"\(state (\d+)\)\.?\s*$")


_DAEMON = ("mail delivery subsystem", "mailer-daemon", "postmaster")


def mda_reason(sender: str, text: str) -> str:
    """The reason a local delivery agent's own words give (Sisimai::MDA: mail.local,
    procmail, maildrop, vpopmail, vmailmgr, dovecot), ``""`` when no agent wrote it.
    Only for bounces from the mailer daemon or postmaster."""
    who = sender.lower().lstrip('"').lstrip()
    if not who.startswith(_DAEMON) and not any(f"<{d}" in who for d in _DAEMON[1:]):
        return ""
    for markers, reasons in _data().mdas.values():
        at = [text.find(m) for m in markers]
        if any(a < 0 for a in at) or at != sorted(at):
            continue
        lines = text.lower().splitlines()
        for reason, words in reasons.items():
            if any(w in line for line in lines for w in words):
                return reason
        return ""
    return ""


def dsn_field_reason(block: dict[str, str]) -> str:
    """The reason a DSN recipient block's own category field gives (PowerMTA's
    ``X-PowerMTA-BounceCategory: bad-mailbox``), ``""`` if none."""
    for name, table in _data().fields.items():
        value = block.get(name, "").strip().lower()
        if value in table:
            return table[value]
    return ""


def lhost_command_reason(lhosts: str, command: str) -> str:
    """What a refusal at ``command`` means in bounces written by ``lhosts`` (qmail: a
    refused HELO is ``blocked``), ``""`` if nothing."""
    table = _data().commands
    for name in lhosts.split():
        if command and command in table.get(name, {}):
            return table[name][command]
    return ""


def lhost_reason(lhosts: str, *texts: str, headers: str = "") -> str:
    """The reason the first of ``texts`` that says one means in bounces written by
    ``lhosts`` (Sisimai Lhost names, space-separated, tried in order); the bounce's
    ``headers`` first."""
    data = _data()
    names = lhosts.split()
    head = headers.lower()
    for name in names:
        for reason, lines in data.lhost_headers.get(name, {}).items():
            if any(line in head for line in lines):
                return reason
    for words in texts:
        bullets = len(_BULLET.findall(words))
        for name in names:
            if name in data.bullets and bullets == data.bullets[name][0]:
                return data.bullets[name][1]
        text = words.lower()
        state = _STATE.search(text)
        for name in names:
            if state and state.group(1) in data.states.get(name, {}):
                return data.states[name][state.group(1)]
            for reason, phrases in data.lhost.get(name, {}).items():
                if any(p in text for p in phrases):
                    return reason
    return ""


# Sisimai::Reason $ClassOrder: [0] for true(), [1] for anotherone(), [2] for match().
