"""ESP events as delivery records (pure: parsed JSON in, events out).

Amazon SES (its SNS notifications, ``notificationType``, and event publishing,
``eventType``: Send, Delivery, Bounce Permanent/Transient, Complaint, Reject,
DeliveryDelay; docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html),
SES wrapped in an SNS envelope (``"Type": "Notification"``), and SendGrid's Event
Webhook (a JSON array of objects with ``event``: processed, delivered, deferred,
bounce with ``type`` bounce/blocked, dropped with its ``reason``, spamreport;
twilio.com/docs/sendgrid/for-developers/tracking-events/event). The events'
own JSON shape (``events show --format jsonl``) is read back too.
Every reply goes through the bounce classifier (:func:`.reply.read_reply`).

The sending IP: SendGrid's delivery events carry it (``ip``). SES's documented event
shape has none: ``mail.sourceIp`` is the client that called the SES API and
``delivery.remoteMtaIp`` the receiver's server, neither the IP the mail left from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from maildoctor.events.address import address_key
from maildoctor.events.model import Event, from_dict, ip_or_empty
from maildoctor.events.reply import read_reply

__all__ = ["Parsed", "UnknownShape", "events_from_body", "events_from_json", "shape_of"]


class UnknownShape(ValueError):
    """JSON that is neither SES, SNS, SendGrid nor the events' own records."""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _time(value: object) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = _str(value)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def shape_of(data: Any) -> str:
    """``ses``, ``sns``, ``sendgrid``, ``records`` or ``""`` for a shape none of them sends."""
    if isinstance(data, list):
        if data and all(isinstance(d, dict) and "event" in d and "email" in d for d in data):
            return "sendgrid"
        if data and all(isinstance(d, dict) and "status" in d and "address" in d for d in data):
            return "records"
        return ""
    if not isinstance(data, dict):
        return ""
    if data.get("Type") in ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"):
        return "sns"
    if ("eventType" in data or "notificationType" in data) and isinstance(data.get("mail"), dict):
        return "ses"
    if "event" in data and "email" in data:
        return "sendgrid"
    if "status" in data and "address" in data and "time" in data:
        return "records"
    return ""


def events_from_json(data: Any, *, origin: str, position: str = "") -> list[Event]:
    """The records in one JSON value; UnknownShape (one line saying why) otherwise.

    ``position`` identifies the value in its source (a line number) for records that
    carry no id of their own.
    """
    shape = shape_of(data)
    if shape == "sendgrid":
        items = data if isinstance(data, list) else [data]
        return [e for item in items for e in _sendgrid(item, origin)]
    if shape == "ses":
        return list(_ses(data, origin))
    if shape == "sns":
        kind = data.get("Type")
        if kind != "Notification":
            raise UnknownShape(
                f"an SNS {kind}: confirm the subscription with its SubscribeURL; it holds no events"
            )
        try:
            inner = json.loads(_str(data.get("Message")))
        except (ValueError, RecursionError):
            raise UnknownShape("an SNS notification whose Message is not JSON") from None
        if shape_of(inner) != "ses":
            raise UnknownShape("an SNS notification that carries no Amazon SES event")
        return list(_ses(inner, origin))
    if shape == "records":
        items = data if isinstance(data, list) else [data]
        out = []
        for i, item in enumerate(items):
            key = "api:" + _digest(json.dumps(item, sort_keys=True, ensure_ascii=False))
            try:
                event = from_dict(item, key=key, origin=origin)
            except ValueError as e:
                raise UnknownShape(f"record {i + 1}: {e}") from None
            out.append(Event(**{**event.__dict__, "address": address_key(event.address)}))
        return out
    keys = (
        ", ".join(k[:40] for k in sorted(data)[:6])
        if isinstance(data, dict)
        else type(data).__name__
    )
    raise UnknownShape(
        f"JSON of an unknown shape ({keys}): not an SES/SNS notification, a SendGrid "
        "event or a delivery record"
    )


