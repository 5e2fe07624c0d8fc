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

import codecs
import email
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any

__all__ = [
    "BounceRecipient",
    "NotABounce",
    "ParsedBounce",
    "parse_bounce",
    "parse_bounces",
    "split_messages",
]


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


# --- reading the message -------------------------------------------------

_ADDR = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?"
_ADDR_RE = re.compile(r"(?<![A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-])" + _ADDR)
_STATUS_RE = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_REPLY_RE = re.compile(r"(?<![\d.#\-])([245][0-5]\d)(?:[ \-]|$)", re.M)
_COMMAND_RE = re.compile(
    r"(?:in reply to (?:end of )?|>>> ?|after |at )"
    r"(RCPT TO|MAIL FROM|DATA|HELO|EHLO|RCPT|MAIL|STARTTLS|end of data)",
    re.I,
)

#: lines after which a text bounce quotes the original message (cut there)
_ORIGINAL_MARKERS = re.compile(
    r"^(?:[ \t]*-{2,}[ \t]*(?:Below this line is a copy of the message"
    r"|This is a copy of (?:the|your) message"
    r"|Original message|Original Message|Returned message|Unsent message below|"
    r"The header of the original message|Message header follows|Your original message)"
    r"|[ \t]*-+ ?(?:original|returned) message follows ?-+"
    r"|[ \t]*----- Original message -----"
    r"|[ \t]*------ This is a copy of the message"
    r"|Content-Type: message/rfc822"
    r"|Content-Type: text/rfc822-headers"
    r"|[ \t]*(?:-+ )?Original message headers:?"
    r"|[ \t]*\*+ Original message header"
    r"|[ \t]*Received: from )",
    re.I | re.M,
)

#: local parts that are never the failed recipient
_NOT_RECIPIENT = re.compile(
    r"^(?:mailer-daemon|postmaster|no-?reply|abuse|root|daemon|hostmaster)@", re.I
)


def _load(raw: bytes) -> Message:
    """Parse leniently: compat32 tolerates the broken headers real bounces carry."""
    # Some samples start with an mbox "From " line; the parser would take it as a
    # defect, which is harmless, but drop it so the first header is read.
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    return email.message_from_bytes(raw, policy=policy.compat32)


def _header(msg: Message, name: str) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value)))).strip()
    except Exception:  # undecodable encoded-words: keep the raw text
        return str(value).strip()


def _codec(charset: str) -> str:
    """The declared charset if Python knows it, else "" (then the fallbacks decode).

    A bounce may declare anything, e.g. a name holding a NUL byte, which makes
    ``bytes.decode`` raise ValueError rather than LookupError.
    """
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):
        return ""
    return charset


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        inner = part.get_payload()
        return inner if isinstance(inner, str) else ""
    assert isinstance(payload, bytes)
    charset = _codec(part.get_content_charset() or "")
    for candidate in (charset, "utf-8", "iso-2022-jp", "cp932", "euc-jp"):
        if not candidate:
            continue
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


_REPORT_PARTS = (
    "message/delivery-status",
    "message/global-delivery-status",
    "message/feedback-report",
)


def _walk(msg: Message, inside_original: bool = False) -> list[tuple[Message, bool]]:
    """All leaf parts, each with whether it belongs to the attached original message."""
    out: list[tuple[Message, bool]] = []
    ctype = msg.get_content_type()
    if ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
        out.append((msg, True))
        return out
    if ctype in _REPORT_PARTS:
        out.append((msg, inside_original))
        return out
    if msg.is_multipart():
        payload = msg.get_payload()
        if isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, Message):
                    out.extend(_walk(sub, inside_original))
        return out
    out.append((msg, inside_original))
    return out


