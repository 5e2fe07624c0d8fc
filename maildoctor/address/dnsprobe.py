"""DNS: where would mail for a domain go? The only module that asks the network.

Answers come in three kinds (STYLE 5): a route exists, no route exists, or
nothing can be concluded. A timeout, SERVFAIL or REFUSED is the third kind,
and so is every answer of a resolver that fails the canary: a sinkhole or a
machine with no network answers NXDOMAIN for everything, which must never
become "the domain does not exist".

One :class:`DNSProbe` serves a whole run: each domain (and each MX host) is
looked up once, concurrent callers share the pending lookup, and at most
``concurrency`` queries are in flight. The resolver is passed in: dnspython's
(:func:`make_resolver`, every path) or, for a batch, c-ares through pycares
(:func:`make_batch_resolver`), which builds and parses DNS messages in C: about
a fifth of dnspython's CPU per query (bench/check_bench.py). Both map their
answers and errors onto the same three outcomes, and the canary is the same.

Errors::

    DNSConfigError   a --nameserver value or the system resolver configuration is unusable
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import dns.asyncresolver
import dns.exception
import dns.message
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

__all__ = [
    "DEFAULT_CANARIES",
    "AresResolver",
    "DNSConfigError",
    "DNSProbe",
    "DomainDNS",
    "make_batch_resolver",
    "make_resolver",
    "parse_nameserver",
]

#: The contract's canaries: the root's NS and gmail.com's MX must both resolve.
DEFAULT_CANARIES: tuple[str, ...] = (".", "gmail.com")

Status = Literal[
    "ok", "nxdomain", "null_mx", "no_mail_server", "implicit_mx", "mx_unresolvable", "unavailable"
]


class DNSConfigError(ValueError):
    """A nameserver option or the system's resolver configuration cannot be used."""


@dataclass(frozen=True, kw_only=True)
class DomainDNS:
    """What DNS says about mail for one domain."""

    domain: str
    """The domain asked about (ASCII, lower case)."""
    status: Status
    """``ok`` (an MX host resolves), ``nxdomain``, ``null_mx`` (RFC 7505),
    ``no_mail_server`` (no MX, no A/AAAA), ``implicit_mx`` (no MX but A/AAAA,
    RFC 5321 5.1), ``mx_unresolvable`` (no MX host has an address) or
    ``unavailable`` (nothing can be concluded: see ``reason``)."""
    mx: tuple[str, ...] = ()
    """MX hosts in preference order (lowest preference value first)."""
    addresses: tuple[str, ...] = ()
    """Addresses found for the first MX host that resolves, or for the domain
    itself under implicit MX."""
    reason: str | None = None
    """Why the result is ``unavailable``: ``timeout``, ``SERVFAIL``, ``REFUSED``,
    ``canary`` (the resolver is not truthful), ``no_resolver`` or ``error``."""
    unresolved: tuple[str, ...] = field(default=())
    """MX hosts that have no address (for ``mx_unresolvable``)."""


class _Unavailable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _NXDomain(Exception):
    """The name does not exist (trusted only after the canary)."""


@dataclass(frozen=True, kw_only=True)
class _Answer:
    """The records of one answer: (preference, host) for MX, addresses for A/AAAA,
    host names for NS; ``glue`` maps a host to addresses from the additional section."""

    records: list[object]
    glue: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_dnspython(cls, answer: dns.resolver.Answer) -> _Answer:
        records: list[object] = []
        for rd in answer.rrset or ():
            if rd.rdtype == dns.rdatatype.MX:
                records.append((rd.preference, str(rd.exchange).rstrip(".").lower()))
            elif rd.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                records.append(rd.address)
            else:
                records.append(str(rd))
        glue: dict[str, list[str]] = {}
        for rrset in answer.response.additional:
            if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                host = str(rrset.name).rstrip(".").lower()
                glue.setdefault(host, []).extend(rd.address for rd in rrset)
        return cls(records=records, glue=glue)

    @classmethod
    def from_ares(cls, result: Any, rdtype: str) -> _Answer:
        """The same from a ``pycares.DNSResult``: records of the asked type only
        (a CNAME on the way is not one), glue from its additional section."""
        want = _ARES_TYPES[rdtype]
        records: list[object] = []
        for rr in result.answer:
            if rr.type != want:
                continue
            data = rr.data
            if want == 15:  # MX
                records.append((data.priority, data.exchange.rstrip(".").lower()))
            elif want in (1, 28):  # A, AAAA
                records.append(data.addr)
            else:
                records.append(str(getattr(data, "nsdname", data)))
        glue: dict[str, list[str]] = {}
        for rr in result.additional:
            if rr.type in (1, 28):
                glue.setdefault(rr.name.rstrip(".").lower(), []).append(rr.data.addr)
        return cls(records=records, glue=glue)


