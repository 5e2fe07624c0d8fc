"""What the harness adds to aiosmtpd's SMTP protocol, apart from the capture handler.

- faults at connect and at the DATA command (aiosmtpd has no hook there);
- a transcript of each message's conversation, capped per session;
- DATA read in blocks, with memory bounded by the size limit whatever the client sends
  (aiosmtpd 1.4.6 keeps every fragment of a line that never ends, and one
  object per line: a 10 MB message of empty lines costs it hundreds of MB);
- AUTH required when there are accounts, and never over plain text unless
  asked for (Mailpit's rule, after RFC 4954 §4);
- limits no client can get past: sessions in total and per client address (421
  beyond), a byte budget for DATA held in memory across sessions (452 4.3.1
  beyond), idle and DATA timeouts, and a growing pause after each failed AUTH,
  per connection and per client address, the connection closed after a few;
- ``XOUTCOME``, a private-use command (RFC 5321 §4.1.5) that tells a client
  what each recipient's simulated mailbox did with the last message, since
  one DATA reply cannot: ``RECIPIENT OUTCOME RULE message=ID REPLY`` a line each
  (maildoctor.harness.client asks it when EHLO says XMAILDOCTOR).
"""

from __future__ import annotations

import asyncio
import collections
import re
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from maildoctor.harness.faults import Stage
from maildoctor.harness.guard import FailureThrottle, Gate, MemoryBudget, QuietLog

if TYPE_CHECKING:
    from maildoctor.harness.faults import FaultPlan
    from maildoctor.harness.store import Delivery, Store


class CaptureSide(Protocol):
    """What the protocol needs of its capture handler (maildoctor.harness.smtp's
    CaptureHandler): the fault plan and the store. Declared here, so that smtp imports
    protocol and never the other way round."""

    faults: FaultPlan
    store: Store


__all__ = ["EXTENSION", "Guards", "HarnessSMTP", "Limits", "session_key"]

#: The EHLO keyword that says "this is a maildoctor harness; XOUTCOME works".
EXTENSION = "XMAILDOCTOR"
AUTH_REQUIRED = "530 5.7.0 Authentication required"
LINE_TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"
TOO_MUCH_DATA = "552 5.3.4 Message too big for this server"
NO_OUTCOME = "503 5.5.1 No message stored on this connection yet"
NO_MEMORY = "452 4.3.1 Insufficient system storage: too much mail arriving at once, try again later"
BUSY = "421 4.7.0 {host} Too many connections ({why}); try again later"
AUTH_CLOSED = "421 4.7.0 Too many failed logins on this connection; closing"

#: Transcript lines kept per message: the first and the last this many, the
#: middle counted (300,000 NOOPs must not become megabytes in the store).
TRANSCRIPT_HEAD = 60
TRANSCRIPT_TAIL = 60
#: Characters kept of one transcript line (a command line is at most ~1 KB anyway).
TRANSCRIPT_LINE = 600


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
    """Seconds without a valid command before the server hangs up (idle and slow
    commands alike; RFC 5321 4.5.3.2.7 suggests 5 minutes)."""
    data_timeout: float = 600.0
    """Seconds a whole message may take after 354 (RFC 5321 4.5.3.2.6: 10 minutes)."""
    max_sessions: int = 500
    """Concurrent SMTP sessions in all (0: no limit); more get 421 at connect."""
    max_sessions_per_client: int = 100
    """Concurrent sessions from one client address (0: no limit); more get 421."""
    data_memory: int = 128 * 1024 * 1024
    """Bytes of DATA held in memory across all sessions (0: no limit); a message that
    would pass it gets 452 4.3.1 at its end and is not kept."""
    auth_failures: int = 3
    """Failed AUTHs on one connection before it is closed with 421 4.7.0."""
    auth_pause: float = 0.5
    """Seconds before an AUTH after one failure (of the connection or of its client
    address), doubling with each further failure up to 8 s."""


def peer_host(peer: object) -> str:
    """The client's address without its port: what per-client limits count."""
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "?")


class Guards:
    """What the sessions of one SMTP server share: counts, the memory budget, the log."""

    def __init__(self, limits: Limits, log: QuietLog | None = None) -> None:
        self.gate = Gate(total=limits.max_sessions, per_client=limits.max_sessions_per_client)
        self.memory = MemoryBudget(limits.data_memory)
        self.auth = FailureThrottle(base=limits.auth_pause, lock_after=0)
        self.log = log or QuietLog()
        self.transports: set[asyncio.BaseTransport] = set()
        """Open connections, to abort when the harness stops (3.11's Server cannot)."""

    def abort_all(self) -> None:
        """Drop every open connection: a stopped loop must not leave a socket behind."""
        for transport in list(self.transports):
            transport.abort()  # type: ignore[attr-defined]
        self.transports.clear()


