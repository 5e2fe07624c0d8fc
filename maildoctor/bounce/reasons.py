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

from dataclasses import dataclass

from maildoctor.bounce.vocabulary import matches, status_reason

__all__ = ["RENAMED", "RETRY", "Facts", "current_name", "decide", "words_reason"]

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
    "failedstarttls",
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
    "failedstarttls",
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
RETRY = {
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
            return not any(matches(o, text) for o in others)
        # Refused at RCPT, or (command not named) with an X.1.X addressing status.
        to_address = f.command == "RCPT" or (not f.command and f.status[1:3] == ".1")
        return to_address and matches("userunknown", text)
    if reason == "filtered":
        if by_status == "suspend" or (not f.command and f.status[1:3] == ".1"):
            return False  # an X.1.X status is about the address, not the content
        if by_status == "filtered":
            return matches("userunknown", text) or matches("filtered", text)
        if f.command in _NOT_CONTENT:
            return False
        return matches("filtered", text) or matches("userunknown", text)
    if reason == "rejected":
        status_says = by_status or "undefined"
        if status_says == "rejected":
            return True
        if f.command == "MAIL":
            return matches("rejected", text)
        if f.command == "DATA":
            return status_says != "userunknown" and matches("rejected", text)
        if status_says in ("onhold", "undefined", "securityerror", "systemerror"):
            return matches("rejected", text)
        return False
    if reason == "hostunknown":
        # Sisimai guards only its status branch; a resolver failure ("Host not found,
        # try again") must never read as "the domain does not exist", whatever the status.
        if matches("networkerror", text):
            return False
        return by_status == "hostunknown" or matches("hostunknown", text)
    if reason == "mesgtoobig":
        if by_status == "mesgtoobig":
            return True
        if by_status == "exceedlimit" or f.status == "5.2.3":
            return False
        return matches("mesgtoobig", text)
    if reason == "norelaying":
        return f.command not in _BEFORE_CONNECTION and matches("norelaying", text)
    if reason == "notaccept":
        return _reply(f) in (521, 554, 556) or (f.command == "MAIL" and matches("notaccept", text))
    if reason == "suspend" and _reply(f) == 525:
        return True
    if reason in ("spamdetected", "virusdetected") and f.command in _NOT_CONTENT:
        return reason == "spamdetected" and by_status == "spamdetected"
    if reason in ("hasmoved", "badreputation", "speeding", "notcompliantrfc", "suspend"):
        return matches(reason, text)
    return by_status == reason or matches(reason, text)


def _syntax_reply(f: Facts) -> bool:
    code = _reply(f)
    return 400 < code < 408 or 500 < code < 508


def _another(f: Facts, text: str) -> str:
    """Sisimai::Reason->anotherone: the status code's reason, or what else fits."""
    if f.command == "STARTTLS" or _reply(f) in (523, 524, 538):
        return "failedstarttls"  # go-sisimai: refused at STARTTLS, or TLS-specific replies
    reason = status_reason(f.status)
    if reason and reason not in RETRY and f.diagnostic_type in ("", "SMTP"):
        return reason
    for name in _ORDER_OTHER:
        if matches(name, text):
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


#: how Postfix names the command after the remote server's words; Sisimai's vocabulary
#: is written against diagnostics that keep it ("recipient address rejected. (in reply
#: to rcpt to command)"), maildoctor keeps the command apart
_IN_REPLY_TO = {
    "RCPT": " (in reply to rcpt to command)",
    "MAIL": " (in reply to mail from command)",
    "DATA": " (in reply to end of data command)",
}


def _with_command(text: str, command: str) -> str:
    if command in _IN_REPLY_TO and "(in reply to " not in text:
        return text.rstrip() + _IN_REPLY_TO[command]
    return text


def decide(f: Facts, preset: str = "") -> str:
    """The reason (Sisimai's classic names) for one failure, ``undefined`` if none fits.

    ``preset`` is what the bounce's writer said (an MTA's own message table): final
    unless it is a reason the words should confirm (then it wins at its turn).
    """
    if preset and preset not in RETRY:
        return preset
    if f.status.startswith("2."):
        return "delivered"
    text = _with_command(f.diagnostic.lower(), f.command)
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
    if matches("vacation", text):
        return "vacation"
    return "onhold" if text else "undefined"


def words_reason(words: str) -> str:
    """The first reason whose vocabulary ``words`` contain (Sisimai::Reason->match)."""
    text = words.lower()
    for name in _ORDER_WORDS:
        if matches(name, text):
            return name
    if "x-unix; " in text:
        return "mailererror"
    return ""
