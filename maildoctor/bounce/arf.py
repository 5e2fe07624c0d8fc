"""Feedback-loop complaints (RFC 5965 ARF and the providers' own shapes), kept apart
from bounces (after ``Sisimai::ARF``)."""

from __future__ import annotations

import re

from maildoctor.bounce.message import ADDR_RE, get_header
from maildoctor.bounce.mime import MimePart

__all__ = ["complained_recipients", "is_feedback"]

#: senders of Microsoft's JMRP and Amazon SES's complaint mails (multipart/mixed, no ARF part)
_COMPLAINT_SENDERS = ("staff@hotmail.com", "complaints@email-abuse.amazonses.com")


def is_feedback(msg: MimePart, subject: str, sender: str, has_report_part: bool) -> bool:
    """Whether ``msg`` is a complaint: an ARF report, Microsoft's or Amazon's
    "complaint about message from" mail, or Apple's unsubscribe notice."""
    if has_report_part:
        return True
    ctype = get_header(msg, "Content-Type").lower()
    if re.search(r"report-type=\"?feedback-report", ctype):
        return True
    if "complaint about message from " in subject.lower() and any(
        s in sender.lower() for s in _COMPLAINT_SENDERS
    ):
        return True
    return get_header(msg, "X-Apple-Unsubscribe").lower() == "true"


def complained_recipients(report: str, original: str, original_to: str) -> list[str]:
    """Who complained: ``Original-Rcpt-To`` / ``Removal-Recipient`` fields of the report,
    else Microsoft's ``X-HmXmrOriginalRecipient`` in the returned message, else its To."""
    found = re.findall(r"^(?:Original-Rcpt-To|Removal-Recipient):\s*(.+)$", report, re.M | re.I)
    if not found:
        found = re.findall(r"^X-HmXmrOriginalRecipient:\s*(.+)$", original, re.M | re.I)
    if not found and original_to:
        found = [original_to]
    out: list[str] = []
    for value in found:
        m = ADDR_RE.search(value)
        if m and m.group(0).lower() not in out:
            out.append(m.group(0).lower())
    return out or [""]