def session_key(session: Session) -> str:
    """The key that fault counters of one connection live under."""
    key: str | None = getattr(session, "maildoctor_key", None)
    if key is None:
        key = f"{session_peer(session)}#{id(session)}"
        session.maildoctor_key = key  # type: ignore[attr-defined]
    return key


def session_peer(session: Session) -> str:
    peer = session.peer
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer or "")


async def drop(server: SMTP) -> None:
    """Close the connection without a reply, then wait to be cancelled by aiosmtpd."""
    if server.transport is not None:
        server.transport.close()
    await asyncio.sleep(3600)


class _Transcript:
    """The conversation since the last message, with its middle counted, not kept."""

    def __init__(self) -> None:
        self.head: list[str] = []
        self.tail: collections.deque[str] = collections.deque(maxlen=TRANSCRIPT_TAIL)
        self.dropped = 0

    def add(self, line: str) -> None:
        if len(line) > TRANSCRIPT_LINE:
            line = f"{line[:TRANSCRIPT_LINE]}… ({len(line)} characters)"
        if len(self.head) < TRANSCRIPT_HEAD:
            self.head.append(line)
            return
        if len(self.tail) == TRANSCRIPT_TAIL:
            self.dropped += 1
        self.tail.append(line)

    def lines(self) -> list[str]:
        middle = [f"… {self.dropped} lines not kept …"] if self.dropped else []
        return [*self.head, *middle, *self.tail]


#: A plain ``<local@domain>`` (a dot-atom of ASCII atext, LDH labels) and the spaces
#: after it: what almost every MAIL and RCPT carries. Not an encoded word (``=?``), which
#: the email package's parser would decode, and not a comment after it.
_PLAIN_PATH = re.compile(
    r"<(?!=\?)([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>(?:[ \t]+(?=[^ \t(])|\Z)"
)

#: Bytes aiosmtpd's StreamReader takes before ``readuntil`` gives up (and twice this
#: before it stops reading the socket).
READ_LIMIT = 16 * 1024

#: CRLF "." CRLF: the end of the data (RFC 5321 4.1.1.4).
END_OF_DATA = b"\r\n.\r\n"


async def _first_bytes(reader: asyncio.StreamReader) -> tuple[bytes, bool]:
    """The first bytes after 354, and whether they were the whole message.

    Just after 354 the stream is at the start of a line, so ".\r\n" alone ends the
    data; ``readuntil(END_OF_DATA)`` would miss that CRLF, which is not in the stream.
    Read the fewest bytes that can complete the end mark until none of what was read
    could be its start: from then on ``readuntil`` finds it, and nothing past it is
    ever read (pipelined commands stay in the reader).
    """
    got = await reader.readexactly(3)
    while True:
        if b"\r" not in got[-4:]:
            return got, False  # the usual case: every start of the end mark is a CR
        seen = b"\r\n" + got
        if seen.endswith(END_OF_DATA):
            return got[:-3], True
        started = next((n for n in (4, 3, 2, 1) if seen.endswith(END_OF_DATA[:n])), 0)
        if not started:
            return got, False
        got += await reader.readexactly(len(END_OF_DATA) - started)


class _DataChecks:
    """The line-length and size limits, checked a block of DATA at a time.

    Whichever limit the stream passes first gives the reply: a line passes the
    line limit at its (limit + 1)th byte, CRLF and a stuffing dot included; the
    message passes the size limit at its (limit + 1)th byte, before unstuffing.
    A line is judged as soon as what has arrived proves it too long.
    """

    def __init__(self, *, size_limit: int, line_limit: int) -> None:
        self.size_limit = size_limit
        self.line_limit = line_limit
        self.size = 0
        self.line = b""
        """The start of the line that is not complete yet."""

    def check(self, block: bytes) -> str | None:
        start = self.size - len(self.line)  # where self.line starts in the stream
        self.size += len(block)
        lines = (self.line + block).split(b"\r\n") if self.line else block.split(b"\r\n")
        last = lines.pop()
        self.line = last  # shorter than the line limit unless this is an error
        # The shortest the last line can still be: a CR may be the start of its CRLF.
        last_size = len(last) + (1 if last.endswith(b"\r") else 2)
        too_long = last_size > self.line_limit or (
            bool(lines) and max(map(len, lines)) + 2 > self.line_limit
        )
        too_big = bool(self.size_limit) and self.size > self.size_limit
        if not too_long:
            return TOO_MUCH_DATA if too_big else None
        for line in lines:
            if len(line) + 2 > self.line_limit:
                break
            start += len(line) + 2
        if too_big and start + self.line_limit > self.size_limit:
            return TOO_MUCH_DATA
        return LINE_TOO_LONG