def _field_blocks(text: str) -> list[dict[str, str]]:
    """RFC 3464 field blocks (``Name: value`` lines, folded, blank-line separated)."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
                current, last = {}, ""
            continue
        if line[:1] in (" ", "\t") and last:
            current[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9\-]*", name.strip()):
            last = name.strip().lower()
            if last in current:  # a repeated field starts a new recipient block
                blocks.append(current)
                current = {}
            current[last] = value.strip()
    if current:
        blocks.append(current)
    return blocks


def _dsn_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):  # compat32 splits delivery-status into header blocks
        chunks = []
        for block in payload:
            if isinstance(block, Message):
                chunks.append("\n".join(f"{k}: {v}" for k, v in block.items()))
        return "\n\n".join(chunks)
    return _decode(part)


def _typed_value(value: str) -> str:
    """``rfc822; user@example.jp`` -> ``user@example.jp`` (RFC 3464 address-type prefix)."""
    _, sep, rest = value.partition(";")
    return (rest if sep else value).strip().strip("<>").strip()


def _codes(text: str) -> tuple[str, str]:
    status = _STATUS_RE.search(text)
    reply = _REPLY_RE.search(text)
    return (status.group(1) if status else "", reply.group(1) if reply else "")


def _command(text: str) -> str:
    if re.search(r"does not like recipient", text, re.I):
        return "RCPT"  # qmail-remote's words for a refused RCPT TO
    if re.search(r"sender was rejected", text, re.I):
        return "MAIL"  # ... and for a refused MAIL FROM
    m = _COMMAND_RE.search(text)
    if not m:
        return ""
    word = m.group(1).upper()
    if word.startswith("RCPT"):
        return "RCPT"
    if word.startswith("MAIL"):
        return "MAIL"
    if word in ("END OF DATA",):
        return "DATA"
    return word


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _cut_original(text: str) -> str:
    m = _ORIGINAL_MARKERS.search(text)
    return text[: m.start()] if m else text


def _host_of(value: str) -> str:
    m = re.search(r"@([A-Za-z0-9.\-]+)", value)
    return m.group(1).lower() if m else ""


def _dsn_recipients(dsn: str, text: str) -> tuple[str, list[BounceRecipient]]:
    blocks = _field_blocks(dsn)
    reporting = ""
    out: list[BounceRecipient] = []
    for block in blocks:
        if "reporting-mta" in block and not reporting:
            reporting = _typed_value(block["reporting-mta"])
        rcpt = block.get("final-recipient") or block.get("original-recipient") or ""
        if not rcpt and "action" not in block:
            continue
        recipient = _typed_value(rcpt).lower()
        diagnostic = (
            _typed_value(block.get("diagnostic-code", "")) if block.get("diagnostic-code") else ""
        )
        status_field = block.get("status", "").strip()
        m = _STATUS_RE.search(status_field)
        status = m.group(1) if m else ""
        d_status, reply = _codes(diagnostic)
        # The remote server's own code (the last one quoted in Diagnostic-Code) is
        # more precise than a generic x.0.0, or than the x.4.7 "queue lifetime
        # expired" that hides the last real error.
        quoted = _STATUS_RE.findall(diagnostic)
        last = quoted[-1] if quoted else ""
        if not status or (
            last and (status.endswith(".0.0") or status.endswith(".4.7")) and last != status
        ):
            status = last or d_status or status
        near = _text_near(text, recipient) if recipient else ""
        if not diagnostic and near:
            diagnostic = near
            reply = reply or _codes(near)[1]
        out.append(
            BounceRecipient(
                recipient=recipient,
                action=block.get("action", "").strip().lower(),
                status=status,
                reply_code=reply,
                diagnostic=_clean(diagnostic),
                remote_mta=_typed_value(block.get("remote-mta", "")),
                command=_command(diagnostic + " " + near),
            )
        )
    return reporting, out


def _text_near(text: str, recipient: str) -> str:
    """The explanation printed next to one recipient in a text bounce."""
    segments = _segments(text, [recipient])
    return segments.get(recipient, "")


def _candidates(text: str, exclude: set[str]) -> list[str]:
    seen: list[str] = []
    for m in _ADDR_RE.finditer(text):
        addr = m.group(0).strip(".").lower()
        if addr in exclude or _NOT_RECIPIENT.match(addr) or addr in seen:
            continue
        # "Message-ID"-like tokens and host names with no dot are not mailboxes
        if "." not in addr.split("@", 1)[1]:
            continue
        before = text[max(0, m.start() - 40) : m.start()].lower()
        if re.search(r"(message-id|id|from|by|envelope-from|sender)[:=\s<]*$", before):
            continue
        # Only the first address of a line names a recipient; later ones on the
        # same line are the server quoting something ("a@x <b@y>: malformed address").
        line = text[text.rfind("\n", 0, m.start()) + 1 : m.start()]
        if _ADDR_RE.search(line):
            continue
        seen.append(addr)
    return seen


def _segments(text: str, recipients: list[str]) -> dict[str, str]:
    """Split ``text`` into the part that follows each recipient's first mention."""
    lower = text.lower()
    positions = []
    for r in recipients:
        i = lower.find(r)
        if i >= 0:
            positions.append((i, r))
    positions.sort()
    out: dict[str, str] = {}
    for n, (i, r) in enumerate(positions):
        end = positions[n + 1][0] if n + 1 < len(positions) else len(text)
        # the line holding the address may carry the reason too ("<a@b>: 550 ...")
        line_start = text.rfind("\n", 0, i) + 1
        seg = text[line_start:end]
        out[r] = seg
    return out