@dataclass
class Parsed:
    """What a JSON body (one document, or JSON lines) held."""

    events: list[Event] = field(default_factory=list)
    read: int = 0
    """JSON values read."""
    errors: list[str] = field(default_factory=list)
    """One line per value that could not be used (the first few), naming where."""
    bad: int = 0
    """Values that could not be used."""


def events_from_body(data: bytes, *, origin: str, most_errors: int = 5) -> Parsed:
    """The records in a body as ESPs post it (one JSON document) or as a file of
    JSON lines holds them; a bad line is named and skipped, the others are kept."""
    out = Parsed()
    text = data.decode("utf-8", "replace").removeprefix("\ufeff")  # a BOM is no record
    # A document nested deeper than Python's recursion limit is not JSON an ESP sends.
    try:
        whole = json.loads(text)
    except (ValueError, RecursionError):
        lines: list[tuple[int, str]] = list(enumerate(text.splitlines(), 1))
    else:
        lines = []
        out.read = 1
        try:
            _keep(events_from_json(whole, origin=origin), out, "", most_errors)
        except (UnknownShape, RecursionError) as e:
            out.bad += 1
            out.errors.append(str(e) if isinstance(e, UnknownShape) else "nested too deep")
    for number, line in lines:
        if not line.strip():
            continue
        out.read += 1
        try:
            _keep(
                events_from_json(json.loads(line), origin=origin),
                out,
                f"line {number}: ",
                most_errors,
            )
        except (ValueError, RecursionError) as e:
            out.bad += 1
            why = str(e) if isinstance(e, UnknownShape) else "not JSON"
            if len(out.errors) < most_errors:
                out.errors.append(f"line {number}: {why}")
    return out