#: The record types the probe asks, by their numbers on the wire (RFC 1035, 3596).
_ARES_TYPES = {"A": 1, "NS": 2, "MX": 15, "AAAA": 28}


def parse_nameserver(value: str) -> tuple[str, int]:
    """``IP``, ``IP:PORT``, ``[IPv6]:PORT`` or a bare IPv6 address → (ip, port)."""
    text = value.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise DNSConfigError(f"The nameserver {value!r} is not IP[:PORT].")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        if not port_text.isdigit():
            raise DNSConfigError(
                f"The nameserver {value!r} has no valid port; write it as IP or IP:PORT, "
                "for example 127.0.0.1:5353."
            )
        port = int(port_text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise DNSConfigError(
            f"The nameserver {value!r} is not an IP address; write it as IP or IP:PORT, "
            "for example 127.0.0.1:5353."
        ) from None
    if not 0 < port < 65536:
        raise DNSConfigError(f"The nameserver port in {value!r} must be between 1 and 65535.")
    return host, port


def make_resolver(
    nameservers: Sequence[str] = (), timeout: float = 5.0
) -> dns.asyncresolver.Resolver:
    """An asyncio resolver for ``nameservers`` (IP[:PORT] strings), or the system's.

    Raises :class:`DNSConfigError` for a bad nameserver value.
    """
    if nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(*parse_nameserver(ns)) for ns in nameservers
        ]
    else:
        try:
            resolver = dns.asyncresolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            # No /etc/resolv.conf: every query will fail as "no_resolver", which the
            # probe reports as dns_unavailable rather than refusing to run.
            resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.timeout = timeout
    resolver.lifetime = timeout
    resolver.cache = None  # DNSProbe keeps its own per-run cache
    return resolver


