"""MIME building: rendered parts into an :class:`~email.message.EmailMessage` ready for SMTP.

multipart/alternative, text first, From ``Lentrance <no-reply@lentrance.com>``,
RFC 2047 subject, every line within RFC 5322's 998 octets, in UTF-8 or
ISO-2022-JP. The message carries the ``email.policy.SMTP`` policy, so its
``as_bytes()`` ends every line with CRLF: the form SMTP (RFC 5321 section
2.3.8) requires, which ``smtplib.sendmail`` passes on unchanged.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email import base64mime
from email import policy as email_policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Literal

import idna

from maildoctor.carriers import SENDER_DOMAIN
from maildoctor.mail.templating import ContextError, UnencodableCharacter

__all__ = [
    "CHARSETS",
    "FROM_ADDRESS",
    "FROM_HEADER",
    "JST",
    "MAX_LINE_OCTETS",
    "SMTP_POLICY",
    "Rendered",
    "build_message",
    "one_line",
    "require_charset",
]

Charset = Literal["utf-8", "iso-2022-jp"]
CHARSETS: tuple[Charset, ...] = ("utf-8", "iso-2022-jp")


def require_charset(charset: str) -> None:
    """Raise :class:`ContextError` (one line for the user) unless ``charset`` is one of
    :data:`CHARSETS`: before rendering (templates see it) and before MIME encoding."""
    if charset not in CHARSETS:
        raise ContextError(f"The charset {charset!r} is not supported; use utf-8 or iso-2022-jp.")


#: Every notification comes from the domain the FAQ tells customers to allow.
FROM_ADDRESS = Address(display_name="Lentrance", username="no-reply", domain=SENDER_DOMAIN)
FROM_HEADER = str(FROM_ADDRESS)  # "Lentrance <no-reply@lentrance.com>"


#: Japan Standard Time: Lentrance's customers read the Date header in it.
JST = timezone(timedelta(hours=9), "JST")

# RFC 5322 section 2.1.1: a line is at most 998 octets plus CRLF.
MAX_LINE_OCTETS = 998

#: The policy of every built message: CRLF line ends, as SMTP sends them
#: (RFC 5321 section 2.3.8), and no re-folding of the headers built here.
SMTP_POLICY = email_policy.SMTP


# Control characters (and Unicode line separators) never reach a header: a value
# with CR or LF would otherwise start a new header line.
_HEADER_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


@dataclass(frozen=True, kw_only=True)
class Rendered:
    """The rendered pieces of one notification, before MIME encoding."""

    template: str
    variant: str
    subject: str
    """One line: control characters from variables are already turned into spaces."""
    text: str
    """The text/plain body."""
    html: str
    """The text/html body, CSS inlined."""


def one_line(value: str) -> str:
    """A header-safe single line: CR, LF and other controls become one space."""
    return _HEADER_BREAKS.sub(" ", value).strip()


def check_charset(value: str, charset: str, where: str) -> None:
    try:
        value.encode(charset)
    except UnicodeEncodeError as e:
        line = value.count("\n", 0, e.start) + 1
        raise UnencodableCharacter(value[e.start], charset, f"{where} (line {line})") from e


_ADDRESS_SPECIALS = re.compile(r'[\s;<>()\[\]\\:"]')


def _recipient(to: str) -> str:
    """The To header value: addr-specs separated by ", ", IDN domains as A-labels.

    ``to`` is one address or several separated by commas (``maildoctor send``
    sends one message to all of them). Legacy carrier addresses
    (``a..b@docomo.ne.jp``) are kept as they are: real mailboxes that the
    harness and ``diagnose`` must be able to address. Anything that could add a
    recipient or a comment of its own is refused, so the value can go into the
    header as it is.
    """
    if _HEADER_BREAKS.search(to):
        raise ContextError(
            f"The recipient {to!r} contains a line break or control character; "
            "give one plain address."
        )
    return ", ".join(_one_address(address.strip(), to) for address in to.split(","))


def _one_address(address: str, given: str) -> str:
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise ContextError(
            f"The recipient {given!r} is not an address of the form name@domain"
            + (f" ({address!r} is not)." if address != given.strip() else ".")
        )
    if _ADDRESS_SPECIALS.search(local) or _ADDRESS_SPECIALS.search(domain) or "@" in local:
        raise ContextError(
            f"The recipient {address!r} is not one plain address (it has spaces, "
            "brackets, quotes or a second '@'); give the bare address name@domain."
        )
    if not local.isascii():
        raise ContextError(
            f"The recipient {address!r} has non-ASCII characters before '@'; such an "
            "address needs SMTPUTF8, which the notification mails do not use."
        )
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as e:
            raise ContextError(f"The domain of {address!r} is not a valid IDN: {e}.") from e
    return f"{local}@{domain}"


def _text_part(body: str, subtype: str, charset: str) -> EmailMessage:
    """One text/* part. ISO-2022-JP is 7bit by design (RFC 1468); UTF-8 Japanese
    travels as base64, which keeps it 7bit-clean with 76-octet lines."""
    encoded = body.encode(charset)
    if not encoded.endswith(b"\n"):
        encoded += b"\n"
    if charset == "iso-2022-jp" and all(
        len(line) <= MAX_LINE_OCTETS for line in encoded.splitlines()
    ):
        cte, payload = "7bit", encoded.decode("ascii")
    else:
        cte, payload = "base64", base64mime.body_encode(encoded, maxlinelen=76)
    part = EmailMessage(policy=SMTP_POLICY)
    part.set_raw("Content-Type", f'text/{subtype}; charset="{charset}"')
    part.set_raw("Content-Transfer-Encoding", cte)
    part.set_payload(payload)
    return part


def build_message(
    rendered: Rendered, *, to: str, charset: str = "utf-8", now: datetime | None = None
) -> EmailMessage:
    """The MIME message for rendered parts: multipart/alternative, text first.

    Every header value is built here in its final RFC 5322 form (the subject as
    RFC 2047 encoded words) and stored with ``set_raw``: nothing a variable
    holds reaches a header unencoded, and the stdlib need not parse each header
    back (the costliest step of building a message).

    The message carries :data:`SMTP_POLICY`: ``as_bytes()`` ends every line with
    CRLF, the form ``smtplib.SMTP.sendmail`` passes to the server unchanged. For
    LF line ends (a file for Unix tools), ask for them:
    ``msg.as_bytes(policy=msg.policy.clone(linesep="\\n"))``.
    """
    require_charset(charset)
    text, html = rendered.text, rendered.html
    if charset == "iso-2022-jp":
        check_charset(rendered.subject, charset, "subject")
        check_charset(text, charset, "text part")
        # HTML can carry any character as a numeric reference; only text must fail.
        html = html.encode(charset, "xmlcharrefreplace").decode(charset)
    subject = one_line(rendered.subject)
    header_charset = "us-ascii" if subject.isascii() else charset
    msg = EmailMessage(policy=SMTP_POLICY)
    msg.set_raw("From", FROM_HEADER)
    msg.set_raw("To", _recipient(to))
    msg.set_raw("Subject", Header(subject, header_charset, header_name="Subject").encode())
    msg.set_raw("Date", format_datetime(now or datetime.now(JST)))
    msg.set_raw("Message-ID", make_msgid(domain=SENDER_DOMAIN))
    # RFC 3834: automatic mail, so that auto-responders do not answer it.
    msg.set_raw("Auto-Submitted", "auto-generated")
    msg.set_raw("MIME-Version", "1.0")
    # A random boundary: "=_" never occurs in base64 bodies, and no variable can
    # guess 128 random bits to end a part early (RFC 2046 section 5.1.1).
    boundary = f"=_lentrance_{secrets.token_hex(16)}"
    msg.set_raw("Content-Type", f'multipart/alternative;\n boundary="{boundary}"')
    msg.set_payload([_text_part(text, "plain", charset), _text_part(html, "html", charset)])
    return msg
