"""Decide why each recipient bounced (pure: facts in, explanations out).

Reasons are Sisimai's, reported under their current names (``ratelimited``,
``emailtoolarge`` since December 2025). Tried in this order:

1. a receiving provider's own meaning of its words ([[rhost]] in
   ``maildoctor/data/bounce_patterns.toml``, after ``Sisimai::Rhost::*``: au
   answers "550 : User unknown" to mail its receive filter refuses; docomo did
   the same until 2025-03-13);
2. what the MTA that wrote the bounce means by its own words
   (``[lhost_messages]``, after each ``Sisimai::Lhost::*``);
3. Sisimai's reason rules over words, status code and SMTP command
   (:mod:`maildoctor.bounce.reasons`, vocabulary in ``bounce_reasons.toml``);
4. the bounce's own explanation text, when the recipient's words said nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from maildoctor.bounce.parse import BounceRecipient, ParsedBounce
from maildoctor.bounce.patterns import CarrierRule, lhost_of, tables
from maildoctor.bounce.reasons import RETRY, Facts, current_name, decide, words_reason
from maildoctor.bounce.vocabulary import (
    lhost_command_reason,
    lhost_reason,
    mda_reason,
    rhost_reason,
)

__all__ = ["Explanation", "classify"]


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
    """Which rule decided: ``rhost:KDDI (au)``, ``lhost:Exim``, ``sisimai-rules``, ``text``..."""
    kind: str = "bounce"
    """``bounce``, or what is kept apart from bounces: ``delivered`` (a delivery report),
    ``autoreply`` (RFC 3834), ``feedback`` (an ARF complaint)."""
    date: datetime | None = None
    """When the bounce was written (its Date header)."""


_KINDS = {"delivered": "delivered", "vacation": "autoreply", "feedback": "feedback"}


def _domain(addr: str) -> str:
    return addr.rpartition("@")[2].lower()


def _carrier_id(recipient: str) -> str:
    from maildoctor.carriers import carrier_for_domain

    found = carrier_for_domain(_domain(recipient)) if recipient else None
    return found.id if found is not None else ""


def _rhost(r: BounceRecipient) -> CarrierRule | None:
    hosts = [h for h in (r.remote_mta.rstrip(".").lower(), _domain(r.recipient)) if h]
    if not hosts:
        return None
    for rule, either in _carrier_hosts():
        if any(either.search(h) for h in hosts):
            return rule
    return None


@cache
def _carrier_hosts() -> tuple[tuple[CarrierRule, re.Pattern[str]], ...]:
    """Each carrier rule with its host patterns as one (any of them matches)."""
    return tuple(
        (rule, re.compile("|".join(f"(?:{p.pattern})" for p in rule.hosts), re.I | re.M))
        for rule in tables().carriers
    )


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


def _classify(
    r: BounceRecipient, bounce: ParsedBounce, rhost: CarrierRule | None
) -> tuple[str, str]:
    """(reason, which rule decided) for ``r``, given its carrier rule (looked up once)."""
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

    facts = Facts(
        diagnostic=r.diagnostic,
        status=r.status,
        reply_code=r.reply_code,
        command=r.command,
        action=r.action,
        diagnostic_type=r.diagnostic_type,
    )
    lhost = lhost_of(bounce.mta)
    headers = bounce.headers if lhost else ""
    preset = r.reason_hint or (
        (
            lhost_command_reason(lhost, r.command)
            or lhost_reason(lhost, r.diagnostic, headers=headers)
        )
        if lhost
        else ""
    )
    if not lhost and (not preset or preset in RETRY):
        # No MTA's layout recognised: a local delivery agent's words (Sisimai reads
        # them in its RFC 3464 fallback only)
        preset = mda_reason(bounce.sender, bounce.text) or preset
    if lhost and bounce.text and len(bounce.recipients) == 1 and (not preset or preset in RETRY):
        # The MTA may write its reason once, apart from the recipients (au's EZweb:
        # "The user(s) account is disabled." above "<addr>: 550 user unknown"); with
        # several recipients the text also holds the others' reasons, so not then.
        preset = lhost_reason(lhost, bounce.text) or preset
    # As Sisimai::Fact does: what the bounce's writer decided stands, unless it is a
    # reason the words should confirm; then the receiving provider's reading comes first.
    if not preset or preset in RETRY:
        provider, said = rhost_reason(
            r.remote_mta, _domain(r.recipient), r.diagnostic, r.status, bounce.reporting_mta
        )
        if said:
            return said, f"rhost:{provider}"
    reason = decide(facts, preset)
    if reason in ("onhold", "undefined") and bounce.text and bounce.text != r.diagnostic:
        # The recipient's own lines said nothing decisive: the bounce's explanation
        # (the text around the recipients) as a last resort.
        preset = lhost_reason(lhost, bounce.text) if lhost else ""
        general = preset or words_reason(bounce.text)
        if general:
            return decide(facts, general), "text"
    if preset and reason == preset:
        return reason, f"lhost:{lhost}"
    return reason, "sisimai-rules"


def _hard(hard: bool, reason: str, r: BounceRecipient) -> bool:
    """Whether the failure is permanent (Sisimai::SMTP::Failure->is_hardbounce): a host
    that takes no mail (``notaccept``) is hard only when its code is not temporary (4xx)."""
    if reason != "notaccept":
        return hard
    code = r.status or r.reply_code
    if code:
        return not code.startswith("4")
    return not re.search(r" temporar| persistent", r.diagnostic, re.I)


def classify(bounce: ParsedBounce) -> tuple[Explanation, ...]:
    """One :class:`Explanation` per recipient of ``bounce``."""
    out = []
    t = tables()
    for r in bounce.recipients:
        rhost = _rhost(r)
        reason, decided_by = _classify(r, bounce, rhost)
        reason = current_name(reason)
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
                hard_bounce=_hard(rule.hard, reason, r),
                status=r.status,
                reply_code=r.reply_code,
                diagnostic=r.diagnostic,
                remote_mta=r.remote_mta,
                reporting_mta=bounce.reporting_mta,
                mta=bounce.mta,
                carrier=carrier,
                advice=advice,
                decided_by=decided_by,
                kind=_KINDS.get(reason, "bounce"),
                date=bounce.date,
            )
        )
    return tuple(out)