def _mta_of(msg: Message, text: str, subject: str, sender: str) -> str:
    from maildoctor.bounce.patterns import detect_mta

    headers = "\n".join(f"{k}: {v}" for k, v in msg.items())
    return detect_mta(headers=headers, subject=subject, sender=sender, text=text)


def parse_bounce(raw: bytes) -> ParsedBounce:
    """Read ``raw`` (a whole message) into facts; raise :class:`NotABounce` otherwise."""
    try:
        msg = _load(raw)
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
    subject = _header(msg, "Subject")
    sender = _header(msg, "From")
    to = _header(msg, "To")
    date = _date(_header(msg, "Date"))

    dsn_parts: list[str] = []
    feedback = False
    texts: list[str] = []
    original_to = ""
    for part, in_original in _walk(msg):
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            dsn_parts.append(_dsn_text(part))
        elif ctype == "message/feedback-report":
            feedback = True
        elif in_original:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                original_to = original_to or _header(inner[0], "To")
            elif isinstance(inner, str):
                m = re.search(r"^To:\s*(.+)$", inner, re.M)
                if m:
                    original_to = original_to or m.group(1).strip()
        elif ctype.startswith("text/") or ctype == "message/global-delivery-status":
            body = _decode(part)
            if ctype == "text/html":
                body = re.sub(r"<[^>]+>", " ", body)
            if ctype == "message/global-delivery-status":
                dsn_parts.append(body)
            else:
                texts.append(body)
    if not texts and not dsn_parts:
        # Broken MIME (a boundary that matches nothing): read the body as text.
        texts.append(_raw_body(raw))
    # A DSN pasted into a text part (some MTAs do that) still counts as one.
    joined = "\n".join(texts)
    ses = _ses_notification(joined)
    if not dsn_parts and re.search(r"^Final-Recipient:", joined, re.M | re.I):
        dsn_start = re.search(
            r"^(?:Reporting-MTA|Final-Recipient|Original-Recipient):", joined, re.M | re.I
        )
        assert dsn_start is not None
        dsn_parts.append(joined[dsn_start.start() :])
    text = _cut_original(joined)
    mta = _mta_of(msg, text, subject, sender)
    reporting = _host_of(_header(msg, "Message-ID")) or _host_of(sender)
    own = {
        a.lower() for a in _ADDR_RE.findall(to + " " + sender + " " + _header(msg, "Return-Path"))
    }

    if ses is not None:
        return _from_ses(ses, subject=subject, sender=sender, text=text, date=date)
    # What every kind of bounce below records besides its kind and recipients.
    bounce = partial(
        ParsedBounce,
        mta=mta,
        reporting_mta=reporting,
        subject=subject,
        sender=sender,
        text=text,
        original_to=original_to,
        date=date,
    )
    if feedback:
        return bounce(
            kind="feedback",
            recipients=(_recipient_from_text(original_to, "", action="feedback"),),
        )
    auto = _header(msg, "Auto-Submitted").lower()
    sender_addr = _ADDR_RE.search(sender)
    from_daemon = bool(sender_addr and _NOT_RECIPIENT.match(sender_addr.group(0)))

    if (
        not dsn_parts
        and not from_daemon
        and not _FAILURE_WORDS.search(subject)
        and (
            auto.startswith("auto-replied")
            or re.search(r"out of (the )?office|vacation|away|自動応答|不在", subject, re.I)
        )
    ):
        return bounce(
            kind="autoreply",
            recipients=(_recipient_from_text(_header(msg, "From"), text, action="autoreply"),),
        )

    recipients: list[BounceRecipient] = []
    for dsn in dsn_parts:
        rep, found = _dsn_recipients(dsn, text)
        reporting = rep or reporting
        recipients.extend(found)
    if recipients:
        return bounce(
            kind="dsn",
            recipients=tuple(recipients),
        )

    if not _looks_like_failure(subject, text) and not mta:
        raise NotABounce(
            "this message is not a bounce: it has no delivery status report and no "
            "delivery-failure text"
        )
    candidates = _candidates(text, own)
    if not candidates and original_to:
        candidates = _candidates(original_to, own)
    segments = _segments(text, candidates)
    if not candidates:
        recipients.append(_recipient_from_text("", text))
    for r in candidates:
        recipients.append(_recipient_from_text(r, segments.get(r, text)))
    return bounce(kind="text", recipients=tuple(recipients))


