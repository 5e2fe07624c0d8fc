"""Turn a bounce message into per-recipient facts, without judging them.

Two shapes exist in the wild:

* RFC 3464 delivery status notifications: a ``multipart/report`` whose
  ``message/delivery-status`` part has one field block per recipient
  (``Final-Recipient``, ``Action``, ``Status``, ``Remote-MTA``,
  ``Diagnostic-Code``).
* Plain-text bounces (qmail, Exim, old Sendmail, Gmail, the au/EZweb and
  au one net servers, ...): the recipients and the remote server's words are
  somewhere in the human-readable text, before the copy of the original message.

This module reads both into :class:`ParsedBounce`; :mod:`maildoctor.bounce.classify`
decides what each failure means. Parsing never raises on a broken message:
anything that is not a bounce raises :class:`NotABounce`, nothing else.
"""

from __future__ import annotations

import re
from functools import partial

from maildoctor.bounce.arf import complained_recipients, is_feedback
from maildoctor.bounce.dsn import dsn_recipients, dsn_text
from maildoctor.bounce.lhost import (
    FAILURE_WORDS,
    error_block,
    find_candidates,
    find_segments,
    looks_like_failure,
    mta_of,
    recipient_from_text,
)
from maildoctor.bounce.message import (
    ADDR_RE,
    cut_original,
    decode_part,
    get_header,
    host_of,
    lacks,
    load_message,
    parse_date,
    raw_body,
    split_messages,
    walk,
)
from maildoctor.bounce.mime import MimePart
from maildoctor.bounce.model import BounceRecipient, NotABounce, ParsedBounce
from maildoctor.bounce.ses import from_ses, ses_notification

__all__ = [
    "BounceRecipient",
    "NotABounce",
    "ParsedBounce",
    "parse_bounce",
    "parse_bounces",
    "split_messages",
]


_DAEMON_SENDER = re.compile(r"\b(?:mailer-daemon|postmaster)\b", re.I)


