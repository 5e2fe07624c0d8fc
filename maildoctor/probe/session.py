"""One SMTP conversation of the probe: connect, EHLO, STARTTLS when offered, MAIL FROM,
RCPT TO each address, QUIT. Never DATA. Blocking (smtplib): the async caller runs it
in a thread, bounded by the socket timeout on every step."""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass

__all__ = ["UNRESOLVED", "Conversation", "Reply", "converse"]

#: How a host name the system resolver could not resolve is reported.
UNRESOLVED = "host name not resolved"


@dataclass(frozen=True, kw_only=True)
class Reply:
    """One SMTP reply: its code and its text (lines joined)."""

    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


@dataclass(frozen=True, kw_only=True)
class Conversation:
    """What the server said, up to where the conversation stopped."""

    host: str
    """``host:port`` connected to."""
    stage: str
    """Where it stopped: ``connect``, ``greeting``, ``ehlo``, ``starttls``, ``mail``,
    ``rcpt`` (every RCPT was answered) or ``network`` (the connection failed mid-way;
    a failure while connecting or in STARTTLS keeps that stage)."""
    rcpt: tuple[Reply, ...] = ()
    """The replies to each RCPT TO, in order."""
    refusal: Reply | None = None
    """The reply that stopped it before RCPT, if the server sent one."""
    error: str = ""
    """The network error that stopped it, if any."""


def _text(message: bytes | str) -> str:
    raw = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return " ".join(raw.split())


def converse(
    host: str,
    port: int,
    *,
    helo: str,
    mail_from: str,
    recipients: list[str],
    timeout: float,
) -> Conversation:
    """Talk to ``host:port`` as far as RCPT TO for each of ``recipients``, then QUIT."""
    where = f"{host}:{port}"
    smtp = smtplib.SMTP(timeout=timeout, local_hostname=helo)
    stage = "connect"
    try:
        try:
            code, message = smtp.connect(host, port)
        except smtplib.SMTPConnectError as e:  # a greeting other than 220
            return Conversation(
                host=where,
                stage="greeting",
                refusal=Reply(code=e.smtp_code, text=_text(e.smtp_error)),
            )
        stage = "ehlo"
        code, message = smtp.ehlo()
        if not 200 <= code < 300:
            code, message = smtp.helo()
            if not 200 <= code < 300:
                return Conversation(
                    host=where, stage=stage, refusal=Reply(code=code, text=_text(message))
                )
        if smtp.has_extn("starttls"):
            stage = "starttls"
            # Opportunistic, as between MTAs (RFC 3207): encrypt, do not authenticate.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            code, message = smtp.starttls(context=context)
            if code != 220:
                return Conversation(
                    host=where, stage=stage, refusal=Reply(code=code, text=_text(message))
                )
            smtp.ehlo()
        stage = "mail"
        code, message = smtp.mail(mail_from)
        if not 200 <= code < 300:
            return Conversation(
                host=where, stage=stage, refusal=Reply(code=code, text=_text(message))
            )
        stage = "rcpt"
        replies = []
        for address in recipients:
            code, message = smtp.rcpt(address)
            replies.append(Reply(code=code, text=_text(message)))
            if code == 421:  # the server is closing the session
                break
        return Conversation(host=where, stage="rcpt", rcpt=tuple(replies))
    except (OSError, smtplib.SMTPException) as e:
        kept = stage if stage in ("connect", "starttls") else "network"
        return Conversation(host=where, stage=kept, error=_network_error(e))
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _network_error(e: BaseException) -> str:
    if isinstance(e, socket.gaierror):
        return f"{UNRESOLVED}: {e.strerror or e}"
    if isinstance(e, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(e, ssl.SSLError):
        return f"TLS: {e.reason or e}"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror.lower()
    return str(e) or type(e).__name__