class HarnessSMTP(SMTP):
    """aiosmtpd's SMTP with faults, a capped transcript, bounded DATA and required AUTH."""

    def __init__(
        self,
        handler: CaptureSide,
        *,
        limits: Limits,
        tls_context: ssl.SSLContext | None = None,
        users: Mapping[str, str] | None = None,
        auth_allow_insecure: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
        hostname: str = "maildoctor.harness",
        guards: Guards | None = None,
    ) -> None:
        # aiosmtpd sizes its StreamReader by line_length_limit; DATA lines are checked
        # here against Limits.line_length, so the reader may hold a whole small
        # message: one readuntil for it, and the socket not paused and resumed (two
        # epoll calls) for every message over 2 KB. Command lines keep their own
        # limits (aiosmtpd's command_size_limits, 500 beyond).
        self.line_length_limit = READ_LIMIT
        self._limits = limits
        self._guards = guards or Guards(limits)
        self._admitted: str | None = None
        """The client address counted by the gate (None: refused, or not yet connected)."""
        self._refused = False
        self._auth_failures = 0
        self._auth_failed_user: str | None = None
        self._transcript = _Transcript()
        self._skip_push = False
        self._users = dict(users or {})
        self.last_deliveries: Sequence[Delivery] | None = None
        """Each recipient's decision for the last message stored on this connection."""
        self.last_stored_id: int | None = None
        """The store's id of that message."""
        super().__init__(
            handler,
            data_size_limit=limits.max_message_size,
            enable_SMTPUTF8=True,
            hostname=hostname,
            ident="maildoctor harness (ESMTP, never relays)",
            tls_context=tls_context,
            timeout=limits.timeout,
            # AUTH after STARTTLS only, unless plain text was asked for (and accounts exist).
            auth_require_tls=not (self._users and auth_allow_insecure),
            authenticator=self._check_login,
            loop=loop,
        )
        self._faults = handler.faults
        self._store = handler.store
        self._receiving = False
        self._raw: asyncio.BaseTransport | None = None
        """The connection's own socket transport (STARTTLS layers another on it)."""
        self._deadline = 0.0
        """When the idle or DATA timeout closes the connection (the loop's clock)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None:  # a new connection, not the TLS layer of STARTTLS
            self._raw = transport
            self._guards.transports.add(transport)
            client = peer_host(transport.get_extra_info("peername"))
            why = self._guards.gate.admit(client)
            if why is not None:
                self._refuse(transport, why)
                return
            self._admitted = client
        # STARTTLS makes a new session: the old one's fault counters are done with.
        self._forget_faults()
        super().connection_made(transport)

    def _refuse(self, transport: asyncio.BaseTransport, why: str) -> None:
        """421 and close, before aiosmtpd starts a session (RFC 5321 3.8)."""
        self._refused = True
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(BUSY.format(host=self.hostname, why=why).encode() + b"\r\n")
        transport.close()
        gate = self._guards.gate
        self._guards.log.event(
            "smtp-busy",
            lambda n: (
                f"maildoctor: refused {n} SMTP connection(s) with 421 in the last "
                f"second: {why} ({gate.open} open)."
            ),
        )

    def _reset_timeout(self, duration: float | None = None) -> None:
        """aiosmtpd's timeout, without a new timer for every command.

        aiosmtpd cancels its timer and makes a new one on each command (5% of the
        harness's time in py-spy). Here a command moves the deadline; the timer is
        made again only for a nearer one, and when it fires before the deadline it
        waits for the rest.
        """
        self._deadline = self.loop.time() + (duration or self._timeout_duration)
        handle = self._timeout_handle
        if handle is None or handle.cancelled() or handle.when() > self._deadline:
            if handle is not None:
                handle.cancel()
            self._timeout_handle = self.loop.call_at(self._deadline, self._timeout_due)

    def _timeout_due(self) -> None:
        if self.loop.time() < self._deadline:
            self._timeout_handle = self.loop.call_at(self._deadline, self._timeout_due)
        else:
            self._timeout_cb()

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def eof_received(self) -> bool | None:
        return None if self._refused else super().eof_received()

    def connection_lost(self, error: Exception | None) -> None:
        if self._raw is not None:
            self._guards.transports.discard(self._raw)
            self._raw = None
        if self._refused:
            return
        if self._admitted is not None:
            self._guards.gate.release(self._admitted)
            self._admitted = None
        self._forget_faults()
        super().connection_lost(error)

    def _forget_faults(self) -> None:
        key = getattr(self.session, "maildoctor_key", None) if self.session else None
        if key is not None:
            self._faults.forget(key)

    # -- AUTH ------------------------------------------------------------------

    def _check_login(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            user = data.login.decode("utf-8", "replace")
            password = data.password.decode("utf-8", "replace")
            if self._users.get(user) == password and user in self._users:
                return AuthResult(success=True, auth_data=user)
            self._auth_failed_user = user
        else:
            self._auth_failed_user = ""
        return AuthResult(success=False, handled=False)

    async def check_auth_needed(self, caller_method: str) -> bool:
        # aiosmtpd's auth_required warns when TLS is not required too; the rule is ours.
        assert self.session is not None
        if self._users and not self.session.authenticated:
            await self.push(AUTH_REQUIRED)
            return True
        return False

    # -- the transcript --------------------------------------------------------

    def take_transcript(self) -> list[str]:
        """The conversation since the last message (the greeting included for the first)."""
        lines = self._transcript.lines()
        self._transcript = _Transcript()
        self._skip_push = True  # the reply to this DATA is recorded by the handler
        return lines

    async def push(self, status: Any) -> None:
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else str(status)
        if self._skip_push:
            self._skip_push = False
        else:
            self._transcript.add(f"S: {text}")
        await super().push(status)

    def _note(self, command: str, arg: str | None) -> None:
        if command == "AUTH" and arg:
            arg = arg.split(" ", 1)[0] + " ****"
        self._transcript.add(f"C: {command} {arg}".rstrip() if arg else f"C: {command}")

    # -- faults at connect -----------------------------------------------------

    async def _handle_client(self) -> None:
        assert self.session is not None
        fault = self._faults.pick(Stage.CONNECT, key=session_key(self.session))
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

    # -- commands (noted in the transcript) ------------------------------------

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
        """AUTH, slowed after failures and closed after a few (guessing is unlimited else)."""
        self._note("AUTH", arg)
        assert self.session is not None
        client = self._admitted or peer_host(self.session.peer)
        throttle = self._guards.auth
        failures = max(self._auth_failures, throttle.failures(client))
        if failures:
            await asyncio.sleep(throttle.pause(failures))
        self._auth_failed_user = None
        await super().smtp_AUTH(arg)
        user = self._auth_failed_user
        if user is None:
            if self.session.authenticated:
                throttle.succeed(client)
            return
        self._auth_failures += 1
        throttle.fail(client)
        self._guards.log.event(
            "smtp-auth",
            lambda n: (
                f"maildoctor: {n} failed SMTP AUTH attempt(s) in the last second "
                f"(last: {client}, user {user[:64]!r})."
            ),
        )
        if self._auth_failures >= self._limits.auth_failures and self.transport is not None:
            await self.push(AUTH_CLOSED)
            self.transport.close()

    async def smtp_XOUTCOME(self, arg: str | None) -> None:
        """Each recipient's outcome and rule for the last stored message, a line each."""
        self._note("XOUTCOME", arg)
        if arg:
            await self.push("501 5.5.4 Syntax: XOUTCOME")
            return
        if not self.last_deliveries:
            await self.push(NO_OUTCOME)
            return
        lines = [
            f"{d.recipient} {d.outcome} {d.rule} message={self.last_stored_id} {d.decision.reply}"
            for d in self.last_deliveries
        ]
        for line in lines[:-1]:
            await self.push(f"250-{line}")
        await self.push(f"250 {lines[-1]}")

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """The address and what follows it, as aiosmtpd's ``_getaddr`` gives them.

        A plain ``<local@domain>`` is taken apart with one regular expression; all
        else (quoted local parts, UTF-8, literals, comments, a missing bracket) goes
        to aiosmtpd's parser, the email package's header parser, which costs about
        a quarter of the harness's time when every address goes through it (and
        defines a class on each call). tests/test_harness_data.py holds the two
        to the same answers.
        """
        plain = _PLAIN_PATH.match(arg) if arg else None
        if plain is None:
            return super()._getaddr(arg)
        local = plain[1]
        if self.local_part_limit and len(local) > self.local_part_limit:
            return None, None
        return f"{local}@{plain[2]}", arg[plain.end() :]

    # -- DATA ------------------------------------------------------------------

    async def smtp_DATA(self, arg: str) -> None:
        self._note("DATA", arg)
        assert self.session is not None and self.envelope is not None
        if self.envelope.rcpt_tos and not arg and self.session.host_name:
            fault = self._faults.pick(Stage.DATA, key=session_key(self.session))
            if fault is not None:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.drop:
                    await drop(self)
                if fault.reply:
                    await self.push(fault.reply)
                    if fault.code == 421 and self.transport is not None:
                        self.transport.close()
                    return
        if not (self.envelope.rcpt_tos and self.session.host_name) or arg:
            await super().smtp_DATA(arg)  # an error reply, nothing to store
            return
        if await self.check_auth_needed("DATA"):
            return
        self._receiving = True
        self._store.incoming += 1
        try:
            await self._receive_data()
        finally:
            self.done_receiving()

    async def _receive_data(self) -> None:
        """Read the message into one buffer that never outgrows the size limit.

        It is read in blocks, whatever the stream holds up to the end mark, rather
        than a line at a time: a line is an await, a few Python objects and a check,
        which made DATA a sixth of the harness's time. Dot-stuffing is undone once,
        at the end (RFC 5321 4.5.2). Past the size
        limit, or on a line longer than the line limit, what follows is read and
        dropped until the end of the data, and the reply comes then (RFC 5321
        4.2.5): memory stays within the limit however the client sends, and all
        sessions together within the DATA budget (``Limits.data_memory``).
        """
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        # The whole message has its own time (aiosmtpd's timer counts between commands).
        self._reset_timeout(self._limits.data_timeout)
        memory = self._guards.memory
        held = [0]
        try:
            status = await self._read_message(memory, held)
        finally:
            memory.give_back(held[0])
        if status is None:  # the client went away mid-message: nothing to answer
            return
        self._set_post_data_state()
        await self.push(status)
        self._reset_timeout()

    async def _read_message(self, memory: MemoryBudget, held: list[int]) -> str | None:
        """Read and store the message; returns the reply (None: the client left).

        ``held[0]`` is kept equal to the bytes reserved from ``memory``, which the
        caller gives back whatever happens."""
        reader = self._reader
        data = _DataChecks(
            size_limit=self.data_size_limit or 0, line_limit=self._limits.line_length
        )
        body = bytearray()
        error: str | None = None
        try:
            block, ended = await _first_bytes(reader)
            while True:
                if error is None:
                    error = data.check(block)
                    if error is None and not memory.take(len(block)):
                        error = NO_MEMORY
                        self._guards.log.event(
                            "smtp-memory",
                            lambda n: (
                                f"maildoctor: {n} message(s) refused with 452 4.3.1 in the "
                                f"last second: {memory.used} bytes of DATA held, the budget "
                                f"is {memory.limit} (--smtp-data-memory)."
                            ),
                        )
                    if error is None:
                        held[0] += len(block)
                        body += block
                    else:  # what follows is read and dropped until the end of the data
                        body = bytearray()
                        memory.give_back(held[0])
                        held[0] = 0
                if ended:
                    break
                try:
                    # The end of the data and its CRLF.CRLF, or on a long message the
                    # bytes that are there so far, all but the last four (which could
                    # be the start of the end mark): a block at a time, not a line.
                    block = (await reader.readuntil(END_OF_DATA))[:-3]
                    ended = True
                except asyncio.LimitOverrunError as e:
                    block = await reader.read(e.consumed)
        except asyncio.IncompleteReadError:
            return None  # the client closed its side mid-message
        if self.transport is None:
            return None
        if error is not None:
            return error
        assert self.envelope is not None
        # Undo dot-stuffing (RFC 5321 4.5.2): the first dot of every line that has one.
        content = bytes(body).replace(b"\r\n.", b"\r\n")
        del body
        if content.startswith(b"."):
            content = content[1:]
        self.envelope.content = content
        self.envelope.original_content = content
        status: str = await self._call_handler_hook("DATA")
        return status

    def done_receiving(self) -> None:
        """This connection's message is queued for the store (or will never be)."""
        if self._receiving:
            self._receiving = False
            self._store.incoming -= 1
