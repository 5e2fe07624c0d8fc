"""The SMTP side: an aiosmtpd handler that applies profiles and faults, then stores.

:class:`CaptureHandler` has only the hooks it needs (HELO/EHLO, MAIL, RCPT,
DATA). :class:`HarnessSMTP` adds what aiosmtpd has no hook for: faults at
connect and at the DATA command, and the per-message transcript. The server
is created with ``loop.create_server`` so that port 0 works (aiosmtpd's
threaded ``Controller`` cannot take it; aiosmtpd issue 388).

The harness never relays: a message is stored and that is all.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from email import policy as email_policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from maildoctor.harness.faults import Fault, FaultPlan, Stage
from maildoctor.harness.policy import Decision, MessageFacts, Outcome, Profile, decide
from maildoctor.harness.profiles import ProfileBook
from maildoctor.harness.store import Delivery, NewMessage, Store

__all__ = [
    "AuthVerifier",
    "CaptureHandler",
    "HarnessSMTP",
    "Limits",
    "make_tls_context",
    "start_smtp",
]

# Reply texts (RFC 3463 enhanced codes).
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
STORE_FAILED = "451 4.3.0 Could not store the message, try again later"
DECISION_FAILED = "451 4.3.0 Internal error while deciding, try again later"
INTERNAL_ERROR = "451 4.3.0 Internal error, try again later"
ERROR_RULE = "error"
QUEUED = "250 2.0.0 OK: stored, never relayed"
QUEUED_AS = "250 2.0.0 OK: stored as message {id}, never relayed"


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Size limits and the replies they give."""

    max_message_size: int = 10 * 1024 * 1024
    """Bytes of DATA; more gets 552 (advertised with EHLO SIZE)."""
    max_recipients: int = 100
    """RCPT TOs per message; more get 452 (RFC 5321 4.5.3.1.8 asks for at least 100)."""
    line_length: int = 1001
    """Bytes per line including CRLF and a dot-stuffing dot (RFC 5321 4.5.3.1.6)."""
    timeout: float = 300.0
    """Seconds of client silence before the server hangs up."""


@dataclass(frozen=True, kw_only=True)
class AuthVerifier:
    """How the harness verifies DKIM, SPF and DMARC of each message (maildoctor.sender.auth)."""

    resolver: Any
    """A ``dns.resolver.Resolver`` for the configured nameservers."""
    authserv_id: str = "maildoctor.harness"
    """The harness's name in the ``Authentication-Results`` it adds (RFC 8601 2.5)."""

    async def stamp(self, raw: bytes, *, peer: Any, mail_from: str, helo: str) -> bytes:
        """``raw`` with forged headers claiming our id removed and our results on top.

        DNS is blocking (dnspython, dkimpy, pyspf), so it runs in a worker thread; any
        failure there is ``temperror`` (RFC 8601 2.7), never a lost message.
        """
        from maildoctor.sender.auth import (
            authenticate,
            remove_authentication_results,
            stamp_authentication_results,
        )

        ip = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "")
        try:
            results = await asyncio.to_thread(
                authenticate,
                raw,
                ip=ip,
                mail_from=mail_from,
                helo=helo,
                resolver=self.resolver,
                authserv_id=self.authserv_id,
            )
            value = results.header
        except Exception as e:  # a verifier bug or DNS trouble: unknown, not failed
            why = f"{e.__class__.__name__}: {e}".replace("(", "[").replace(")", "]")
            value = f"{self.authserv_id}; dkim=temperror ({why}); spf=temperror; dmarc=temperror"
        return stamp_authentication_results(
            remove_authentication_results(raw, self.authserv_id), value
        )


def _decode(value: str | None) -> str:
    if not value:
        return ""
    # compat32 keeps raw 8-bit header bytes (SMTPUTF8 mail) as surrogate escapes.
    value = str(value)
    if value.isascii() and "=?" not in value:
        return value
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        return str(make_header(decode_header(value)))
    except (LookupError, UnicodeDecodeError, ValueError):
        return value


