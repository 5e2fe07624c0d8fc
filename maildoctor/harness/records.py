"""What the store keeps: each recipient's delivery, a message coming in, a stored message."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from maildoctor.harness.policy import Decision, Outcome
from maildoctor.mail.decode import decode_header

__all__ = ["TRIAL_HELO", "Delivery", "NewMessage", "StoredMessage", "from_row", "summary_of"]

#: The HELO name of the delivery trials (``diagnose`` and the desk): the developer's
#: list hides these unless asked (``tag:trial``, or ``trials=True``).
TRIAL_HELO = "maildoctor-diagnose"


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """One recipient of a message and what its simulated mailbox did."""

    recipient: str
    """The RCPT TO address."""
    decision: Decision
    """Outcome, rule and SMTP reply."""
    profile: str = ""
    """The name of the profile that decided."""

    @property
    def outcome(self) -> Outcome:
        return self.decision.outcome

    @property
    def rule(self) -> str:
        return self.decision.rule

    def to_dict(self) -> dict[str, object]:
        return {"recipient": self.recipient, "profile": self.profile, **self.decision.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Delivery:
        return cls(
            recipient=data["recipient"],
            profile=data.get("profile", ""),
            decision=Decision(
                outcome=Outcome(data["outcome"]),
                rule=data["rule"],
                reply_code=int(data["reply_code"]),
                reply_text=data["reply_text"],
                rule_name=data.get("rule_name", ""),
            ),
        )


@dataclass(frozen=True, kw_only=True)
class NewMessage:
    """What the SMTP side hands the store at the end of DATA."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    deliveries: tuple[Delivery, ...]
    transcript: tuple[str, ...] = ()
    peer: str = ""
    helo: str = ""
    reply: str = ""
    subject: str = ""
    from_header: str = ""
    message_id: str = ""
    received_at: float = field(default_factory=time.time)


@dataclass(frozen=True, kw_only=True)
class StoredMessage:
    """A captured message as stored: envelope, raw bytes, transcript, decisions."""

    id: int
    """The store's id (the API's ``{id}``)."""
    received_at: float
    """Unix time when DATA ended."""
    mail_from: str
    """The envelope sender (MAIL FROM)."""
    rcpt_tos: tuple[str, ...]
    """Every RCPT TO the server accepted, plus any refused by a fault."""
    subject: str
    """The decoded Subject header."""
    from_header: str
    """The decoded From header."""
    message_id: str
    """The Message-ID header, as sent."""
    size: int
    """Size of the raw message in bytes."""
    peer: str
    """The client's address."""
    helo: str
    """The name the client gave in HELO/EHLO."""
    reply: str
    """The reply the server gave to the message (``250 ...`` or the rejection)."""
    deliveries: tuple[Delivery, ...]
    """Each recipient's decision."""
    transcript: tuple[str, ...] = ()
    """The SMTP conversation, one line per command or reply (empty in summaries)."""
    raw: bytes = b""
    """The message as received (empty in summaries)."""

    @property
    def message(self) -> EmailMessage:
        """The raw bytes parsed with the modern email policy."""
        msg = BytesParser(policy=email_policy.default).parsebytes(self.raw)
        assert isinstance(msg, EmailMessage)
        return msg

    def decision_for(self, recipient: str) -> Delivery:
        """The delivery of one recipient (case-insensitive); KeyError if absent."""
        for d in self.deliveries:
            if d.recipient.lower() == recipient.lower():
                return d
        raise KeyError(recipient)

    def summary(self) -> dict[str, object]:
        return {
            "id": self.id,
            "received_at": self.received_at,
            "mail_from": self.mail_from,
            "rcpt_tos": list(self.rcpt_tos),
            "subject": self.subject,
            "from": self.from_header,
            "message_id": self.message_id,
            "size": self.size,
            "peer": self.peer,
            "helo": self.helo,
            "trial": self.helo == TRIAL_HELO,
            "reply": self.reply,
            "decisions": [d.to_dict() for d in self.deliveries],
        }


def from_row(row: sqlite3.Row) -> StoredMessage:
    """A database row (a summary or in full) as a StoredMessage."""
    keys = row.keys()
    # One line per command or reply: SMTP lines never hold a line feed.
    return StoredMessage(
        id=row["id"],
        received_at=row["received_at"],
        mail_from=row["mail_from"],
        rcpt_tos=tuple(json.loads(row["rcpt_tos"])),
        # Rows stored before the Japanese fallbacks may hold raw MIME words: decode them.
        subject=decode_header(row["subject"]) if "=?" in row["subject"] else row["subject"],
        from_header=decode_header(row["from_header"])
        if "=?" in row["from_header"]
        else row["from_header"],
        message_id=row["message_id"],
        size=row["size"],
        peer=row["peer"],
        helo=row["helo"],
        reply=row["reply"],
        deliveries=tuple(Delivery.from_dict(d) for d in json.loads(row["decisions"])),
        transcript=tuple(row["transcript"].split("\n"))
        if "transcript" in keys and row["transcript"]
        else (),
        raw=bytes(row["raw"]) if "raw" in keys else b"",
    )


def summary_of(message_id: int, message: NewMessage) -> StoredMessage:
    """What :func:`from_row` reads back from a summary row of ``message``, without the
    read: the writer hands these to its listeners (:meth:`Store.subscribe_stored`)."""
    return StoredMessage(
        id=message_id,
        received_at=message.received_at,
        mail_from=message.mail_from,
        rcpt_tos=tuple(message.rcpt_tos),
        subject=message.subject,
        from_header=message.from_header,
        message_id=message.message_id,
        size=len(message.raw),
        peer=message.peer,
        helo=message.helo,
        reply=message.reply,
        deliveries=message.deliveries,
    )
