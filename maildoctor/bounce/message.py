"""Reading a bounce as an email: lenient loading, headers, decoded parts, and the
small field readers (addresses, status and reply codes, the SMTP command) that the
DSN and per-MTA parsers share. Never raises on broken input."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime

from maildoctor.bounce.mime import MimePart, parse_mime

# --- reading the message -------------------------------------------------

ADDR = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?"
ADDR_RE = re.compile(r"(?<![A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-])" + ADDR)
# The look-behind (no digit before the code) comes after the first digit: a pattern that
# starts with a character class lets the regex engine skip to those characters.
STATUS_RE = re.compile(r"([245](?<![\d.][245])\.\d{1,3}\.\d{1,3})(?![\d.])")
_REPLY_RE = re.compile(r"([245](?<![\d.#\-][245])[0-5]\d)(?:[ \-]|$)", re.M)
_COMMAND_RE = re.compile(
    # "SMTP command:" (m-FILTER), "SMTP:RCPT" (X3), "Error following RCPT" (X6)
    r"(?:in reply to (?:end of )?|>>> ?|after |at |SMTP command: |^SMTP:|error following "
    r"|did not like our )"  # the last: Sisimai::Lhost::DragonFly
    r"(RCPT TO|MAIL FROM|DATA|HELO|EHLO|RCPT|MAIL|STARTTLS|end of data)",
    re.I | re.M,
)
# The same on an ASCII text lowered (several times faster: without re.I and with the
# line-anchored alternative apart, the regex engine skips to the literals' first letters).
_COMMAND_LOWER = re.compile(
    r"(?:in reply to (?:end of )?|>>> ?|after |at |smtp command: |error following "
    r"|did not like our )(rcpt to|mail from|data|helo|ehlo|rcpt|mail|starttls|end of data)"
)
_COMMAND_LOWER_LINE = re.compile(
    r"^smtp:(rcpt to|mail from|data|helo|ehlo|rcpt|mail|starttls|end of data)", re.M
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
    r"|Original (?:mail|message) (?:as )?follows"  # fml, IMail
    r"|-{3,}original mail info"  # Sisimai::Lhost::mFILTER
    r"|The attachment contains the original mail headers"  # Sisimai::Lhost::X6
    r"|[ \t]*Below is a copy of the original message:"  # Sisimai::Lhost::OpenSMTPD
    r"|[ \t]*Received: from )",
    re.I | re.M,
)

_ORIGINAL_LOWER_FIRST = re.compile(_ORIGINAL_MARKERS.pattern.lower())
_ORIGINAL_LOWER_NEXT = re.compile("\n" + _ORIGINAL_MARKERS.pattern[1:].lower())
#: one of these is in every line _ORIGINAL_MARKERS finds (lower case)
_ORIGINAL_WORDS = (
    "original",
    "copy of",
    "returned message",
    "unsent message",
    "message header follows",
    "content-type: ",
    "received: from ",
)

#: local parts that are never the failed recipient
NOT_RECIPIENT = re.compile(
    r"^(?:mailer-daemon|postmaster|no-?reply|abuse|root|daemon|hostmaster)@", re.I
)


def load_message(raw: bytes) -> MimePart:
    """Parse leniently (:mod:`.mime`): real bounces carry broken headers and MIME."""
    # Some samples start with an mbox "From " line: drop it so the first header is read.
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    return parse_mime(raw)


def get_header(msg: MimePart, name: str) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    if "=?" not in value:
        return value.strip()
    try:
        return str(make_header(decode_header(value))).strip()
    except Exception:  # undecodable encoded-words: keep the raw text
        return value.strip()


def decode_part(part: MimePart) -> str:
    """A part's text in whatever charset works; a charset name that is unknown, broken
    or holds a NUL (``utf-\\0-8``) falls back to the usual ones, never raises."""
    payload = part.get_payload(decode=True)
    if payload is None:
        inner = part.get_payload()
        return inner if isinstance(inner, str) else ""
    assert isinstance(payload, bytes)
    try:
        charset = (part.get_content_charset() or "").replace("\0", "")
    except (LookupError, ValueError, UnicodeError):
        charset = ""
    for candidate in (charset, "utf-8", "iso-2022-jp", "cp932", "euc-jp"):
        if not candidate:
            continue
        try:
            return payload.decode(candidate)
        except (LookupError, ValueError):  # UnicodeDecodeError is a ValueError
            continue
    return payload.decode("latin-1")


_REPORT_PARTS = (
    "message/delivery-status",
    "message/global-delivery-status",
    "message/feedback-report",
)


def walk(msg: MimePart, inside_original: bool = False) -> list[tuple[MimePart, bool]]:
    """All leaf parts, each with whether it belongs to the attached original message."""
    out: list[tuple[MimePart, bool]] = []
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
                if isinstance(sub, MimePart):
                    out.extend(walk(sub, inside_original))
        return out
    out.append((msg, inside_original))
    return out


def typed_value(value: str) -> str:
    """``rfc822; user@example.jp`` -> ``user@example.jp`` (RFC 3464 address-type prefix)."""
    _, sep, rest = value.partition(";")
    return (rest if sep else value).strip().strip("<>").strip()


def codes(text: str) -> tuple[str, str]:
    status = STATUS_RE.search(text)
    reply = _REPLY_RE.search(text)
    return (status.group(1) if status else "", reply.group(1) if reply else "")


#: qmail-remote's words for the command that failed (Sisimai::Lhost::qmail $commandset)
_QMAIL_COMMANDS = (
    ("does not like recipient", "RCPT"),
    ("but sender was rejected", "MAIL"),
    ("but my name was rejected", "EHLO"),
    ("but greeting failed", "CONN"),
    ("failed on data command", "DATA"),
    ("failed after i sent the message", "DATA"),
)


_COMMAND_WORDS = ("rcpt", "mail", "data", "helo", "ehlo", "starttls")


def smtp_command(text: str) -> str:
    lower = text.lower()
    for words, command in _QMAIL_COMMANDS:
        if words in lower:
            return command
    if not any(w in lower for w in _COMMAND_WORDS):
        return ""  # no command named: skip the (slower) scan
    m = _command_match(text, lower)
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


def _command_match(text: str, lower: str) -> re.Match[str] | None:
    """``_COMMAND_RE.search(text)``: the first of its two lowered halves on an ASCII text."""
    if not text.isascii():
        return _COMMAND_RE.search(text)
    found = [m for m in (_COMMAND_LOWER.search(lower), _COMMAND_LOWER_LINE.search(lower)) if m]
    return min(found, key=lambda m: m.start()) if found else None


def lacks(text: str, *needles: str) -> bool:
    """Whether ``text`` surely holds none of the lower-case ``needles`` in any case: a cheap
    test before a case-blind regex that needs one of them (Unicode case folding is left to
    the regex: only an ASCII text is judged here)."""
    if not text.isascii():
        return False
    lower = text.lower()
    return not any(n in lower for n in needles)


def clean(text: str) -> str:
    return " ".join(text.split())  # re.sub(r"\s+", " ", text).strip(): the same spaces


def cut_original(text: str) -> str:
    if not text.isascii():
        m = _ORIGINAL_MARKERS.search(text)
        return text[: m.start()] if m else text
    lower = text.lower()
    if not any(w in lower for w in _ORIGINAL_WORDS):
        return text
    # the same lines found without case folding in the lowered text: at its start, or
    # after a line break (the regex engine then skips from one line break to the next)
    first = _ORIGINAL_LOWER_FIRST.match(lower)
    if first is not None:
        return ""
    m = _ORIGINAL_LOWER_NEXT.search(lower)
    return text[: m.start() + 1] if m else text


_AT_HOST = re.compile(r"@([A-Za-z0-9.\-]+)")


def host_of(value: str) -> str:
    m = _AT_HOST.search(value)
    return m.group(1).lower() if m else ""


def raw_body(raw: bytes) -> str:
    head_end = re.search(rb"\r?\n\r?\n", raw)
    body = raw[head_end.end() :] if head_end else b""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def split_messages(raw: bytes) -> list[bytes]:
    """The messages of an mbox file (``From `` separator lines), or ``[raw]``."""
    return list(iter_messages(io.BytesIO(raw)))


def iter_messages(lines: Iterable[bytes]) -> Iterator[bytes]:
    """:func:`split_messages` a message at a time, from a file's lines (read as they
    come: memory holds one message, not the mbox)."""
    it = iter(lines)
    first = next(it, b"")
    if not first.startswith(b"From "):
        yield first + b"".join(it)
        return
    # A separator is "From SENDER DATE" with an asctime date; a body line that merely
    # starts with "From " (unescaped in mboxo files) does not split a message.
    chunk: list[bytes] = []
    for line in it:
        if line.startswith(b"From ") and _MBOX_FROM.match(line):
            raw = b"".join(chunk)
            if raw.strip():
                yield raw
            chunk = []
        else:
            chunk.append(line)
    raw = b"".join(chunk)
    if raw.strip():
        yield raw


_MBOX_FROM = re.compile(rb"From \S+ +(?:\w{3} \w{3} +\d{1,2} |\w{3}, )[^\n]*\n")


#: the usual RFC 5322 date ("Mon, 7 Dec 2026 10:54:07 +0900"), read without the standard
#: library's general parser (a tenth of a text bounce's reading time went there)
_PLAIN_DATE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) "
    r"(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)"
)
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}


def _plain_date(value: str) -> datetime | None:
    """``parsedate_to_datetime(value)`` for a date in the usual shape, else None."""
    m = _PLAIN_DATE.fullmatch(value)
    if m is None:
        return None
    day, month, year, hh, mm, ss, sign, oh, om = m.groups()
    if int(year) < 100:
        return None  # a two-digit year, however written, is the standard library's to read
    offset = (int(oh) * 3600 + int(om) * 60) * (-1 if sign == "-" else 1)
    # "-0000": no zone information (RFC 5322 3.3), read as naive, as the standard library does
    zone = None if sign == "-" and offset == 0 else timezone(timedelta(seconds=offset))
    return datetime(int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss), tzinfo=zone)


def parse_date(value: str) -> datetime | None:
    try:
        when = _plain_date(value) or parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        # out-of-range fields: year 99999999999 (Overflow), day 99 or offset +9999 (Value)
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
