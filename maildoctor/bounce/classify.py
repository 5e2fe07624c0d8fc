"""Decide why each recipient bounced (pure: facts in, explanations out).

The reasons are Sisimai's classic taxonomy (``userunknown``, ``filtered``,
``mailboxfull``...). The rules, tried in this order, are data in
``maildoctor/data/bounce_patterns.toml``:

1. a receiving provider's own meaning of its words (au answers
   "550 : User unknown" to mail its receive filter refuses; docomo did the
   same until 2025-03-13);
2. the remote server's words, matched against each reason's phrases;
3. an RFC 3463 status code that is decisive on its own (``5.1.1``);
4. what the status class still says (``4.4.x`` timed out).

A phrase outranks a status code because servers send generic codes with
precise words far more often than the reverse; a few codes (``5.1.1``,
``5.2.2``, ``5.7.26``...) are trusted over the words because the words that
come with them are often boilerplate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from maildoctor.bounce.parse import BounceRecipient, ParsedBounce
from maildoctor.bounce.patterns import CarrierRule, tables

__all__ = ["Explanation", "classify", "classify_recipient"]


@dataclass(frozen=True, kw_only=True)
class Explanation:
    """Why one recipient's mail bounced, and what fits to do about it."""

    recipient: str
    """The failed address (``""`` when the bounce does not name it)."""
    reason: str
    """Sisimai reason name (``userunknown``, ``filtered``, ``mailboxfull``...)."""
    hard_bounce: bool
    """Whether sending again can never succeed as is."""
    status: str
    """RFC 3463 status code from the bounce (``5.1.1``), ``""`` if none."""
    reply_code: str
    """SMTP reply code (``550``), ``""`` if none."""
    diagnostic: str
    """The remote server's words."""
    remote_mta: str
    """The host that refused the mail, when named."""
    reporting_mta: str
    """The host that wrote the bounce."""
    mta: str
    """The software or service that wrote the bounce, ``""`` when unrecognised."""
    carrier: str
    """maildoctor carrier id of the recipient's Japanese carrier, ``""`` if none."""
    advice: tuple[str, ...]
    """Advice catalog ids that fit this reason."""
    decided_by: str
    """Which rule decided: ``rhost:KDDI (au)``, ``phrase``, ``status``, ``status-class``..."""


def _domain(addr: str) -> str:
    return addr.rpartition("@")[2].lower()


def _carrier_id(recipient: str) -> str:
    from maildoctor.carriers import carrier_for_domain

    found = carrier_for_domain(_domain(recipient)) if recipient else None
    return found.id if found is not None else ""


def _rhost(r: BounceRecipient) -> CarrierRule | None:
    hosts = [h for h in (r.remote_mta.rstrip(".").lower(), _domain(r.recipient)) if h]
    for rule in tables().carriers:
        if any(p.search(h) for p in rule.hosts for h in hosts):
            return rule
    return None


def _rhost_reason(rule: CarrierRule, r: BounceRecipient, when: datetime | None) -> str:
    words = r.diagnostic
    for pattern, status_cond, reason, command in rule.rules:
        if not pattern.search(words):
            continue
        if status_cond and not re.search(status_cond, r.status):
            continue
        if command and r.command != command:
            continue
        before, sep, rest = reason.partition("@")
        if not sep:
            return reason
        # "old@YYYY-MM-DD:new": the provider changed what the words mean on that day.
        cutoff, _, after = rest.partition(":")
        if when is not None and when.date().isoformat() >= cutoff:
            return after
        return before
    return ""


def _phrase_reason(words: str) -> str:
    if not words:
        return ""
    t = tables()
    for name in t.order:
        if any(p.search(words) for p in t.reasons[name].patterns):
            return name
    return ""


def _status_reason(status: str) -> str:
    if not status:
        return ""
    for name, rule in tables().reasons.items():
        if status in rule.statuses:
            return name
    return ""


def _refine(phrase: str, r: BounceRecipient) -> str:
    """What the SMTP command and the status add to the words' reason."""
    status_reason = _status_reason(r.status)
    # "User unknown" answered to DATA, or with a status that is not about the
    # address (5.2.x mailbox, 5.3.x system), is a filter refusing the content:
    # the mailbox was accepted at RCPT.
    if (
        phrase == "userunknown"
        and r.command != "RCPT"
        and (r.command == "DATA" or status_reason in ("filtered", "suspend", "systemerror"))
    ):
        return "filtered"
    if r.command == "MAIL" and phrase in ("securityerror", "userunknown", "filtered"):
        return "rejected"  # refused at MAIL FROM: the envelope sender was the problem
    if phrase == "hostunknown" and r.status.startswith("4."):
        return "networkerror"  # a DNS failure that the MTA will retry is not a missing domain
    return phrase


def classify_recipient(r: BounceRecipient, *, bounce: ParsedBounce) -> tuple[str, str]:
    """(reason, which rule decided) for one recipient of ``bounce``."""
    return _classify(r, bounce, _rhost(r))


def _classify(
    r: BounceRecipient, bounce: ParsedBounce, rhost: CarrierRule | None
) -> tuple[str, str]:
    """:func:`classify_recipient` given ``r``'s carrier rule (looked up once by the caller)."""
    if bounce.kind == "feedback":
        return "feedback", "kind"
    if bounce.kind == "autoreply":
        return "vacation", "kind"
    if r.action in ("delivered", "relayed", "expanded") or r.status.startswith("2."):
        return "delivered", "action"

    if rhost is not None:
        reason = _rhost_reason(rhost, r, bounce.date)
        if reason:
            return reason, f"rhost:{rhost.name}"

    decisive = tables().decisive.get(r.status, "")
    words = r.diagnostic
    phrase = _phrase_reason(words)
    if decisive and phrase not in ("authfailure", "suspend", "filtered", "requireptr"):
        return decisive, "status"
    if phrase:
        return _refine(phrase, r), "phrase"
    by_status = _status_reason(r.status)
    if by_status:
        return by_status, "status"
    # The bounce's own explanation (the text around the recipients) as a last resort.
    general = _phrase_reason(bounce.text) if bounce.text != words else ""
    if general:
        return general, "text"
    prefix = ".".join(r.status.split(".")[:2])
    by_class = tables().soft_statuses.get(prefix, "")
    if by_class:
        return by_class, "status-class"
    if r.status.startswith("4.") or r.action == "delayed":
        return "expired", "status-class"
    return "undefined", "none"


def classify(bounce: ParsedBounce) -> tuple[Explanation, ...]:
    """One :class:`Explanation` per recipient of ``bounce``."""
    out = []
    t = tables()
    for r in bounce.recipients:
        rhost = _rhost(r)
        reason, decided_by = _classify(r, bounce, rhost)
        rule = t.reasons.get(reason) or t.reasons["undefined"]
        # A test or forwarded domain may hide the carrier; its MX host does not.
        carrier = _carrier_id(r.recipient) or (rhost.carrier if rhost is not None else "")
        advice = rule.advice
        if (carrier, reason) in t.carrier_advice:
            advice = t.carrier_advice[(carrier, reason)][0]
        out.append(
            Explanation(
                recipient=r.recipient,
                reason=reason,
                hard_bounce=rule.hard,
                status=r.status,
                reply_code=r.reply_code,
                diagnostic=r.diagnostic,
                remote_mta=r.remote_mta,
                reporting_mta=bounce.reporting_mta,
                mta=bounce.mta,
                carrier=carrier,
                advice=advice,
                decided_by=decided_by,
            )
        )
    return tuple(out)
