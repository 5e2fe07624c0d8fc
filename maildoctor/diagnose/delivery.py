"""The delivery record in a diagnosis: what actually happened, before any inference.

:func:`delivery_for` reads the address's records (:func:`maildoctor.events.lookup`)
and :class:`Delivery` says what they settle: accepted by the carrier, bounced hard or
soft, delayed or expired, suppressed, or nothing sent at all in the period searched.
:func:`rank_advice` puts the advice that evidence calls for before the rules' advice,
and :func:`delivery_draft` gives the reply draft when the evidence makes the inferred
one wrong (a hard bounce asks for another address; no record never blames the
customer's settings).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from maildoctor.events.lookup import AddressRecord, lookup
from maildoctor.events.model import Event
from maildoctor.events.report import status_label
from maildoctor.events.store import DEFAULT_DAYS, EventStore, EventStoreError
from maildoctor.events.timeline import explanation_of
from maildoctor.findings import Lang
from maildoctor.words import reason_label, words

__all__ = [
    "VERDICTS",
    "Delivery",
    "after_bounce",
    "delivery_draft",
    "delivery_for",
    "rank_advice",
    "with_address",
]

#: What the records settle (``delivery.verdict`` in JSON).
VERDICTS = (
    "accepted",
    "queued",
    "bounced_hard",
    "bounced_soft",
    "delayed",
    "suppressed",
    "no_record",
    "no_record_address",
    "not_searched",
)
#: Advice the evidence calls for, before the rules' advice.
_FIRST = {
    "accepted": ("check_spam_folder", "carrier_settings", "allow_sender_domain"),
    "bounced_hard": ("use_other_address", "reregister"),
    "delayed": ("retry_later", "sender_side_fix"),
    "suppressed": ("use_other_address",),
    "no_record": ("escalate_not_sent",),  # not "refused by the sender's DNS": nothing was sent
}
#: Advice about the customer's mailbox settings, which a record can rule out.
_MAILBOX = ("check_spam_folder", "carrier_settings", "allow_sender_domain", "ask_mail_admin")


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """What our own records say about mail to the address."""

    verdict: str
    """One of :data:`VERDICTS`."""
    record: AddressRecord | None
    """The timeline, suppression and what was searched (None: no store to search)."""
    error: str = ""
    """Why the records could not be read (a damaged store), said, never hidden."""

    @property
    def latest(self) -> Event | None:
        if self.record is None or not self.record.events:
            return None
        return self.record.events[0]

    def summary(self, lang: Lang, zone: tzinfo = UTC) -> str:
        """The one sentence the agent reads first (its times in ``zone``, named)."""
        w = words("delivery", lang)
        if self.error:
            return self.error
        e = self.latest
        s = self.record.suppression if self.record is not None else None
        if self.verdict == "suppressed" and s is not None:
            why = words("events", lang)[f"why_{s.why}"]
            return w["suppressed"].format(
                since=_when(s.since, zone), why=why, reason=reason_label(s.reason, lang)
            )
        if e is None:
            return w[self.verdict]
        return w[self.verdict].format(
            time=_when(e.time, zone),
            relay=e.relay or e.source,
            reason=reason_label(e.reason, lang),
            status=status_label(e.status, lang),
        )

    def searched_text(self, lang: Lang, zone: tzinfo = UTC) -> str:
        if self.record is None:
            return ""
        s = self.record.searched
        kinds = Counter(str(x["source"]) for x in s.sources)
        names = ", ".join(f"{kind} ×{n}" for kind, n in sorted(kinds.items())) or "-"
        return words("delivery", lang)["searched"].format(
            sources=names, since=_when(s.since, zone), until=_when(s.until, zone)
        )

    def to_dict(self, lang: Lang = "ja", zone: tzinfo = UTC) -> dict[str, Any]:
        """The ``delivery`` object of the diagnosis' JSON: the sentences' times in ``zone``
        (the desk gives the reader's), the records' ``time`` ISO 8601 in UTC."""
        record = self.record
        return {
            "verdict": self.verdict,
            "heading": words("delivery", lang)["heading"],
            "summary": self.summary(lang, zone),
            "searched_text": self.searched_text(lang, zone),
            "records": [
                {**e.to_dict(), "label": status_label(e.status, lang)} for e in record.events
            ]
            if record
            else [],
            "suppressed": record.to_dict()["suppressed"] if record else None,
            "searched": record.searched.to_dict() if record else None,
            "error": self.error or None,
        }


def _when(t: datetime, zone: tzinfo = UTC) -> str:
    """``t`` in ``zone``, the zone named: "2026-12-07 18:42 JST" (the CLI's: "... UTC")."""
    return t.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def verdict_of(record: AddressRecord) -> str:
    """What the records settle, the latest record deciding (pure).

    A hard bounce reads as such even though it also suppresses the address: "the
    address does not take mail" is what the agent must say. ``suppressed`` is for the
    other ways we stop sending (a complaint, the ESP's drop, repeated soft bounces).
    """
    e = record.events[0] if record.events else None
    if e is None:
        return "no_record" if record.searched.sources else "not_searched"
    if e.status == "bounced" and e.hard:
        return "bounced_hard"
    if record.suppression is not None or e.status in ("complaint", "dropped", "suppressed"):
        return "suppressed"
    if e.status == "sent":
        return "accepted"
    if e.status == "bounced":
        return "bounced_soft"
    if e.status in ("deferred", "expired"):
        return "delayed"
    return "queued"  # handed to the sender (SES Send, SendGrid processed), no answer yet


def delivery_for(
    address: str, events_db: Path | None, *, days: int = DEFAULT_DAYS, now: datetime | None = None
) -> Delivery:
    """The delivery record of ``address`` from the store at ``events_db`` (read only)."""
    from maildoctor.events.store import default_events_db

    path = events_db or default_events_db()
    if not path.exists():
        return Delivery(verdict="not_searched", record=None)
    try:
        with EventStore(path, create=False) as store:
            record = lookup(store, address, days=days, now=now)
    except EventStoreError as e:
        return Delivery(verdict="not_searched", record=None, error=str(e))
    return Delivery(verdict=verdict_of(record), record=record)


def with_address(delivery: Delivery, undeliverable: bool) -> Delivery:
    """No record is no mystery when the address itself cannot take mail (malformed, no
    such domain): ``no_record_address`` keeps the address's advice and draft instead of
    sending the agent to the developers and telling the customer it is not their address."""
    if delivery.verdict == "no_record" and undeliverable:
        return replace(delivery, verdict="no_record_address")
    return delivery


def after_bounce(bounce_advice: Sequence[str], advice: Sequence[str]) -> list[str]:
    """A bounce in hand (pasted by the agent) puts its own advice first, as the draft
    answers from it; the mail was refused, so advice about the mailbox's folders and
    settings stays only when the bounce's reason calls for it."""
    rest = [a for a in advice if a not in _MAILBOX]
    return list(dict.fromkeys([*bounce_advice, *rest]))


def rank_advice(delivery: Delivery | None, advice: list[str]) -> list[str]:
    """``advice`` with what the evidence calls for first; mailbox-settings advice goes
    when the records show the mail never reached the mailbox."""
    if delivery is None or delivery.verdict not in _FIRST:
        return advice
    first = list(_FIRST[delivery.verdict])
    rest = advice
    if delivery.verdict in ("bounced_hard", "delayed", "suppressed", "no_record"):
        rest = [a for a in advice if a not in _MAILBOX]
    return list(dict.fromkeys(first + rest))


def delivery_draft(
    delivery: Delivery | None, address: str, templates_dir: Path | None, lang: Lang
) -> str | None:
    """The reply draft the evidence calls for, or None to keep the inferred one.

    A bounce (or the bounce a suppression stems from) is answered as ``maildoctor
    bounce --reply`` answers it; no record and a delay get a draft that promises a look
    on our side and asks nothing of the customer's settings.
    """
    if delivery is None or delivery.record is None:
        return None
    from maildoctor.mail.templating import environment
    from maildoctor.mail.templating import templates_dir as resolve_dir

    case = delivery.verdict
    bounced = _bounce_behind(delivery) if case == "suppressed" else delivery.latest
    if case in ("bounced_hard", "bounced_soft") or (case == "suppressed" and bounced is not None):
        assert bounced is not None
        from maildoctor.bounce.report import format_reply

        # as `maildoctor bounce --reply` answers the same bounce
        return format_reply(_explanation(bounced), templates_dir, lang)
    if case not in ("no_record", "delayed", "suppressed"):
        return None
    folder = words("reply_templates", lang)["folder"]
    name = f"{folder}delivery_pending.txt.j2"
    env = environment(resolve_dir(templates_dir))
    return env.get_template(name).render(address=address, case=case)


def _bounce_behind(delivery: Delivery) -> Event | None:
    assert delivery.record is not None
    for e in delivery.record.events:
        if e.status in ("bounced", "expired"):
            return e
    return None


def _explanation(e: Event) -> Any:
    from maildoctor.bounce.patterns import tables
    from maildoctor.carriers import carrier_for_domain

    t = tables()
    rule = t.reasons.get(e.reason) or t.reasons["undefined"]
    carrier = carrier_for_domain(e.address.rpartition("@")[2])
    return explanation_of(e, carrier=carrier.id if carrier else "", advice=rule.advice)


def delivery_lines(delivery: Delivery, lang: Lang, *, markdown: bool = False) -> list[str]:
    """The 配信記録 block that opens the text (or markdown) report; nothing when no
    records were ever ingested (the JSON still says ``not_searched``)."""
    if delivery.verdict == "not_searched" and not delivery.error:
        return []
    w = words("delivery", lang)
    heading = f"### {w['heading']}" if markdown else w["heading"]
    indent = "" if markdown else "  "
    lines = [heading, f"{indent}{delivery.summary(lang)}"]
    searched = delivery.searched_text(lang)
    if searched:
        lines.append(f"{indent}{searched}")
    e = delivery.latest
    if e is not None:
        lines.append(f"{indent}{w['latest']}: {_when(e.time)} {status_label(e.status, lang)}")
        facts = (e.message_id and f"Message-ID {e.message_id}", e.reply)
        lines += [f"{indent}  {f}" for f in facts if f]
    return [*lines, ""]