class AresResolver:
    """The batch path's resolver: c-ares (pycares) asking ``servers``, on the event loop.

    Made by :func:`make_batch_resolver` from a dnspython resolver's servers, so
    both read one configuration. One try of ``timeout`` seconds per query, as
    dnspython's ``lifetime``. The c-ares channel watches its sockets through the
    running loop (``sock_state_cb``), not through a thread of its own: an answer
    is read and its callback run by the loop as soon as the loop polls, with no
    thread to wake and no wait for the GIL held by the checks (bench/check_bench.py).
    The channel is made on first use inside the running loop, and again if a later
    run has a new loop.
    """

    #: How often c-ares is asked to expire timed-out queries while any is out (seconds).
    TICK = 0.05

    def __init__(self, servers: Sequence[tuple[str, int]], timeout: float) -> None:
        self.servers = [f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}" for ip, port in servers]
        self.timeout = timeout
        self._channel: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fds: dict[int, tuple[bool, bool]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._active = 0
        self._waiting: deque[tuple[str, str, int, asyncio.Future[tuple[Any, int | None]]]] = deque()

    async def answer(self, name: str, rdtype: str, *, limit: int, first: bool = False) -> _Answer:
        """The answer (empty for NODATA); raises _NXDomain, or _Unavailable.

        At most ``limit`` queries are out at once; the others wait in order (``first``:
        ahead of them), and each answer sends the next waiting query from c-ares's
        callback, as the answer is read: a query slot is never left empty for the
        loop's turns in between."""
        import pycares

        loop = asyncio.get_running_loop()
        self._channel_for(loop)
        future: asyncio.Future[tuple[Any, int | None]] = loop.create_future()
        if self._active < limit and not self._waiting:
            self._send(name, rdtype, future)
        elif first:
            self._waiting.appendleft((name, rdtype, limit, future))
        else:
            self._waiting.append((name, rdtype, limit, future))
        result, error = await future
        if error is not None:
            if error == pycares.errno.ARES_ENOTFOUND:
                raise _NXDomain(name)
            if error == pycares.errno.ARES_ENODATA:
                return _Answer(records=[])
            raise _Unavailable(_ARES_REASONS.get(error, "error"))
        return _Answer.from_ares(result, rdtype)

    def _send(self, name: str, rdtype: str, future: asyncio.Future[tuple[Any, int | None]]) -> None:
        import pycares

        self._active += 1
        if self._timer is None and self._loop is not None:
            self._timer = self._loop.call_later(self.TICK, self._tick)
        answered = False

        def done(result: Any, error: int | None) -> None:
            nonlocal answered
            if answered:
                return
            answered = True
            self._active -= 1
            if not future.done():
                future.set_result((result, error))
            self._send_waiting()

        try:
            self._channel.query(name, _ARES_TYPES[rdtype], callback=done)
        except pycares.AresError as e:
            done(None, int(e.args[0]) if e.args else -1)

    def _send_waiting(self) -> None:
        """Send waiting queries while their limit allows (skipping any given up on)."""
        while self._waiting:
            name, rdtype, limit, future = self._waiting[0]
            if future.done():
                self._waiting.popleft()
                continue
            if self._active >= limit:
                return
            self._waiting.popleft()
            self._send(name, rdtype, future)

    def _channel_for(self, loop: asyncio.AbstractEventLoop) -> Any:
        import pycares

        if self._channel is None or self._loop is not loop:
            self._fds, self._timer, self._loop = {}, None, loop
            self._active, self._waiting = 0, deque()
            self._channel = pycares.Channel(
                servers=self.servers,
                timeout=self.timeout,
                tries=1,
                flags=pycares.ARES_FLAG_NOSEARCH,
                sock_state_cb=self._sock_state,
            )
        return self._channel

    def _sock_state(self, fd: int, readable: bool, writable: bool) -> None:
        """c-ares says which of its sockets to watch (both False: the socket is closed)."""
        import pycares

        loop = self._loop
        if loop is None or loop.is_closed():
            return
        was_reading, was_writing = self._fds.pop(fd, (False, False))
        if was_reading and not readable:
            loop.remove_reader(fd)
        if was_writing and not writable:
            loop.remove_writer(fd)
        if readable and not was_reading:
            loop.add_reader(fd, self._channel.process_fd, fd, pycares.ARES_SOCKET_BAD)
        if writable and not was_writing:
            loop.add_writer(fd, self._channel.process_fd, pycares.ARES_SOCKET_BAD, fd)
        if readable or writable:
            self._fds[fd] = (readable, writable)

    def _tick(self) -> None:
        """Let c-ares expire the queries whose time is up, while any query is out
        (an idle channel, whose socket c-ares may keep open, costs no wake-ups)."""
        import pycares

        self._timer = None
        if self._active and self._loop is not None and not self._loop.is_closed():
            self._channel.process_fd(pycares.ARES_SOCKET_BAD, pycares.ARES_SOCKET_BAD)
            if self._active and self._timer is None:
                self._timer = self._loop.call_later(self.TICK, self._tick)


#: c-ares error codes (pycares.errno) -> the reason of an ``unavailable`` result;
#: any other code is ``error``. 12 ETIMEOUT, 3 ESERVFAIL, 6 EREFUSED, 5 ENOTIMP, 2 EFORMERR.
_ARES_REASONS = {12: "timeout", 3: "SERVFAIL", 6: "REFUSED", 5: "NOTIMP", 2: "FORMERR"}


def make_batch_resolver(
    nameservers: Sequence[str] = (), timeout: float = 5.0
) -> dns.asyncresolver.Resolver | AresResolver:
    """The resolver for a batch (``check --file``): c-ares for the servers dnspython
    would ask, or dnspython itself when pycares is not installed or there is no
    usable plain-DNS server (dnspython then reports ``no_resolver``).

    Raises :class:`DNSConfigError` for a bad nameserver value.
    """
    resolver = make_resolver(nameservers, timeout)
    try:
        import pycares  # noqa: F401
    except ImportError:
        return resolver
    servers: list[tuple[str, int]] = []
    for ns in resolver.nameservers:
        if isinstance(ns, str):
            servers.append((ns, resolver.port))
        elif isinstance(ns, dns.nameserver.Do53Nameserver):
            servers.append((ns.address, ns.port))
        else:
            return resolver  # DoH/DoT: dnspython speaks it, c-ares does not
    return AresResolver(servers, timeout) if servers else resolver


class DNSProbe:
    """Looks up the mail route of domains, once each, for one run.

    ``resolver``: a ``dns.asyncresolver.Resolver`` (see :func:`make_resolver`) or
    an :class:`AresResolver` (see :func:`make_batch_resolver`).
    ``canaries``: names that must resolve before any NXDOMAIN is trusted (``.`` is
    asked for NS, any other name for MX).
    ``concurrency``: the most queries in flight at once.
    """

    def __init__(
        self,
        resolver: dns.asyncresolver.Resolver | AresResolver,
        *,
        canaries: Sequence[str] = DEFAULT_CANARIES,
        concurrency: int = 50,
    ) -> None:
        self.resolver = resolver
        self.canaries = tuple(canaries)
        self.queries = 0
        """How many DNS queries were sent (answered or not)."""
        self._concurrency = max(1, concurrency)
        self._limit = _Limiter(self._concurrency)
        self._domains: dict[str, asyncio.Task[DomainDNS]] = {}
        self._hosts: dict[str, asyncio.Task[tuple[str, ...]]] = {}
        self._canary: asyncio.Task[str | None] | None = None
        self._canary_reason = "canary"

    # -- public --------------------------------------------------------------

    async def canary_failure(self) -> str | None:
        """None when the resolver passed the canaries, else what failed (checked once)."""
        if self._canary is None:
            self._canary = asyncio.ensure_future(self._check_canaries())
        return await self._canary

    async def probe(self, domain: str) -> DomainDNS:
        """The mail route of ``domain`` (ASCII); looked up once per probe."""
        return await self.lookup(domain)

    def lookup(self, domain: str) -> asyncio.Future[DomainDNS]:
        """The shared pending (or finished) lookup of ``domain``; call from a running loop.

        Batch callers hold the future instead of a task per address.
        """
        key = domain.lower().rstrip(".")
        task = self._domains.get(key)
        if task is None:
            task = asyncio.ensure_future(self._probe(key))
            self._domains[key] = task
        return task

    def forget(self, domain: str) -> None:
        """Drop the memo of ``domain`` (a finished lookup), so the next lookup asks again.

        For long-lived callers that keep their own TTL cache
        (:class:`maildoctor.address.dnscache.CachedProbe`).
        """
        key = domain.lower().rstrip(".")
        task = self._domains.get(key)
        if task is not None and task.done():
            del self._domains[key]

    # -- internals -----------------------------------------------------------

    async def _query(self, name: str, rdtype: str, *, follow_up: bool = False) -> _Answer:
        """The answer (empty for NODATA); raises _NXDomain, or _Unavailable.

        ``follow_up``: the query continues a lookup already answered once (the A of an
        MX host or of a domain without MX), so it waits ahead of the lookups not yet
        begun: a batch's results come out in input order, and one domain's second
        query sent after a thousand other domains' first would hold them all back."""
        if isinstance(self.resolver, AresResolver):
            self.queries += 1  # c-ares keeps the limit itself, from its callbacks
            return await self.resolver.answer(
                name, rdtype, limit=self._concurrency, first=follow_up
            )
        await self._limit.acquire(first=follow_up)
        try:
            self.queries += 1
            try:
                answer = await self.resolver.resolve(
                    name, rdtype, search=False, raise_on_no_answer=False
                )
            except dns.resolver.NXDOMAIN:
                raise _NXDomain(name) from None
            except (dns.resolver.LifetimeTimeout, dns.exception.Timeout):
                raise _Unavailable("timeout") from None
            except dns.resolver.NoNameservers as e:
                raise _Unavailable(_rcode_of(e)) from None
            except dns.resolver.NoResolverConfiguration:
                raise _Unavailable("no_resolver") from None
            except (dns.exception.DNSException, OSError):
                raise _Unavailable("error") from None
            return _Answer.from_dnspython(answer)
        finally:
            self._limit.release()

    async def _check_canaries(self) -> str | None:
        async def one(name: str) -> tuple[str, str] | None:
            """(what failed, the reason code for DomainDNS), or None when it resolved."""
            rdtype = "NS" if name == "." else "MX"
            try:
                answer = await self._query(name, rdtype)
            except _NXDomain:
                return f"{name} {rdtype}: NXDOMAIN", "canary"
            except _Unavailable as e:
                return f"{name} {rdtype}: {e.reason}", e.reason
            if not answer.records:
                return f"{name} {rdtype}: no answer", "canary"
            return None

        results = await asyncio.gather(*(one(n) for n in self.canaries))
        failures = [r for r in results if r]
        if not failures:
            return None
        # A resolver that denies a name that exists is untruthful ("canary"); one that
        # timed out or answered SERVFAIL/REFUSED is just unavailable, and says which.
        kinds = [kind for _, kind in failures]
        self._canary_reason = "canary" if "canary" in kinds else kinds[0]
        return "; ".join(text for text, _ in failures)

    async def _probe(self, domain: str) -> DomainDNS:
        failure = await self.canary_failure()
        if failure is not None:
            return DomainDNS(domain=domain, status="unavailable", reason=self._canary_reason)
        try:
            return await self._route(domain)
        except _NXDomain:
            return DomainDNS(domain=domain, status="nxdomain")
        except _Unavailable as e:
            return DomainDNS(domain=domain, status="unavailable", reason=e.reason)

    async def _route(self, domain: str) -> DomainDNS:
        answer = await self._query(domain, "MX")
        records: list[tuple[int, str]] = answer.records  # type: ignore[assignment]
        if not records:
            # RFC 5321 5.1: no MX, so the domain itself is the implicit MX.
            addresses = await self._addresses(domain, None, nxdomain_ok=False)
            if addresses:
                return DomainDNS(domain=domain, status="implicit_mx", addresses=addresses)
            return DomainDNS(domain=domain, status="no_mail_server")
        hosts = [host for _, host in sorted(records)]
        real = [h for h in hosts if h]
        if not real:
            # RFC 7505 3: a single MX with "." as exchange; we also accept several.
            return DomainDNS(domain=domain, status="null_mx", mx=tuple("." for _ in hosts))
        unavailable: str | None = None
        for host in real:
            try:
                addresses = await self._host_addresses(host, answer)
            except _Unavailable as e:
                unavailable = unavailable or e.reason
                continue
            if addresses:
                return DomainDNS(domain=domain, status="ok", mx=tuple(real), addresses=addresses)
        if unavailable is not None:
            return DomainDNS(
                domain=domain, status="unavailable", mx=tuple(real), reason=unavailable
            )
        return DomainDNS(
            domain=domain, status="mx_unresolvable", mx=tuple(real), unresolved=tuple(real)
        )

    async def _host_addresses(self, host: str, answer: _Answer) -> tuple[str, ...]:
        task = self._hosts.get(host)
        if task is None:
            task = asyncio.ensure_future(self._addresses(host, answer, nxdomain_ok=True))
            self._hosts[host] = task
        return await task

    async def _addresses(
        self, name: str, answer: _Answer | None, *, nxdomain_ok: bool
    ) -> tuple[str, ...]:
        """A then AAAA of name; glue from the MX answer's additional section counts."""
        if answer is not None and answer.glue.get(name):
            return tuple(answer.glue[name])
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            try:
                result = await self._query(name, rdtype, follow_up=True)
            except _NXDomain:
                if nxdomain_ok:
                    return ()
                raise
            found.extend(result.records)  # type: ignore[arg-type]
            if found:
                break
        return tuple(found)


class _Limiter:
    """At most n holders at once, FIFO (``first``: ahead of the others), with O(1)
    acquire and release.

    asyncio.Semaphore (3.11) scans all its waiters on every acquire, which is
    quadratic when a batch queues thousands of lookups behind the limit.
    """

    def __init__(self, n: int) -> None:
        self._free = n
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self, *, first: bool = False) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if first:
            self._waiters.appendleft(future)
        else:
            self._waiters.append(future)
        try:
            await future  # the releaser hands its permit over directly
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()
            raise

    def release(self) -> None:
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(None)
                return
        self._free += 1


def _rcode_of(error: dns.resolver.NoNameservers) -> str:
    text = str(error)
    for rcode in ("SERVFAIL", "REFUSED", "NOTIMP", "FORMERR"):
        if rcode in text:
            return rcode
    if "timed out" in text:
        return "timeout"
    return "error"
