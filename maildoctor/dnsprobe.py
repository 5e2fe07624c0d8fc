"""DNS: where would mail for a domain go? The only module that asks the network.

Answers come in three kinds (STYLE 5): a route exists, no route exists, or
nothing can be concluded. A timeout, SERVFAIL or REFUSED is the third kind,
and so is every answer of a resolver that fails the canary: a sinkhole or a
machine with no network answers NXDOMAIN for everything, which must never
become "the domain does not exist".

One :class:`DNSProbe` serves a whole run: each domain (and each MX host) is
looked up once, concurrent callers share the pending lookup, and at most
``concurrency`` queries are in flight. The resolver is passed in.

Errors::

    DNSConfigError   a --nameserver value or the system resolver configuration is unusable
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
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
    "DNSConfigError",
    "DNSProbe",
    "DomainDNS",
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


class _Truncated(Exception):
    """The UDP answer was truncated: ask again over TCP."""


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


class DNSProbe:
    """Looks up the mail route of domains, once each, for one run.

    ``resolver``: a ``dns.asyncresolver.Resolver`` (see :func:`make_resolver`).
    ``canaries``: names that must resolve before any NXDOMAIN is trusted (``.`` is
    asked for NS, any other name for MX).
    ``concurrency``: the most queries in flight at once.
    """

    def __init__(
        self,
        resolver: dns.asyncresolver.Resolver,
        *,
        canaries: Sequence[str] = DEFAULT_CANARIES,
        concurrency: int = 50,
    ) -> None:
        self.resolver = resolver
        self.canaries = tuple(canaries)
        self.queries = 0
        """How many DNS queries were sent (answered or not)."""
        self._limit = _Limiter(max(1, concurrency))
        self._wire = _WireClient.for_resolver(resolver)
        self._domains: dict[str, asyncio.Task[DomainDNS]] = {}
        self._hosts: dict[str, asyncio.Task[tuple[str, ...]]] = {}
        self._canary: asyncio.Task[str | None] | None = None

    # -- public --------------------------------------------------------------

    def close(self) -> None:
        """Close the sockets this probe opened (also done by ``async with``)."""
        if self._wire is not None:
            self._wire.close()

    async def __aenter__(self) -> DNSProbe:
        return self

    async def aclose(self) -> None:
        """Close the sockets and let the loop finish closing them."""
        self.close()
        await asyncio.sleep(0)  # transports close on the next loop iteration

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

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

    # -- internals -----------------------------------------------------------

    async def _query(self, name: str, rdtype: str) -> _Answer:
        """The answer (empty for NODATA); raises _NXDomain, or _Unavailable."""
        async with self._limit:
            self.queries += 1
            if self._wire is not None:
                try:
                    return await self._wire.ask(name, rdtype)
                except _Truncated:
                    pass  # the library resolver retries over TCP
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

    async def _check_canaries(self) -> str | None:
        async def one(name: str) -> str | None:
            rdtype = "NS" if name == "." else "MX"
            try:
                answer = await self._query(name, rdtype)
            except _NXDomain:
                return f"{name} {rdtype}: NXDOMAIN"
            except _Unavailable as e:
                return f"{name} {rdtype}: {e.reason}"
            if not answer.records:
                return f"{name} {rdtype}: no answer"
            return None

        results = await asyncio.gather(*(one(n) for n in self.canaries))
        failures = [r for r in results if r]
        return "; ".join(failures) if failures else None

    async def _probe(self, domain: str) -> DomainDNS:
        failure = await self.canary_failure()
        if failure is not None:
            return DomainDNS(domain=domain, status="unavailable", reason="canary")
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
                result = await self._query(name, rdtype)
            except _NXDomain:
                if nxdomain_ok:
                    return ()
                raise
            found.extend(result.records)  # type: ignore[arg-type]
            if found:
                break
        return tuple(found)


class _Limiter:
    """At most n holders at once, FIFO, with O(1) acquire and release.

    asyncio.Semaphore (3.11) scans all its waiters on every acquire, which is
    quadratic when a batch queues thousands of lookups behind the limit.
    """

    def __init__(self, n: int) -> None:
        self._free = n
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future  # the releaser hands its permit over directly
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
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


# -- a lean DNS-over-UDP client for batches ----------------------------------------
#
# dnspython's resolver opens a socket per query and builds full Message objects;
# parsing an answer costs about 0.35 ms, several times the rest of a check. For
# plain UDP nameservers we multiplex queries over one socket per nameserver and
# read only what mail routing needs (RFC 1035 4.1). Anything unusual (a truncated
# answer, a non-Do53 nameserver) goes through dnspython.

_TYPES = {"A": 1, "NS": 2, "CNAME": 5, "MX": 15, "AAAA": 28}
_RCODES = {2: "SERVFAIL", 4: "NOTIMP", 5: "REFUSED", 1: "FORMERR"}


class _WireError(Exception):
    """A malformed answer."""


def _encode_name(name: str) -> bytes:
    labels = [label for label in name.rstrip(".").split(".") if label]
    out = b"".join(bytes([len(raw)]) + raw for raw in (label.encode("ascii") for label in labels))
    return out + b"\x00"


def _read_name(data: bytes, offset: int) -> tuple[str, int]:
    """(name, offset after it), following compression pointers (RFC 1035 4.1.4)."""
    labels: list[str] = []
    end = -1
    for _ in range(128):
        if offset >= len(data):
            raise _WireError("name past the end")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(data):
                raise _WireError("bad pointer")
            if end < 0:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            continue
        if length == 0:
            return ".".join(labels).lower(), (end if end >= 0 else offset + 1)
        labels.append(data[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    raise _WireError("pointer loop")


def _parse_answer(data: bytes, qname: str, qtype: int) -> tuple[int, bool, _Answer]:
    """(rcode, truncated, answer) of a response to (qname, qtype)."""
    if len(data) < 12:
        raise _WireError("short header")
    flags = int.from_bytes(data[2:4], "big")
    counts = [int.from_bytes(data[i : i + 2], "big") for i in (4, 6, 8, 10)]
    offset = 12
    for _ in range(counts[0]):
        _, offset = _read_name(data, offset)
        offset += 4
    sections: list[list[tuple[str, int, object]]] = [[], [], []]
    for index, count in enumerate(counts[1:]):
        for _ in range(count):
            owner, offset = _read_name(data, offset)
            if offset + 10 > len(data):
                raise _WireError("short record")
            rtype = int.from_bytes(data[offset : offset + 2], "big")
            rdlength = int.from_bytes(data[offset + 8 : offset + 10], "big")
            start = offset + 10
            offset = start + rdlength
            if offset > len(data):
                raise _WireError("short rdata")
            value: object
            if rtype == 1 and rdlength == 4:
                value = ".".join(str(b) for b in data[start:offset])
            elif rtype == 28 and rdlength == 16:
                value = ipaddress.IPv6Address(data[start:offset]).compressed
            elif rtype == 15:
                value = (
                    int.from_bytes(data[start : start + 2], "big"),
                    _read_name(data, start + 2)[0],
                )
            elif rtype in (2, 5):
                value = _read_name(data, start)[0]
            else:
                continue
            sections[index].append((owner, rtype, value))
    # Follow a CNAME chain inside the answer, as a resolver does.
    target = qname.rstrip(".").lower()
    records: list[object] = []
    for _ in range(8):
        records = [v for o, t, v in sections[0] if o == target and t == qtype]
        if records:
            break
        cname = next((v for o, t, v in sections[0] if o == target and t == 5), None)
        if cname is None:
            break
        target = str(cname)
    glue: dict[str, list[str]] = {}
    for owner, rtype, value in sections[2]:
        if rtype in (1, 28):
            glue.setdefault(owner, []).append(str(value))
    return flags & 0x000F, bool(flags & 0x0200), _Answer(records=records, glue=glue)


class _Endpoint(asyncio.DatagramProtocol):
    """One UDP socket to one nameserver; replies matched to queries by id."""

    def __init__(self) -> None:
        self.pending: dict[int, asyncio.Future[bytes]] = {}
        self.transport: asyncio.DatagramTransport | None = None

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        future = self.pending.get(int.from_bytes(data[:2], "big")) if len(data) >= 2 else None
        if future is not None and not future.done():
            future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        pass  # an ICMP error: the query times out and the next nameserver is tried

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


class _WireClient:
    """Queries over UDP to plain (Do53) nameservers, a socket each, ids multiplexed."""

    def __init__(self, servers: list[tuple[str, int]], timeout: float, lifetime: float) -> None:
        self.servers = servers
        self.timeout = timeout
        self.lifetime = lifetime
        self._endpoints: dict[tuple[str, int], asyncio.Task[_Endpoint]] = {}
        self._next_id = secrets.randbelow(65536)

    @classmethod
    def for_resolver(cls, resolver: dns.asyncresolver.Resolver) -> _WireClient | None:
        servers = []
        for ns in resolver.nameservers:
            if isinstance(ns, str):
                servers.append((ns, resolver.port))
            elif isinstance(ns, dns.nameserver.Do53Nameserver):
                servers.append((ns.address, ns.port))
            else:
                return None
        if not servers:
            return None
        return cls(servers, float(resolver.timeout), float(resolver.lifetime))

    def close(self) -> None:
        for task in self._endpoints.values():
            if task.done() and not task.cancelled() and task.exception() is None:
                transport = task.result().transport
                if transport is not None:
                    transport.close()
            else:
                task.cancel()
        self._endpoints.clear()

    def _drop(self, server: tuple[str, int], endpoint: _Endpoint) -> None:
        task = self._endpoints.get(server)
        if task is not None and task.done() and task.result() is endpoint:
            del self._endpoints[server]
        if endpoint.transport is not None:
            endpoint.transport.close()

    async def _endpoint(self, server: tuple[str, int]) -> _Endpoint:
        # One socket per server even when many queries start at once: share the opening.
        task = self._endpoints.get(server)
        if task is None or (
            task.done() and (task.exception() is not None or not task.result().open)
        ):
            task = asyncio.ensure_future(self._open(server))
            self._endpoints[server] = task
        return await task

    async def _open(self, server: tuple[str, int]) -> _Endpoint:
        loop = asyncio.get_running_loop()
        _, endpoint = await loop.create_datagram_endpoint(_Endpoint, remote_addr=server)
        return endpoint

    def _query_id(self, endpoint: _Endpoint) -> int:
        for _ in range(65536):
            self._next_id = (self._next_id + 1) & 0xFFFF
            if self._next_id not in endpoint.pending:
                return self._next_id
        raise _Unavailable("error")

    async def ask(self, name: str, rdtype: str) -> _Answer:
        qtype = _TYPES[rdtype]
        question = _encode_name(name) + qtype.to_bytes(2, "big") + b"\x00\x01"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lifetime
        failure = "timeout"
        while loop.time() < deadline:
            for server in self.servers:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    endpoint = await self._endpoint(server)
                except OSError:
                    failure = "error"
                    continue
                qid = self._query_id(endpoint)
                future: asyncio.Future[bytes] = loop.create_future()
                endpoint.pending[qid] = future
                try:
                    # id, flags RD, one question
                    header = qid.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                    assert endpoint.transport is not None
                    endpoint.transport.sendto(header + question)
                    data = await asyncio.wait_for(future, min(self.timeout, remaining))
                except (TimeoutError, OSError):
                    continue
                finally:
                    endpoint.pending.pop(qid, None)
                    if not endpoint.pending:
                        # Idle: close now, so a caller that never closes the probe
                        # leaks no socket; a busy batch keeps its socket open.
                        self._drop(server, endpoint)
                try:
                    if data[12 : 12 + len(question)].lower() != question.lower():
                        failure = "error"
                        continue
                    rcode, truncated, answer = _parse_answer(data, name, qtype)
                except (_WireError, ValueError, IndexError):
                    failure = "error"
                    continue
                if truncated:
                    raise _Truncated(name)
                if rcode == 0:
                    return answer
                if rcode == 3:
                    raise _NXDomain(name)
                failure = _RCODES.get(rcode, "error")
            if failure != "timeout":
                break  # every server answered with an error: asking again will not help
        raise _Unavailable(failure)
