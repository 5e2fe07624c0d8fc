"""Decide a bounce reason from the remote server's words, its status code and the SMTP command.

Follows how Sisimai decides (``Sisimai::Reason->get``, ``->anotherone`` and each
``Sisimai::Reason::*->true``); the vocabulary is data in
``maildoctor/data/bounce_reasons.toml``. The logic, in Sisimai's terms:

1. Reasons are tried in a fixed order; each says yes from what the status code
   means (``Sisimai::SMTP::Status``), from its own words, and from the SMTP
   command the refusal answered. Words beat a contradicting status: 5.1.1 says
   "user unknown", but "5.1.1 ... blacklisted" is *blocked*, since user unknown
   only stands when no other reason's words are there.
2. "User unknown" after DATA (or with no command named) is *filtered*: the
   mailbox took RCPT TO, so it exists and a filter refused the content.
3. When no reason says yes, the status code's own reason is used when it is
   specific; otherwise a second list of reasons' words is tried, then what the
   status class still says (x.6 content, x.7 security), X-Unix mailer errors,
   5xx syntax replies, delayed actions (expired) and refusals at HELO (blocked).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

__all__ = ["RENAMED", "Facts", "current_name", "decide", "lhost_reason", "status_reason"]

#: Sisimai's December 2025 rename (go-sisimai #307/#317/#318): old name -> current name
RENAMED = {
    "toomanyconn": "ratelimited",
    "speeding": "ratelimited",
    "mesgtoobig": "emailtoolarge",
    "exceedlimit": "emailtoolarge",
}


def current_name(reason: str) -> str:
    """Sisimai's current name for ``reason`` (old names are accepted everywhere)."""
    return RENAMED.get(reason, reason)


@dataclass(frozen=True, kw_only=True)
class Facts:
    """What one recipient's failure says, as the reason rules read it."""

    diagnostic: str
    """The remote server's words."""
    status: str = ""
    reply_code: str = ""
    command: str = ""
    """``CONN``, ``HELO``, ``EHLO``, ``MAIL``, ``RCPT``, ``DATA``... or ``""``."""
    action: str = ""
    diagnostic_type: str = ""
    """``SMTP``, ``X-UNIX``... (the Diagnostic-Code type), ``""`` when unknown."""


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
    states = {name: dict(table) for name, table in raw.get("lhost_states", {}).items()}
    bullets = {
        name: (int(rule["count"]), str(rule["reason"]))
        for name, rule in raw.get("lhost_bullets", {}).items()
    }
    return _Data(vocabulary, status, lhost, headers, rhost, states, bullets)


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


def _host_is(host: str, pattern: str) -> bool:
    if pattern.startswith("."):
        return host.endswith(pattern)
    return host == pattern or host.endswith("." + pattern)


def rhost_reason(remote: str, domain: str, words: str, status: str = "") -> tuple[str, str]:
    """(provider, reason) when the refusing host or the recipient's domain is a provider
    whose own words (and status) ``words`` hold (Sisimai::Rhost::*), else ``("", "")``."""
    hosts = [h.rstrip(".").lower() for h in (remote, domain) if h]
    text = words.lower()
    for name, (patterns, table) in _data().rhost.items():
        if not any(_host_is(h, p) for h in hosts for p in patterns):
            continue
        for reason, entries in table.items():
            if any(_entry_fits(e, status, text) for e in entries):
                return name, reason
    return "", ""


@lru_cache(maxsize=4096)
def _match(reason: str, text: str) -> bool:
    """Whether ``text`` holds ``reason``'s vocabulary (cached: the rules ask it repeatedly)."""
    v = _data().vocabulary.get(reason)
    return v is not None and v.match(text)


def status_reason(status: str) -> str:
    """The reason an RFC 3463 status code means on its own, ``""`` if none."""
    return _data().status.get(status, "") if status else ""


_BULLET = re.compile(r"^ ?\* ?\S", re.M)
_STATE = re.compile(r"\(state (\d+)\)\.?\s*$")


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
_ORDER_TRUE = (
    "mailboxfull",
    "mesgtoobig",
    "exceedlimit",
    "suspend",
    "hasmoved",
    "norelaying",
    "authfailure",
    "userunknown",
    "filtered",
    "requireptr",
    "notcompliantrfc",
    "badreputation",
    "rejected",
    "hostunknown",
    "spamdetected",
    "speeding",
    "toomanyconn",
    "blocked",
)
_ORDER_OTHER = (
    "mailboxfull",
    "authfailure",
    "badreputation",
    "speeding",
    "spamdetected",
    "virusdetected",
    "policyviolation",
    "norelaying",
    "systemerror",
    "networkerror",
    "suspend",
    "contenterror",
    "systemfull",
    "notaccept",
    "expired",
    "securityerror",
    "mailererror",
)
_ORDER_WORDS = (
    "mailboxfull",
    "mesgtoobig",
    "exceedlimit",
    "suspend",
    "userunknown",
    "filtered",
    "rejected",
    "hostunknown",
    "spamdetected",
    "speeding",
    "toomanyconn",
    "blocked",
    "authfailure",
    "securityerror",
    "systemerror",
    "networkerror",
    "expired",
    "contenterror",
    "hasmoved",
    "systemfull",
    "notaccept",
    "mailererror",
    "norelaying",
)
#: reasons a status code or a parser may suggest that the words should confirm
_RETRY = {
    "undefined",
    "onhold",
    "systemerror",
    "securityerror",
    "expired",
    "suspend",
    "networkerror",
    "hostunknown",
    "userunknown",
}
_BEFORE_CONNECTION = ("CONN", "EHLO", "HELO")
_NOT_CONTENT = (*_BEFORE_CONNECTION, "MAIL", "RCPT")