def _raw_body(raw: bytes) -> str:
    head_end = re.search(rb"\r?\n\r?\n", raw)
    body = raw[head_end.end() :] if head_end else b""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def _ses_notification(text: str) -> dict[str, Any] | None:
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


def _dict(value: object) -> dict[str, Any]:
    """``value`` when it is a JSON object, else ``{}`` (SES JSON of another shape)."""
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    """``value`` when it is a JSON array, else ``[]``."""
    return value if isinstance(value, list) else []


def _from_ses(
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
        for r in map(_dict, _list(bounce.get("bouncedRecipients"))):
            if not r.get("emailAddress"):
                continue
            diag = str(r.get("diagnosticCode", ""))
            status = str(r.get("status", "")) or _codes(diag)[0]
            recipients.append(
                BounceRecipient(
                    recipient=str(r.get("emailAddress", "")).lower(),
                    action=str(r.get("action", "failed")).lower(),
                    status=status,
                    reply_code=_codes(diag)[1],
                    diagnostic=_clean(_typed_value(diag) if ";" in diag[:8] else diag),
                    remote_mta="",
                    command=_command(diag),
                )
            )
    elif kind_of == "complaint":
        kind = "feedback"
        complaint = _dict(data.get("complaint"))
        for r in map(_dict, _list(complaint.get("complainedRecipients"))):
            if r.get("emailAddress"):
                recipients.append(
                    _recipient_from_text(str(r.get("emailAddress", "")), "", "feedback")
                )
    elif kind_of == "delivery":
        delivery = _dict(data.get("delivery"))
        reporting = str(delivery.get("reportingMTA", ""))
        response = str(delivery.get("smtpResponse", ""))
        for addr in _list(delivery.get("recipients")):
            status, reply = _codes(response)
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


def split_messages(raw: bytes) -> list[bytes]:
    """The messages of an mbox file (``From `` separator lines), or ``[raw]``."""
    if not raw.startswith(b"From "):
        return [raw]
    chunks = re.split(rb"(?m)^From [^\n]*\n", raw)
    return [c for c in chunks if c.strip()]


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


def _date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        # out-of-range fields: year 99999999999 (Overflow), day 99 or offset +9999 (Value)
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


_QUOTED_REPLY = re.compile(
    r"(?:The error that the other server returned was:|Remote host said:"
    r"|The response (?:from the remote server )?was:)\s*(.+)",
    re.I | re.S,
)


def _recipient_from_text(recipient: str, segment: str, action: str = "failed") -> BounceRecipient:
    # When the bounce quotes the remote server ("The error that the other server
    # returned was: ..."), those are the server's words; the rest is boilerplate.
    quoted = _QUOTED_REPLY.search(segment)
    words = quoted.group(1) if quoted else segment
    m = _ADDR_RE.search(recipient)
    addr = m.group(0).lower() if m else ""
    status, reply = _codes(words)
    host = re.search(
        r"(?:host|talking to|from|by)\s+\[?([A-Za-z0-9][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)+)",
        segment,
    )
    return BounceRecipient(
        recipient=addr,
        action=action,
        status=status,
        reply_code=reply,
        diagnostic=_clean(words)[:2000],
        remote_mta=host.group(1).rstrip(".").lower() if host else "",
        command=_command(segment),
    )


_FAILURE_WORDS = re.compile(
    r"undeliver|could not be delivered"
    r"|delivery (?:status notification|has failed|failed|to the following)"
    r"|returned mail|mail delivery (?:failed|system|subsystem)|failure notice|not be delivered"
    r"|permanent(?:ly)? (?:error|fatal|failure)|delivery failure|rejected|bounce|non[- ]?delivery"
    r"|mail system error|mail failure|malformed|エラー|届きませんでした|送信できませんでした|配信",
    re.I,
)


def _looks_like_failure(subject: str, text: str) -> bool:
    return bool(_FAILURE_WORDS.search(subject) or _FAILURE_WORDS.search(text[:5000]))
