"""The one SMTP client: deliver a message and read what each recipient's mailbox did.

``maildoctor send``, ``diagnose``'s trial and the desk's trial all deliver through
:func:`deliver`. A maildoctor harness (EHLO says ``XMAILDOCTOR``) is asked afterwards
with ``XOUTCOME`` what each recipient's simulated mailbox did, on the same
connection: one DATA reply cannot say that a message went to the spam folder or
that one of several recipients refused it, and reading the outcome back from the
store instead races with other mail arriving meanwhile.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass, replace
from email.message import EmailMessage

from maildoctor.harness.protocol import EXTENSION

__all__ = ["Delivered", "RecipientReply", "deliver", "text_of", "wire_bytes"]


@dataclass(frozen=True, kw_only=True)
class RecipientReply:
    """What the server said about one recipient."""

    recipient: str
    code: int
    """The RCPT reply when it refused the recipient, else the reply to DATA or the message
    (0 when the server hung up without one)."""
    text: str
    stage: str
    """``mail``, ``rcpt`` or ``data``."""
    replies: tuple[str, ...] = ()
    """Every reply about this recipient in order (``250 ...`` to RCPT, then to DATA)."""
    outcome: str | None = None
    """What a maildoctor harness's simulated mailbox did (delivered, junk, filtered,
    rejected); None when the server cannot tell (any other server)."""
    rule: str | None = None
    """The harness rule that decided (``refuse_url``, ``default``...)."""
    stored_id: int | None = None
    """The harness's id for the stored message (None: not stored, or not a harness)."""

    @property
    def accepted(self) -> bool:
        """The server took the message and its mailbox did not refuse it."""
        return 200 <= self.code < 300 and self.outcome != "rejected"


@dataclass(frozen=True, kw_only=True)
class Delivered:
    """The replies of one SMTP transaction, and whether the server could say more."""

    replies: list[RecipientReply]
    harness: bool
    """The server is a maildoctor harness (EHLO said XMAILDOCTOR): outcomes are known."""


def wire_bytes(msg: EmailMessage) -> bytes:
    """The message as sent: smtplib sends bytes as given, SMTP needs CRLF (RFC 5321 2.3.8)."""
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def text_of(text: bytes | str) -> str:
    """A server reply's text (smtplib gives bytes)."""
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text


def _outcomes(smtp: smtplib.SMTP) -> dict[str, tuple[str, str, int | None]]:
    """recipient (lower case) -> (outcome, rule, stored id), from the harness's XOUTCOME
    reply (``RECIPIENT OUTCOME RULE message=ID REPLY`` a line each)."""
    try:
        code, text = smtp.docmd("XOUTCOME")
    except (smtplib.SMTPException, OSError):
        return {}
    if code != 250:
        return {}
    found: dict[str, tuple[str, str, int | None]] = {}
    for line in text_of(text).splitlines():
        recipient, outcome, rule, rest = [*line.split(" ", 3), "", "", ""][:4]
        stored = re.match(r"message=(\d+)\b", rest)
        found[recipient.lower()] = (outcome, rule, int(stored.group(1)) if stored else None)
    return found


def deliver(
    msg: EmailMessage | bytes,
    *,
    host: str,
    port: int,
    mail_from: str,
    recipients: list[str],
    starttls: bool = False,
    verify: bool = True,
    user: str | None = None,
    password: str | None = None,
    timeout: float = 30.0,
    helo: str | None = None,
) -> Delivered:
    """One SMTP transaction, keeping each recipient's reply (smtplib hides the DATA one),
    then, from a maildoctor harness, each recipient's outcome and rule.

    Raises OSError or smtplib.SMTPException when the server cannot be reached or
    breaks off before MAIL FROM.
    """
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        smtp.ehlo(helo or "")
        if starttls:
            context = ssl.create_default_context()
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            smtp.starttls(context=context)
            smtp.ehlo(helo or "")
        if user is not None:
            smtp.login(user, password or "")
        harness = smtp.has_extn(EXTENSION.lower())
        data = msg if isinstance(msg, bytes) else wire_bytes(msg)
        options = ["SMTPUTF8"] if smtp.has_extn("smtputf8") and not data.isascii() else []
        code, text = smtp.mail(mail_from, options)
        if code >= 400:
            to_mail = (f"{code} {text_of(text)}",)
            return Delivered(
                replies=[
                    RecipientReply(
                        recipient=r, code=code, text=text_of(text), stage="mail", replies=to_mail
                    )
                    for r in recipients
                ],
                harness=harness,
            )
        replies: dict[str, RecipientReply] = {}
        to_rcpt: dict[str, str] = {}
        accepted: list[str] = []
        for rcpt in recipients:
            code, text = smtp.rcpt(rcpt)
            to_rcpt[rcpt] = f"{code} {text_of(text)}"
            if 200 <= code < 300:
                accepted.append(rcpt)
                continue
            replies[rcpt] = RecipientReply(
                recipient=rcpt,
                code=code,
                text=text_of(text),
                stage="rcpt",
                replies=(to_rcpt[rcpt],),
            )
            if code == 421:
                # The server is closing the channel (RFC 5321 3.8): nobody gets the message.
                return Delivered(
                    replies=[
                        replies.get(r)
                        or RecipientReply(recipient=r, code=code, text=text_of(text), stage="rcpt")
                        for r in recipients
                    ],
                    harness=harness,
                )
        if accepted:
            try:
                code, reply = smtp.data(data)
                said = text_of(reply)
            except smtplib.SMTPDataError as e:  # the DATA command itself was refused
                code, said = e.smtp_code, text_of(e.smtp_error)
            except smtplib.SMTPServerDisconnected:
                code, said = 0, "the server closed the connection without a reply"
            for rcpt in accepted:
                replies[rcpt] = RecipientReply(
                    recipient=rcpt,
                    code=code,
                    text=said,
                    stage="data",
                    replies=(to_rcpt[rcpt], f"{code} {said}"),
                )
            if harness and code:
                for rcpt, (outcome, rule, stored) in _outcomes(smtp).items():
                    for r in recipients:
                        if r.lower() == rcpt and r in replies:
                            found = replace(replies[r], outcome=outcome, rule=rule)
                            replies[r] = replace(found, stored_id=stored)
        else:
            smtp.rset()
        return Delivered(replies=[replies[r] for r in recipients], harness=harness)