def _reply(f: Facts) -> int:
    return int(f.reply_code) if f.reply_code.isdigit() else 0


def _true(reason: str, f: Facts, text: str) -> bool:
    """Whether ``reason`` fits (each Sisimai::Reason::*->true)."""
    by_status = status_reason(f.status)
    if reason in ("mailboxfull", "exceedlimit", "spamdetected", "speeding", "suspend") and (
        not f.status
    ):
        return False  # these need a status code to go with the words
    if reason == "userunknown":
        if by_status == "suspend":
            return False
        if by_status == "userunknown":
            # 5.1.1 stands unless the words say another reason outright.
            others = ("norelaying", "blocked", "mailboxfull", "hasmoved", "rejected", "notaccept")
            return not any(_match(o, text) for o in others)
        # Refused at RCPT, or (command not named) with an X.1.X addressing status.
        to_address = f.command == "RCPT" or (not f.command and f.status[1:3] == ".1")
        return to_address and _match("userunknown", text)
    if reason == "filtered":
        if by_status == "suspend" or (not f.command and f.status[1:3] == ".1"):
            return False  # an X.1.X status is about the address, not the content
        if by_status == "filtered":
            return _match("userunknown", text) or _match("filtered", text)
        if f.command in _NOT_CONTENT:
            return False
        return _match("filtered", text) or _match("userunknown", text)
    if reason == "rejected":
        status_says = by_status or "undefined"
        if status_says == "rejected":
            return True
        if f.command == "MAIL":
            return _match("rejected", text)
        if f.command == "DATA":
            return status_says != "userunknown" and _match("rejected", text)
        if status_says in ("onhold", "undefined", "securityerror", "systemerror"):
            return _match("rejected", text)
        return False
    if reason == "hostunknown":
        if by_status == "hostunknown":
            return not _match("networkerror", text)
        return _match("hostunknown", text)
    if reason == "mesgtoobig":
        if by_status == "mesgtoobig":
            return True
        if by_status == "exceedlimit" or f.status == "5.2.3":
            return False
        return _match("mesgtoobig", text)
    if reason == "norelaying":
        return f.command not in _BEFORE_CONNECTION and _match("norelaying", text)
    if reason == "notaccept":
        return _reply(f) in (521, 554, 556) or (f.command == "MAIL" and _match("notaccept", text))
    if reason == "suspend" and _reply(f) == 525:
        return True
    if reason in ("spamdetected", "virusdetected") and f.command in _NOT_CONTENT:
        return reason == "spamdetected" and by_status == "spamdetected"
    if reason in ("hasmoved", "badreputation", "speeding", "notcompliantrfc", "suspend"):
        return _match(reason, text)
    return by_status == reason or _match(reason, text)


def _syntax_reply(f: Facts) -> bool:
    code = _reply(f)
    return 400 < code < 408 or 500 < code < 508


def _another(f: Facts, text: str) -> str:
    """Sisimai::Reason->anotherone: the status code's reason, or what else fits."""
    reason = status_reason(f.status)
    if reason and reason not in _RETRY and f.diagnostic_type in ("", "SMTP"):
        return reason
    for name in _ORDER_OTHER:
        if _match(name, text):
            return name
    if reason and reason != "undefined":
        return reason  # the status's own, less certain reason
    klass = f.status[:3]
    if klass in ("5.6", "4.6"):
        return "contenterror"
    if klass in ("5.7", "4.7"):
        return "securityerror"
    if f.diagnostic_type.upper().startswith("X-UNIX"):
        return "mailererror"
    if _syntax_reply(f):
        return "syntaxerror"
    if f.action.startswith(("delayed", "expired")):
        return "expired"
    if f.command in ("EHLO", "HELO"):
        return "blocked"
    return ""


def decide(f: Facts, preset: str = "") -> str:
    """The reason (Sisimai's classic names) for one failure, ``undefined`` if none fits.

    ``preset`` is what the bounce's writer said (an MTA's own message table): final
    unless it is a reason the words should confirm (then it wins at its turn).
    """
    if preset and preset not in _RETRY:
        return preset
    if f.status.startswith("2."):
        return "delivered"
    text = f.diagnostic.lower()
    if f.diagnostic_type in ("", "SMTP"):
        for name in _ORDER_TRUE:
            if name == preset or _true(name, f, text):
                return name
    if preset:
        return preset
    reason = _another(f, text)
    if reason:
        return reason
    if f.action == "delayed":
        return "expired"
    if _match("vacation", text):
        return "vacation"
    return "onhold" if text else "undefined"


def words_reason(words: str) -> str:
    """The first reason whose vocabulary ``words`` contain (Sisimai::Reason->match)."""
    text = words.lower()
    for name in _ORDER_WORDS:
        if _match(name, text):
            return name
    if "x-unix; " in text:
        return "mailererror"
    return ""
