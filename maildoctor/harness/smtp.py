"""The SMTP side: an aiosmtpd handler that applies profiles and faults, then stores.

:class:`CaptureHandler` has only the hooks it needs (HELO/EHLO, MAIL, RCPT,
DATA). What aiosmtpd has no hook for (faults at connect and at the DATA
command, the transcript, bounded DATA, required AUTH) is in
:mod:`maildoctor.harness.protocol`. The server is created with
``loop.create_server`` so that port 0 works (aiosmtpd's threaded
``Controller`` cannot take it; aiosmtpd issue 388).

The harness never relays: a message is stored and that is all.
"""

from __future__ import annotations

import asyncio
import ssl
import traceback
from collections.abc import Mapping
from email import policy as email_policy
from email.message import Message
from email.parser import BytesParser

from aiosmtpd.smtp import SMTP, Envelope, Session

from maildoctor.harness.faults import Fault, FaultPlan, Stage
from maildoctor.harness.guard import QuietLog
from maildoctor.harness.headers import decode_field, header_end, headers_only
from maildoctor.harness.policy import Decision, MessageFacts, Outcome, Profile, decide
from maildoctor.harness.profiles import ProfileBook
from maildoctor.harness.protocol import (
    EXTENSION,
    Guards,
    HarnessSMTP,
    Limits,
    drop,
    session_key,
    session_peer,
)
from maildoctor.harness.store import Delivery, NewMessage, Store
from maildoctor.harness.tls import make_tls_context
from maildoctor.harness.verify import AuthVerifier

__all__ = [
    "AuthVerifier",
    "CaptureHandler",
    "Guards",
    "HarnessSMTP",
    "Limits",
    "headers_only",
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
        self.errors = QuietLog(interval=10.0)
        """Internal errors: a client that can trigger one must not flood the log."""

    async def handle_exception(self, error: Exception) -> str:
        """Any failure is temporary and stays private (aiosmtpd would answer 500 with it).

        The message is not acknowledged, so the sender keeps it and retries.
        """
        _log_error(error, self.errors)
        return INTERNAL_ERROR

    async def _fault_reply(self, server: SMTP, fault: Fault | None, default: str) -> str:
        if fault is None:
            return default
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            await drop(server)
        if fault.reply is None:
            return default
        if fault.code == 421 and server.transport is not None:
            # 421 closes the channel (RFC 5321 3.8); close after the reply is written.
            server.loop.call_soon(server.transport.close)
        return fault.reply

    async def handle_HELO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        fault = self.faults.pick(Stage.HELO, key=session_key(session))
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
        fault = self.faults.pick(Stage.HELO, key=session_key(session))
        if fault is None or fault.reply is None:
            await self._fault_reply(server, fault, "")
            session.host_name = hostname
            # Tell maildoctor's own client that XOUTCOME works here.
            return [*responses[:-1], f"250-{EXTENSION}", responses[-1]]
        return [await self._fault_reply(server, fault, "")]

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        fault = self.faults.pick(Stage.MAIL, key=session_key(session))
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
        fault = self.faults.pick(Stage.RCPT, recipient=address, key=session_key(session))
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
        elif b"authentication-results" in raw[: header_end(raw)].lower():
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
        key = session_key(session)
        fault = next(
            (
                f
                for rcpt in envelope.rcpt_tos
                if (f := self.faults.pick(Stage.AFTER_DATA, recipient=rcpt, key=key))
            ),
            None,
        )
        if fault is not None and fault.reply is None and not fault.drop:
            # A delay-only fault only makes the reply late; the decision is the usual one.
            await asyncio.sleep(fault.delay)
            fault = None
        deliveries: list[Delivery] = list(_refused(envelope))
        decisions = _decisions(
            headers, parsed, mail_from, authserv_id, profiles, envelope.rcpt_tos, fault, self.errors
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
            peer=session_peer(session),
            helo=session.host_name or "",
            reply=reply,
            subject=decode_field(headers.get("Subject")),
            from_header=decode_field(headers.get("From")),
            message_id=str(headers.get("Message-ID", "") or "").strip(),
        )
        if isinstance(server, HarnessSMTP):
            server.done_receiving()
        try:
            message_id = await self.store.add(record)
        except Exception:
            # The store logs the cause (rate-limited); the sender keeps the message.
            if isinstance(server, HarnessSMTP):
                server.last_deliveries = None
            return STORE_FAILED
        if isinstance(server, HarnessSMTP):
            server.last_deliveries = tuple(deliveries)
            server.last_stored_id = message_id
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
    errors: QuietLog,
) -> dict[str, Decision]:
    """Each recipient's decision; a failure (a bad profile, a parser bug) is rule ``error``."""
    wanted = [r for r in recipients if fault is None or not fault.applies_to(r)]
    known: dict[tuple[str, ...], MessageFacts] = {}

    def facts_for(profile: Profile) -> MessageFacts:
        """The facts as this mailbox sees them (the verifiers it trusts), computed once."""
        extra = profile.trusted_authserv_ids if authserv_id is not None else ()
        if extra not in known:
            known[extra] = MessageFacts.from_message(
                parsed or headers,
                mail_from,
                find_urls=parsed is not None,
                authserv_id=(authserv_id, *extra) if authserv_id is not None else None,
            )
        return known[extra]

    try:
        facts_for(Profile())
    except Exception as e:
        _log_error(e, errors)
        return {r: _error_decision() for r in wanted}
    decisions: dict[str, Decision] = {}
    for rcpt in wanted:
        try:
            decisions[rcpt] = decide(profiles[rcpt], facts_for(profiles[rcpt]))
        except Exception as e:
            _log_error(e, errors)
            decisions[rcpt] = _error_decision()
    return decisions


def _error_decision() -> Decision:
    code, _, text = DECISION_FAILED.partition(" ")
    return Decision(
        outcome=Outcome.REJECTED, rule=ERROR_RULE, reply_code=int(code), reply_text=text
    )


def _log_error(error: BaseException, log: QuietLog) -> None:
    """Internals go to the operator's stderr, never into an SMTP reply: the traceback of
    the first of a kind, then a count at most every 10 seconds."""
    name = type(error).__name__

    def line(n: int) -> str:
        if n == 1:
            return "".join(traceback.format_exception(error)).rstrip()
        return (
            f"maildoctor: {n} internal errors in the SMTP side ({name}: {str(error)[:200]}) "
            "since the last report (clients got 451)."
        )

    log.event(f"smtp-internal-{name}", line)


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


async def start_smtp(
    handler: CaptureHandler,
    *,
    host: str,
    port: int,
    limits: Limits,
    tls_context: ssl.SSLContext | None = None,
    users: Mapping[str, str] | None = None,
    auth_allow_insecure: bool = False,
    hostname: str = "maildoctor.harness",
    guards: Guards | None = None,
) -> asyncio.Server:
    """Listen on host:port (0 for a free port) in the running loop; every session
    shares ``guards`` (the session counts, the DATA memory budget, the AUTH throttle)."""
    loop = asyncio.get_running_loop()
    shared = guards or Guards(limits)
    return await loop.create_server(
        lambda: HarnessSMTP(
            handler,
            limits=limits,
            tls_context=tls_context,
            users=users,
            auth_allow_insecure=auth_allow_insecure,
            loop=loop,
            hostname=hostname,
            guards=shared,
        ),
        host=host,
        port=port,
        backlog=1024,
    )
