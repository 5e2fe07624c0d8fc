"""Amazon SES notifications (bounce, complaint, delivery) sent as JSON to SNS
subscribers (after ``Sisimai::Lhost::AmazonSES``)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from maildoctor.bounce.lhost import recipient_from_text
from maildoctor.bounce.message import clean, codes, smtp_command, typed_value
from maildoctor.bounce.model import BounceRecipient, NotABounce, ParsedBounce


def ses_notification(text: str) -> dict[str, Any] | None:
    """Amazon SES sends bounces and complaints to SNS subscribers as JSON in a text body."""
    start = text.find('{"notificationType"')
    if start < 0:
        return None
    # Sendmail breaks lines longer than 990 octets with "!\n " (RFC 5321 4.5.3.1.6).
    body = re.sub(r"!\r?\n ", "", text[start:])
    try:
        data, _ = json.JSONDecoder(strict=False).raw_decode(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


#: SES's bounceSubType -> reason, where it says one (after Sisimai::Lhost::AmazonSES)
_SUBTYPES = {
    "MailboxFull": "mailboxfull",
    "MessageTooLarge": "mesgtoobig",
    # go-sisimai lhost/via-amazonses.go: SES did not send, the address is on its list
    "Suppressed": "suppressed",
    "OnAccountSuppressionList": "suppressed",
}


def _dict(value: object) -> dict[str, Any]:
    """``value`` when it is a JSON object, else ``{}`` (SES JSON of another shape)."""
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    """``value`` when it is a JSON array, else ``[]``."""
    return value if isinstance(value, list) else []


def from_ses(
    data: dict[str, Any], *, subject: str, sender: str, text: str, date: datetime | None
) -> ParsedBounce:
    # The JSON is whatever the file says: every object and array is checked, and a
    # shape SES does not send counts as missing (no recipients -> NotABounce).
    kind_of = str(data.get("notificationType", "")).lower()
    mail = _dict(data.get("mail"))
    original_to = ", ".join(str(d) for d in _list(mail.get("destination")))
    recipients: list[BounceRecipient] = []
    reporting = ""
    kind = "dsn"
    if kind_of == "bounce":
        bounce = _dict(data.get("bounce"))
        reporting = str(bounce.get("reportingMTA", ""))
        hint = _SUBTYPES.get(str(bounce.get("bounceSubType", "")), "")
        for r in map(_dict, _list(bounce.get("bouncedRecipients"))):
            if not r.get("emailAddress"):
                continue
            diag = str(r.get("diagnosticCode", ""))
            status = str(r.get("status", "")) or codes(diag)[0]
            recipients.append(
                BounceRecipient(
                    recipient=str(r.get("emailAddress", "")).lower(),
                    action=str(r.get("action", "failed")).lower(),
                    status=status,
                    reply_code=codes(diag)[1],
                    diagnostic=clean(typed_value(diag) if ";" in diag[:8] else diag),
                    remote_mta="",
                    command=smtp_command(diag),
                    reason_hint=hint,
                )
            )
    elif kind_of == "complaint":
        kind = "feedback"
        complaint = _dict(data.get("complaint"))
        for r in map(_dict, _list(complaint.get("complainedRecipients"))):
            if r.get("emailAddress"):
                recipients.append(
                    recipient_from_text(str(r.get("emailAddress", "")), "", "feedback")
                )
    elif kind_of == "delivery":
        delivery = _dict(data.get("delivery"))
        reporting = str(delivery.get("reportingMTA", ""))
        response = str(delivery.get("smtpResponse", ""))
        for addr in _list(delivery.get("recipients")):
            status, reply = codes(response)
            recipients.append(
                BounceRecipient(
                    recipient=str(addr).lower(),
                    action="delivered",
                    status=status,
                    reply_code=reply,
                    diagnostic=response,
                    remote_mta="",
                    command="",
                )
            )
    if not recipients:
        raise NotABounce(
            f"an Amazon SES {kind_of or 'unknown'} notification with no recipients",
            code="no_recipients",
        )
    return ParsedBounce(
        kind=kind,
        mta="Amazon SES",
        reporting_mta=reporting,
        subject=subject,
        sender=sender,
        text=text,
        original_to=original_to,
        date=date,
        recipients=tuple(recipients),
    )
