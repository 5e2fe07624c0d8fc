"""What a bounce says, as plain facts: the results of parsing, and the one error it raises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["BounceRecipient", "NotABounce", "ParsedBounce"]


class NotABounce(ValueError):
    """The message carries no delivery failure report (it is not a bounce).

    ``code`` says why, for messages in other languages: ``not_an_email`` (no mail
    headers), ``no_failure`` (an email, but no report and no failure text),
    ``empty`` (nothing in the file), ``no_recipients`` (a notification naming no one).
    """

    def __init__(self, message: str, *, code: str = "no_failure") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, kw_only=True)
class BounceRecipient:
    """What the bounce says about one recipient."""

    recipient: str
    """The address that failed, lower-cased (``""`` when the bounce does not name it)."""
    action: str
    """RFC 3464 ``Action``: ``failed``, ``delayed``, ``delivered``... (text bounces: ``failed``)."""
    status: str
    """RFC 3463 enhanced status code (``5.1.1``), ``""`` when the bounce has none."""
    reply_code: str
    """SMTP reply code (``550``), ``""`` when the bounce has none."""
    diagnostic: str
    """The remote server's words (``Diagnostic-Code`` or the text next to the address)."""
    remote_mta: str
    """The host that refused the message, when named."""
    command: str
    """The SMTP command the failure answered (``RCPT``, ``DATA``, ...), ``""`` if unknown."""
    reason_hint: str = ""
    """What the bounce's writer itself calls the failure, in Sisimai's reason names
    (Amazon SES's ``bounceSubType: MailboxFull`` is ``mailboxfull``), ``""`` if nothing."""
    diagnostic_type: str = ""
    """The Diagnostic-Code type (``SMTP``, ``X-UNIX``...), ``""`` when the bounce gives none."""


@dataclass(frozen=True, kw_only=True)
class ParsedBounce:
    """A bounce message read into plain facts."""

    kind: str
    """``dsn`` (RFC 3464), ``text`` (an MTA's own format), ``feedback`` (RFC 5965 ARF
    complaint) or ``autoreply`` (RFC 3834 vacation and the like)."""
    mta: str
    """The software or service that wrote the bounce (``Postfix``, ``qmail``, ``au``...),
    ``""`` when unrecognised."""
    reporting_mta: str
    """``Reporting-MTA`` of a DSN, else the host in the bounce's Message-ID or From."""
    subject: str
    """The bounce's subject."""
    sender: str
    """The bounce's From header."""
    text: str
    """The human-readable explanation, without the copy of the original message."""
    original_to: str
    """``To`` of the returned original message, when it is attached."""
    date: datetime | None
    """When the bounce was written (its Date header), ``None`` if unreadable."""
    recipients: tuple[BounceRecipient, ...]
    """One entry per recipient the bounce reports."""
    headers: str = ""
    """The bounce's own header block (``Name: value`` lines)."""
