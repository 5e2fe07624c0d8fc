"""What a delivery record is: one thing that happened to one message for one address."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["SOURCES", "STATUSES", "Event", "from_dict", "ip_or_empty"]

#: Contract statuses, plus ``queued`` (the sender handed it over: SES Send, SendGrid processed).
STATUSES = (
    "queued",
    "sent",
    "deferred",
    "bounced",
    "expired",
    "suppressed",
    "complaint",
    "dropped",
)
#: Where records come from (``api`` is a record posted in the events' own JSON shape).
SOURCES = ("postfix", "ses", "sendgrid", "bounce", "harness", "api")


@dataclass(frozen=True, kw_only=True)
class Event:
    """One delivery record for one address."""

    time: datetime
    """When it happened (aware, UTC)."""
    address: str
    """The recipient, in the matching form of :func:`maildoctor.events.address.address_key`."""
    status: str
    """One of :data:`STATUSES`."""
    source: str
    """One of :data:`SOURCES`."""
    key: str
    """What makes the record unique (the log line, the ESP's event id): ingesting it twice
    adds nothing."""
    reply: str = ""
    """The receiving server's words, or the sender's own reason for a drop."""
    reason: str = ""
    """Sisimai reason from the bounce classifier (``userunknown``...), ``""`` for accepted mail."""
    hard: bool = False
    """Whether sending again as is can never succeed (the classifier's hard bounce)."""
    message_id: str = ""
    """The Message-ID header of the mail, when the source names it."""
    queue_id: str = ""
    """The MTA's or ESP's own id of the message."""
    relay: str = ""
    """The host that answered (``mx.example.jp[192.0.2.1]:25``), ``""`` if none."""
    dsn: str = ""
    """RFC 3463 status code (``5.1.1``)."""
    subject: str = ""
    """The subject or template, when known."""
    origin: str = ""
    """Which file, stream or endpoint it came from (what ``searched`` lists)."""
    sending_ip: str = ""
    """The IP our mail left from, where the source says it (SendGrid's ``ip``, the client
    the harness saw); ``""`` otherwise. ``sender`` checks these IPs' PTR and SPF."""
    detail: dict[str, Any] = field(default_factory=dict)
    """Anything else the source said that is worth keeping (``dsn_queue_id``, ``delay``)."""

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON shape (``events show --format json``)."""
        return {
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "address": self.address,
            "status": self.status,
            "reply": self.reply,
            "reason": self.reason,
            "hard": self.hard,
            "source": self.source,
            "message_id": self.message_id,
            "queue_id": self.queue_id,
            "relay": self.relay,
            "dsn": self.dsn,
            "subject": self.subject,
            "origin": self.origin,
            "sending_ip": self.sending_ip,
            "detail": self.detail,
        }


def ip_or_empty(value: object) -> str:
    """``value`` as a normalised IP address, ``""`` when it is not one."""
    try:
        text = value.strip().strip("[]") if isinstance(value, str) else ""
        return str(ipaddress.ip_address(text))
    except ValueError:
        return ""


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise ValueError(f"'{name}' must be a string")
    return value


def from_dict(data: Any, *, key: str, origin: str) -> Event:
    """A record in :meth:`Event.to_dict`'s shape (a JSON line posted or ingested).

    Raises ValueError naming what is wrong.
    """
    if not isinstance(data, dict):
        raise ValueError("a record must be a JSON object")
    status = _text(data, "status")
    if status not in STATUSES:
        raise ValueError(f"'status' must be one of {', '.join(STATUSES)}, not {status!r}")
    when = _text(data, "time")
    try:
        time = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"'time' is not an ISO 8601 time: {when!r}") from None
    if time.tzinfo is None:
        raise ValueError(f"'time' needs a UTC offset: {when!r}")
    address = _text(data, "address")
    if "@" not in address:
        raise ValueError(f"'address' is not an address: {address!r}")
    source = _text(data, "source") or "api"
    sending_ip = _text(data, "sending_ip")
    if sending_ip and not ip_or_empty(sending_ip):
        raise ValueError(f"'sending_ip' is not an IP address: {sending_ip!r}")
    hard = data.get("hard", False)
    if not isinstance(hard, bool):
        raise ValueError("'hard' must be true or false")
    return Event(
        time=time.astimezone(UTC),
        address=address,
        status=status,
        source=source if source in SOURCES else "api",
        key=key,
        reply=_text(data, "reply"),
        reason=_text(data, "reason"),
        hard=hard,
        message_id=_text(data, "message_id"),
        queue_id=_text(data, "queue_id"),
        relay=_text(data, "relay"),
        dsn=_text(data, "dsn"),
        subject=_text(data, "subject"),
        origin=origin,
        sending_ip=ip_or_empty(sending_ip),
    )