class CaptureHandler:
    """Decides every recipient's fate and stores the message before answering 250."""

    def __init__(
        self,
        *,
        store: Store,
        profiles: ProfileBook,
        faults: FaultPlan,
        limits: Limits,
        verifier: AuthVerifier | None = None,
        authserv_id: str = "maildoctor.harness",
    ) -> None:
        self.store = store
        self.profiles = profiles
        self.faults = faults
        self.limits = limits
        self.verifier = verifier
        """Verifies each message before the policy reads it; None verifies nothing."""
        self.authserv_id = verifier.authserv_id if verifier is not None else authserv_id
        """The harness's name: results a sender forged under it are always removed."""

    async def handle_exception(self, error: Exception) -> str:
        """Any failure is temporary and stays private (aiosmtpd would answer 500 with it).

        The message is not acknowledged, so the sender keeps it and retries.
        """
        _log_error(error)
        return INTERNAL_ERROR

    async def _fault_reply(self, server: SMTP, fault: Fault | None, default: str) -> str:
        if fault is None:
            return default
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            await _drop(server)
        if fault.reply is None:
            return default
        if fault.code == 421 and server.transport is not None:
            # 421 closes the channel (RFC 5321 3.8); close after the reply is written.
            server.loop.call_soon(server.transport.close)
        return fault.reply

    async def handle_HELO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        fault = self.faults.pick(Stage.HELO, key=_key(session))
        reply = await self._fault_reply(server, fault, f"250 {server.hostname}")
        if reply.startswith("2"):
            session.host_name = hostname
        return reply

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        fault = self.faults.pick(Stage.HELO, key=_key(session))
        if fault is None or fault.reply is None:
            await self._fault_reply(server, fault, "")
            session.host_name = hostname
            return responses
        return [await self._fault_reply(server, fault, "")]

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        fault = self.faults.pick(Stage.MAIL, key=_key(session))
        reply = await self._fault_reply(server, fault, "250 OK")
        if reply.startswith("2"):
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
        return reply

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= self.limits.max_recipients:
            return TOO_MANY_RECIPIENTS
        fault = self.faults.pick(Stage.RCPT, recipient=address, key=_key(session))
        reply = await self._fault_reply(server, fault, "250 OK")
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        elif fault is not None:
            refused = _refused(envelope)
            refused.append(Delivery(recipient=address, decision=_fault_decision(fault)))
        return reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        assert isinstance(raw, bytes)
        received = len(raw)
        mail_from = envelope.mail_from or ""
        authserv_id = None
        if self.verifier is not None:
            # Stamp the stored copy before the policy reads it: the spoofing filters
            # decide with the harness's own results (and only those).
            raw = await self.verifier.stamp(
                raw, peer=session.peer, mail_from=mail_from, helo=session.host_name or ""
            )
            authserv_id = self.verifier.authserv_id
        elif b"authentication-results" in raw[: _header_end(raw)].lower():
            # Not verifying, but nothing may pass for our results either (RFC 8601 5).
            from maildoctor.sender.auth_results import remove_authentication_results

            raw = remove_authentication_results(raw, self.authserv_id)
        headers = headers_only(raw)
        profiles = {rcpt: self.profiles.lookup(rcpt) for rcpt in envelope.rcpt_tos}
        # Finding URLs means decoding every text part: only when a profile looks for them.
        parsed = (
            BytesParser(policy=email_policy.compat32).parsebytes(raw)
            if any(p.refuse_url for p in profiles.values())
            else None
        )
        # DATA has one reply for the whole message, so the first after-DATA fault that
        # fires for any recipient answers it; the recipients it names get its decision.
        fault = next(
            (
                f
                for rcpt in envelope.rcpt_tos
                if (f := self.faults.pick(Stage.AFTER_DATA, recipient=rcpt, key=_key(session)))
            ),
            None,
        )
        if fault is not None and fault.reply is None and not fault.drop:
            # A delay-only fault only makes the reply late; the decision is the usual one.
            await asyncio.sleep(fault.delay)
            fault = None
        deliveries: list[Delivery] = list(_refused(envelope))
        decisions = _decisions(
            headers, parsed, mail_from, authserv_id, profiles, envelope.rcpt_tos, fault
        )
        for rcpt in envelope.rcpt_tos:
            if fault is not None and fault.applies_to(rcpt):
                deliveries.append(Delivery(recipient=rcpt, decision=_fault_decision(fault)))
                continue
            deliveries.append(
                Delivery(recipient=rcpt, decision=decisions[rcpt], profile=profiles[rcpt].name)
            )
        reply = _data_reply(deliveries, envelope.rcpt_tos)
        if any(d.decision.rule == ERROR_RULE for d in deliveries):
            # Kept for inspection, but not acknowledged: the sender tries again later.
            reply = DECISION_FAILED
        if fault is not None:
            reply = fault.reply or "(connection dropped, no reply)"
        transcript = server.take_transcript() if isinstance(server, HarnessSMTP) else []
        record = NewMessage(
            mail_from=mail_from,
            rcpt_tos=tuple(d.recipient for d in deliveries),
            raw=raw,
            deliveries=tuple(deliveries),
            transcript=(
                *transcript,
                f"C: <message, {received} bytes>",
                f"S: {reply}",
            ),
            peer=_peer(session),
            helo=session.host_name or "",
            reply=reply,
            subject=_decode(headers.get("Subject")),
            from_header=_decode(headers.get("From")),
            message_id=str(headers.get("Message-ID", "") or "").strip(),
        )
        if isinstance(server, HarnessSMTP):
            server.done_receiving()
        try:
            message_id = await self.store.add(record)
        except Exception:
            return STORE_FAILED
        if fault is not None:
            return await self._fault_reply(server, fault, reply)
        return QUEUED_AS.format(id=message_id) if reply == QUEUED else reply