def parse_bounce(raw: bytes) -> ParsedBounce:
    """Read ``raw`` (a whole message) into facts; raise :class:`NotABounce` otherwise."""
    try:
        msg = load_message(raw)
    except Exception as e:  # the stdlib parser is lenient; this is belt and braces
        raise NotABounce(
            f"the file could not be read as an email message ({e})", code="not_an_email"
        ) from e
    if not msg.keys() or not any(
        k.lower() in ("from", "to", "subject", "date", "message-id", "received", "return-path")
        for k in msg
    ):
        raise NotABounce(
            "the file has no mail headers, so it is not an email message", code="not_an_email"
        )
    subject = get_header(msg, "Subject")
    sender = get_header(msg, "From")
    to = get_header(msg, "To")
    date = parse_date(get_header(msg, "Date"))

    dsn_parts: list[str] = []
    feedback = False
    report = ""
    original = ""
    texts: list[str] = []
    original_to = ""
    for part, in_original in walk(msg):
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            dsn_parts.append(dsn_text(part))
        elif ctype == "message/feedback-report":
            feedback = True
            report += dsn_text(part) + "\n"
        elif in_original:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], MimePart):
                original_to = original_to or get_header(inner[0], "To")
                original += inner[0].header_block() + "\n"
            elif isinstance(inner, str):
                m = re.search(r"^To:\s*(.+)$", inner, re.M)
                if m:
                    original_to = original_to or m.group(1).strip()
                original += inner
        elif ctype.startswith("text/") or ctype == "message/global-delivery-status":
            body = decode_part(part)
            if ctype == "text/html":
                body = re.sub(r"<[^>]+>", " ", body)
            if ctype == "message/global-delivery-status":
                dsn_parts.append(body)
            else:
                texts.append(body)
    if not texts and not dsn_parts:
        # Broken MIME (a boundary that matches nothing): read the body as text.
        texts.append(raw_body(raw))
    # A DSN pasted into a text part (some MTAs do that) still counts as one.
    joined = "\n".join(texts)
    ses = ses_notification(joined)
    if (
        not dsn_parts
        and not lacks(joined, "final-recipient:")
        and re.search(r"^Final-Recipient:", joined, re.M | re.I)
    ):
        dsn_start = re.search(
            r"^(?:Reporting-MTA|Final-Recipient|Original-Recipient):", joined, re.M | re.I
        )
        assert dsn_start is not None
        dsn_parts.append(joined[dsn_start.start() :])
    text = cut_original(joined)
    header_block = msg.header_block()
    mta = mta_of(header_block, text, subject, sender)
    reporting = host_of(get_header(msg, "Message-ID")) or host_of(sender)
    own = {
        a.lower() for a in ADDR_RE.findall(to + " " + sender + " " + get_header(msg, "Return-Path"))
    }

    if ses is not None:
        return from_ses(ses, subject=subject, sender=sender, text=text, date=date)
    # What every kind of bounce below records besides its kind and recipients.
    bounce = partial(
        ParsedBounce,
        headers=header_block,
        mta=mta,
        reporting_mta=reporting,
        subject=subject,
        sender=sender,
        text=text,
        original_to=original_to,
        date=date,
    )
    if is_feedback(msg, subject, sender, feedback):
        who = complained_recipients(report, original, original_to)
        return bounce(
            kind="feedback",
            recipients=tuple(recipient_from_text(a, "", action="feedback") for a in who),
        )
    auto = get_header(msg, "Auto-Submitted").lower()
    # A delivery daemon never sends an out-of-office reply, even when it marks its
    # bounce Auto-Submitted: auto-replied (RFC 3834 allows that) or has no domain.
    from_daemon = bool(_DAEMON_SENDER.search(sender))

    if (
        not dsn_parts
        and not from_daemon
        and not FAILURE_WORDS.search(subject)
        and _auto_reply(msg, auto, subject)
    ):
        return bounce(
            kind="autoreply",
            recipients=(recipient_from_text(get_header(msg, "From"), text, action="autoreply"),),
        )

    recipients: list[BounceRecipient] = []
    for dsn in dsn_parts:
        rep, found = dsn_recipients(dsn, text)
        reporting = rep or reporting
        recipients.extend(found)
    if recipients:
        return bounce(
            kind="dsn",
            recipients=tuple(recipients),
        )

    if not looks_like_failure(subject, text) and not mta:
        raise NotABounce(
            "this message is not a bounce: it has no delivery status report and no "
            "delivery-failure text"
        )
    candidates = find_candidates(text, own)
    failed = get_header(msg, "X-Failed-Recipients")
    if not candidates and failed:  # Exim, Gmail, Google Groups name them here
        candidates = find_candidates(failed.replace(",", "\n"), own)
    if not candidates and original_to:
        candidates = find_candidates(original_to, own)
    segments = find_segments(text, candidates)
    block = error_block(text)
    if block:  # one reason for all, written apart from the recipients (James, m-FILTER, X3)
        segments = {r: seg if block in seg else f"{seg}\n{block}" for r, seg in segments.items()}
    if not candidates:
        recipients.append(recipient_from_text("", text))
    for r in candidates:
        recipients.append(recipient_from_text(r, segments.get(r, text)))
    return bounce(kind="text", recipients=tuple(recipients))


def parse_bounces(raw: bytes) -> list[ParsedBounce]:
    """Every bounce in ``raw`` (one message or an mbox of several).

    Raises :class:`NotABounce` when none of them is a bounce.
    """
    if not raw.strip():
        raise NotABounce("the file is empty", code="empty")
    found: list[ParsedBounce] = []
    errors: list[NotABounce] = []
    for chunk in split_messages(raw):
        try:
            found.append(parse_bounce(chunk))
        except NotABounce as e:
            errors.append(e)
    if not found:
        raise errors[0] if errors else NotABounce("the file is empty", code="empty")
    return found


def _auto_reply(msg: MimePart, auto: str, subject: str) -> bool:
    """RFC 3834 auto-reply markers (after Sisimai::RFC3834). ``auto-generated`` is not
    one: RFC 3834 keeps it for mail that answers nothing (a notification like ours)."""
    if auto.startswith("auto-replied"):
        return True
    if get_header(msg, "Precedence").lower().startswith("auto_reply"):
        return True
    if get_header(msg, "X-Apple-Action").lower().startswith("vacation"):
        return True
    return bool(
        re.match(
            r"(auto:|auto response:|automatic reply:|auto reply:|out of (the )?office)",
            subject,
            re.I,
        )
        or re.search(r"vacation|自動応答|不在", subject, re.I)
    )
