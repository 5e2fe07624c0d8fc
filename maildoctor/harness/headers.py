"""Header fields of a captured message, read fast and decoded for display."""

from __future__ import annotations

from email.message import Message

# The one decoder with the Japanese fallbacks; the SMTP side decodes Subject and From
# with it as each message is stored.
from maildoctor.mail.decode import decode_header as decode_field

__all__ = ["decode_field", "header_end", "headers_only"]


def header_end(raw: bytes) -> int:
    """Where the header section ends (the whole message when there is no body).

    A bare-LF blank line counts only before the first CRLF one: the body is never
    searched (it is most of the message, and the harness asks this of each one)."""
    crlf = raw.find(b"\r\n\r\n")
    lf = raw.find(b"\n\n", 0, crlf if crlf >= 0 else len(raw))
    if lf >= 0:
        return lf
    return crlf if crlf >= 0 else len(raw)


def headers_only(raw: bytes) -> Message:
    """The header section as a compat32 Message, without running the email parser.

    The store needs a few header fields of every message at full speed; the body
    (possibly megabytes) is not looked at. Folded lines are unfolded as RFC 5322
    2.2.3 says, 8-bit bytes kept as surrogate escapes as compat32 does.
    """
    head = raw[: header_end(raw)]
    msg = Message()
    name: str | None = None
    value: list[str] = []
    for line in head.decode("ascii", "surrogateescape").splitlines():
        if not line:
            break
        if line[0] in " \t" and name is not None:
            value.append(line)
            continue
        if name is not None:
            msg[name] = "\r\n".join(value).strip()
        field_name, colon, rest = line.partition(":")
        name, value = (field_name.strip(), [rest]) if colon else (None, [])
    if name is not None:
        msg[name] = "\r\n".join(value).strip()
    return msg