def _decisions(
    headers: Message,
    parsed: Message | None,
    mail_from: str,
    authserv_id: str | None,
    profiles: Mapping[str, Profile],
    recipients: list[str],
    fault: Fault | None,
) -> dict[str, Decision]:
    """Each recipient's decision; a failure (a bad profile, a parser bug) is rule ``error``."""
    wanted = [r for r in recipients if fault is None or not fault.applies_to(r)]
    try:
        facts = MessageFacts.from_message(
            parsed or headers, mail_from, find_urls=parsed is not None, authserv_id=authserv_id
        )
    except Exception as e:
        _log_error(e)
        return {r: _error_decision() for r in wanted}
    decisions: dict[str, Decision] = {}
    for rcpt in wanted:
        try:
            decisions[rcpt] = decide(profiles[rcpt], facts)
        except Exception as e:
            _log_error(e)
            decisions[rcpt] = _error_decision()
    return decisions


def _error_decision() -> Decision:
    code, _, text = DECISION_FAILED.partition(" ")
    return Decision(
        outcome=Outcome.REJECTED, rule=ERROR_RULE, reply_code=int(code), reply_text=text
    )


def _log_error(error: BaseException) -> None:
    """Internals go to the operator's stderr, never into an SMTP reply."""
    traceback.print_exception(error, file=sys.stderr)


def _data_reply(deliveries: list[Delivery], accepted: list[str]) -> str:
    """One reply for the whole message: 250 unless every accepted recipient was rejected.

    SMTP gives DATA a single reply; when only some recipients are refused a real
    MTA accepts the message and bounces later, so the refusal lives in the record.
    """
    live = [d for d in deliveries if d.recipient in accepted]
    if live and all(d.outcome is Outcome.REJECTED for d in live):
        return live[0].decision.reply
    return QUEUED


def _fault_decision(fault: Fault) -> Decision:
    code = fault.code or 421
    # A fault may answer 2xx (e.g. a slow but successful server): then the mail is taken.
    return Decision(
        outcome=Outcome.DELIVERED if 200 <= code < 300 else Outcome.REJECTED,
        rule=f"fault:{fault.name}",
        reply_code=code,
        reply_text=fault.text if fault.code else "connection dropped",
    )


def _refused(envelope: Envelope) -> list[Delivery]:
    refused: list[Delivery] | None = getattr(envelope, "maildoctor_refused", None)
    if refused is None:
        refused = []
        envelope.maildoctor_refused = refused  # type: ignore[attr-defined]
    return refused


def _key(session: Session) -> str:
    key: str | None = getattr(session, "maildoctor_key", None)
    if key is None:
        key = f"{_peer(session)}#{id(session)}"
        session.maildoctor_key = key  # type: ignore[attr-defined]
    return key


def _peer(session: Session) -> str:
    peer = session.peer
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer or "")


async def _drop(server: SMTP) -> None:
    """Close the connection without a reply, then wait to be cancelled by aiosmtpd."""
    if server.transport is not None:
        server.transport.close()
    await asyncio.sleep(3600)