def _keep(events: list[Event], out: Parsed, where: str, most_errors: int) -> None:
    """Add ``events`` to ``out``, but not one holding a lone surrogate: JSON can escape
    one (``"\\ud800"``), no UTF-8 text (nor SQLite) can hold it; it is a bad value,
    named, and the others are kept (it was a UnicodeEncodeError: a traceback, a 500)."""
    for event in events:
        try:
            json.dumps(vars(event), default=str, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            out.bad += 1
            if len(out.errors) < most_errors:
                out.errors.append(f"{where}a value holds an invalid character (a lone surrogate)")
            continue
        out.events.append(event)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()


# -- Amazon SES --------------------------------------------------------------


def _ses(data: dict[str, Any], origin: str) -> Iterator[Event]:
    kind = _str(data.get("eventType") or data.get("notificationType"))
    mail = _dict(data.get("mail"))
    common = _dict(mail.get("commonHeaders"))
    ses_id = _str(mail.get("messageId"))
    base: dict[str, Any] = {
        "source": "ses",
        "origin": origin,
        "queue_id": ses_id,
        "message_id": _str(common.get("messageId")).strip("<>"),
        "subject": _str(common.get("subject")),
    }
    sent = _time(mail.get("timestamp")) or datetime.now(UTC)

    def key(address: str, when: object) -> str:
        return f"ses:{ses_id}:{kind}:{address}:{_str(when)}"

    if kind == "Send":
        for addr in map(_str, _list(mail.get("destination"))):
            a = address_key(addr)
            yield Event(time=sent, address=a, status="queued", key=key(a, ""), **base)
    elif kind == "Delivery":
        d = _dict(data.get("delivery"))
        when = _time(d.get("timestamp")) or sent
        for addr in map(_str, _list(d.get("recipients"))):
            a = address_key(addr)
            yield Event(
                time=when,
                address=a,
                status="sent",
                key=key(a, d.get("timestamp")),
                reply=_str(d.get("smtpResponse")),
                relay=_str(d.get("reportingMTA")),
                **base,
            )
    elif kind in ("Bounce", "DeliveryDelay"):
        bounce = kind == "Bounce"
        b = _dict(data.get("bounce" if bounce else "deliveryDelay"))
        when = _time(b.get("timestamp")) or sent
        permanent = _str(b.get("bounceType")) == "Permanent"
        listed = b.get("bouncedRecipients" if bounce else "delayedRecipients")
        for r in map(_dict, _list(listed)):
            a = address_key(_str(r.get("emailAddress")))
            diag = _str(r.get("diagnosticCode"))
            words = diag.partition(";")[2].strip() if diag[:8].count(";") else diag
            reading = read_reply(
                words or _str(b.get("bounceSubType")),
                a,
                status=_str(r.get("status")),
                failed=bounce,
            )
            hard = bounce and (reading.hard or (permanent and reading.reason == "undefined"))
            yield Event(
                time=when,
                address=a,
                status="bounced" if bounce else "deferred",
                key=key(a, b.get("timestamp")),
                reply=words,
                reason=reading.reason,
                hard=hard,
                dsn=reading.status,
                relay=_str(b.get("reportingMTA")).partition(";")[2].strip(),
                detail={
                    "bounce_type": _str(b.get("bounceType") or b.get("delayType")),
                    "bounce_subtype": _str(b.get("bounceSubType")),
                },
                **base,
            )
    elif kind == "Complaint":
        c = _dict(data.get("complaint"))
        when = _time(c.get("timestamp")) or sent
        for r in map(_dict, _list(c.get("complainedRecipients"))):
            a = address_key(_str(r.get("emailAddress")))
            yield Event(
                time=when,
                address=a,
                status="complaint",
                key=key(a, c.get("timestamp")),
                reason="feedback",
                reply=_str(c.get("complaintFeedbackType")),
                **base,
            )
    elif kind == "Reject":
        reason = _str(_dict(data.get("reject")).get("reason"))
        for addr in map(_str, _list(mail.get("destination"))):
            a = address_key(addr)
            yield Event(
                time=sent, address=a, status="dropped", key=key(a, ""), reply=reason, **base
            )
    # Open, Click, Rendering Failure, Subscription: not delivery records.


# -- SendGrid ------------------------------------------------------------------

_SG_STATUS = {
    "processed": "queued",
    "delivered": "sent",
    "deferred": "deferred",
    "bounce": "bounced",
    "blocked": "bounced",
    "dropped": "dropped",
    "spamreport": "complaint",
}


def _sendgrid(item: dict[str, Any], origin: str) -> Iterator[Event]:
    kind = _str(item.get("event"))
    status = _SG_STATUS.get(kind)
    if status is None:
        return  # open, click, unsubscribe...: engagement, not delivery
    a = address_key(_str(item.get("email")))
    when = _time(item.get("timestamp")) or datetime.now(UTC)
    event_id = _str(item.get("sg_event_id")) or _digest(json.dumps(item, sort_keys=True))
    reply = _str(item.get("response") or item.get("reason"))
    reason, hard, dsn = "", False, _str(item.get("status"))
    if status in ("bounced", "deferred"):
        reading = read_reply(reply, a, status=dsn, failed=status == "bounced")
        # SendGrid's "blocked" is its own word for a temporary refusal.
        blocked = kind == "blocked" or _str(item.get("type")) == "blocked"
        reason, hard, dsn = reading.reason, reading.hard and not blocked, reading.status
    elif status == "complaint":
        reason = "feedback"
    yield Event(
        time=when,
        address=a,
        status=status,
        source="sendgrid",
        key=f"sendgrid:{event_id}",
        reply=reply,
        reason=reason,
        hard=hard,
        dsn=dsn,
        message_id=_str(item.get("smtp-id")).strip("<>"),
        queue_id=_str(item.get("sg_message_id")),
        origin=origin,
        # On delivery events SendGrid's ``ip`` is the IP it sent from (on engagement
        # events, skipped above, it is the reader's).
        sending_ip=ip_or_empty(item.get("ip")),
        detail={
            k: _str(item[k]) for k in ("type", "attempt", "bounce_classification") if k in item
        },
    )