class HarnessSMTP(SMTP):
    """aiosmtpd's SMTP with connect/DATA faults and a transcript of the conversation."""

    def __init__(
        self,
        handler: CaptureHandler,
        *,
        limits: Limits,
        tls_context: ssl.SSLContext | None = None,
        users: Mapping[str, str] | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        hostname: str = "maildoctor.harness",
    ) -> None:
        self.line_length_limit = limits.line_length
        self._transcript: list[str] = []
        self._skip_push = False
        self._users = dict(users or {})
        super().__init__(
            handler,
            data_size_limit=limits.max_message_size,
            enable_SMTPUTF8=True,
            hostname=hostname,
            ident="maildoctor harness (ESMTP, never relays)",
            tls_context=tls_context,
            timeout=limits.timeout,
            # AUTH is offered only when there are accounts (over TLS when TLS is on).
            auth_require_tls=tls_context is not None or not users,
            authenticator=self._check_login,
            loop=loop,
        )
        self._faults = handler.faults
        self._store = handler.store
        self._receiving = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # STARTTLS makes a new session: the old one's fault counters are done with.
        self._forget_faults()
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._forget_faults()
        super().connection_lost(error)

    def _forget_faults(self) -> None:
        key = getattr(self.session, "maildoctor_key", None) if self.session else None
        if key is not None:
            self._faults.forget(key)

    def _check_login(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            user = data.login.decode("utf-8", "replace")
            password = data.password.decode("utf-8", "replace")
            if self._users.get(user) == password and user in self._users:
                return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    def take_transcript(self) -> list[str]:
        """The conversation since the last message (the greeting included for the first)."""
        lines, self._transcript = self._transcript, []
        self._skip_push = True  # the reply to this DATA is recorded by the handler
        return lines

    async def push(self, status: Any) -> None:
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else str(status)
        if self._skip_push:
            self._skip_push = False
        else:
            self._transcript.append(f"S: {text}")
        await super().push(status)

    def _note(self, command: str, arg: str | None) -> None:
        if command == "AUTH" and arg:
            arg = arg.split(" ", 1)[0] + " ****"
        self._transcript.append(f"C: {command} {arg}".rstrip() if arg else f"C: {command}")

    async def _handle_client(self) -> None:
        assert self.session is not None
        fault = self._faults.pick(Stage.CONNECT, key=_key(self.session))
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop or fault.reply:
                if fault.reply and not fault.drop:
                    await SMTP.push(self, fault.reply)
                if self.transport is not None:
                    self.transport.close()
                return
        await super()._handle_client()

    async def smtp_HELO(self, hostname: str) -> None:
        self._note("HELO", hostname)
        await super().smtp_HELO(hostname)

    async def smtp_EHLO(self, hostname: str) -> None:
        self._note("EHLO", hostname)
        await super().smtp_EHLO(hostname)

    async def smtp_MAIL(self, arg: str | None) -> None:
        self._note("MAIL", arg)
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg: str | None) -> None:
        self._note("RCPT", arg)
        await super().smtp_RCPT(arg)

    async def smtp_RSET(self, arg: str) -> None:
        self._note("RSET", arg)
        await super().smtp_RSET(arg)

    async def smtp_NOOP(self, arg: str) -> None:
        self._note("NOOP", arg)
        await super().smtp_NOOP(arg)

    async def smtp_QUIT(self, arg: str) -> None:
        self._note("QUIT", arg)
        await super().smtp_QUIT(arg)

    async def smtp_STARTTLS(self, arg: str) -> None:
        self._note("STARTTLS", arg)
        await super().smtp_STARTTLS(arg)

    async def smtp_AUTH(self, arg: str) -> None:
        self._note("AUTH", arg)
        await super().smtp_AUTH(arg)

    async def smtp_DATA(self, arg: str) -> None:
        self._note("DATA", arg)
        assert self.session is not None and self.envelope is not None
        if self.envelope.rcpt_tos and not arg and self.session.host_name:
            fault = self._faults.pick(Stage.DATA, key=_key(self.session))
            if fault is not None:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.drop:
                    await _drop(self)
                if fault.reply:
                    await self.push(fault.reply)
                    if fault.code == 421 and self.transport is not None:
                        self.transport.close()
                    return
        if not (self.envelope.rcpt_tos and self.session.host_name) or arg:
            await super().smtp_DATA(arg)  # an error reply, nothing to store
            return
        self._receiving = True
        self._store.incoming += 1
        try:
            await super().smtp_DATA(arg)
        finally:
            self.done_receiving()

    def done_receiving(self) -> None:
        """This connection's message is queued for the store (or will never be)."""
        if self._receiving:
            self._receiving = False
            self._store.incoming -= 1


def make_tls_context(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a self-signed certificate for localhost, made once."""
    cert, key = directory / "harness-cert.pem", directory / "harness-key.pem"
    if not (cert.exists() and key.exists()):
        _write_self_signed(cert, key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def _write_self_signed(cert_path: Path, key_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "maildoctor harness")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


async def start_smtp(
    handler: CaptureHandler,
    *,
    host: str,
    port: int,
    limits: Limits,
    tls_context: ssl.SSLContext | None = None,
    users: Mapping[str, str] | None = None,
    hostname: str = "maildoctor.harness",
) -> asyncio.Server:
    """Listen on host:port (0 for a free port) in the running loop."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: HarnessSMTP(
            handler,
            limits=limits,
            tls_context=tls_context,
            users=users,
            loop=loop,
            hostname=hostname,
        ),
        host=host,
        port=port,
        backlog=1024,
    )


def _header_end(raw: bytes) -> int:
    """Where the header section ends (the whole message when there is no body)."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return min(ends) if ends else len(raw)


def headers_only(raw: bytes) -> Message:
    """The header section as a compat32 Message, without running the email parser.

    The store needs a few header fields of every message at full speed; the body
    (possibly megabytes) is not looked at. Folded lines are unfolded as RFC 5322
    2.2.3 says, 8-bit bytes kept as surrogate escapes as compat32 does.
    """
    head = raw[: _header_end(raw)]
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
