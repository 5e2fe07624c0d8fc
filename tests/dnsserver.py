"""A real authoritative DNS server on 127.0.0.1 for tests and benchmarks.

It answers over UDP and TCP on one free port, from BIND-format zone text
(parsed by dnslib's ``RR.fromZone``), so resolver code is exercised for real:
packets, retries, TCP fallback, timeouts. Nothing here talks to the network
beyond loopback.

Usage::

    from tests.dnsserver import DNSTestServer, ZONES_DIR

    with DNSTestServer.from_files(ZONES_DIR / "test.zone", delay=0.02) as server:
        resolver.nameservers = [server.host]; resolver.port = server.port
        ...                                  # or use server.nameserver ("127.0.0.1:PORT")
        assert server.queries == 3

Answers:

- a name with records of the asked type: NOERROR with those records
  (CNAMEs are followed inside the loaded zones, and the A/AAAA of MX, NS and
  CNAME targets go in the additional section);
- a name that exists with other types only: NOERROR, empty answer (NODATA);
- any other name: NXDOMAIN (the server behaves like a recursive resolver that
  knows only the loaded zones, so it also answers for ``.`` or ``gmail.com``
  when a zone file holds them).

Special names (each also covers its subdomains, so ``"."`` covers every name: a
resolver that never answers, or answers SERVFAIL to everything), configurable
per instance:

- ``timeout_names``: never answered (the client times out);
- ``servfail_names``: SERVFAIL;
- ``refused_names``: REFUSED;
- ``tcp_only_names``: over UDP the answer is empty with TC set, so the client
  must retry over TCP;
- ``authenticated_names``: answers carry the AD flag (RFC 4035 3.2.3), as a
  validating resolver's do for a DNSSEC-signed zone; every other answer has AD
  clear, whatever the query asked (RFC 6840 5.7 lets a client set AD in a query).

``delay`` (seconds) is added to every answer: over UDP replies wait in a send
queue (no thread per query, so thousands can be in flight, as against a real
resolver), over TCP the connection's thread sleeps.
``queries`` counts every query received (UDP and TCP); ``query_log`` keeps
``(name, type, protocol)`` of each, and ``reset()`` clears both.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from dnslib import QTYPE, RCODE, RR, DNSError, DNSRecord

#: The zone files shipped with the tests.
ZONES_DIR = Path(__file__).parent / "data" / "zones"

#: The special names of tests/data/zones/test.zone (see the zone's comments).
DEFAULT_TIMEOUT_NAMES = ("timeout.maildoctor.test.",)
DEFAULT_SERVFAIL_NAMES = ("servfail.maildoctor.test.",)
DEFAULT_REFUSED_NAMES = ("refused.maildoctor.test.",)
DEFAULT_TCP_ONLY_NAMES = ("tcp-only.maildoctor.test.",)


def _key(name: object) -> str:
    text = str(name).lower()
    return text if text.endswith(".") else text + "."


def _covers(names: frozenset[str], qname: str) -> bool:
    """True when qname is one of names or a subdomain of one (``.`` covers every name)."""
    return "." in names or any(qname == n or qname.endswith("." + n) for n in names)


class DNSTestServer:
    """An authoritative DNS server for loopback tests (UDP and TCP, one port).

    Parameters (all keyword-only except the zone texts):

    ``*zones``: BIND zone texts (``$ORIGIN`` and ``$TTL`` work); more can be
    added with :meth:`add_zone` before or after :meth:`start`.
    ``delay``: seconds to wait before every answer (the bench uses 0.02).
    ``timeout_names`` / ``servfail_names`` / ``refused_names`` /
    ``tcp_only_names`` / ``authenticated_names``: names (and their subdomains)
    with that behaviour.
    ``host`` / ``port``: where to listen; port 0 picks a free port, the same
    one for UDP and TCP.

    Attributes: ``host``, ``port``, ``nameserver`` ("127.0.0.1:PORT"),
    ``queries`` (count), ``query_log`` (list of (name, type, protocol)).
    """

    def __init__(
        self,
        *zones: str,
        delay: float = 0.0,
        timeout_names: Iterable[str] = DEFAULT_TIMEOUT_NAMES,
        servfail_names: Iterable[str] = DEFAULT_SERVFAIL_NAMES,
        refused_names: Iterable[str] = DEFAULT_REFUSED_NAMES,
        tcp_only_names: Iterable[str] = DEFAULT_TCP_ONLY_NAMES,
        authenticated_names: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.delay = delay
        self.timeout_names = frozenset(_key(n) for n in timeout_names)
        self.servfail_names = frozenset(_key(n) for n in servfail_names)
        self.refused_names = frozenset(_key(n) for n in refused_names)
        self.tcp_only_names = frozenset(_key(n) for n in tcp_only_names)
        self.authenticated_names = frozenset(_key(n) for n in authenticated_names)
        self.host = host
        self.port = port
        self.queries = 0
        self.query_log: list[tuple[str, str, str]] = []
        self._records: dict[str, list[RR]] = {}
        self._lock = threading.Lock()
        self._servers: list[socketserver.BaseServer] = []
        self._udp: socket.socket | None = None
        self._udp_cache: dict[bytes, tuple[str, str, bytes | None]] = {}
        self._stopping = threading.Event()
        self._send_ready = threading.Condition()
        self._send_queue: list[tuple[float, int, bytes, object]] = []
        #: The most UDP queries held unanswered at once (with ``delay``): how many a
        #: client had in flight, which a concurrency limit is about.
        self.max_pending = 0
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        for zone in zones:
            self.add_zone(zone)

    @classmethod
    def from_files(cls, *paths: Path | str, **kwargs: object) -> DNSTestServer:
        """A server loaded with the zone files at paths (keyword args as for the class)."""
        texts = [Path(p).read_text(encoding="utf-8") for p in paths]
        return cls(*texts, **kwargs)  # type: ignore[arg-type]

    # -- zone data -----------------------------------------------------------

    def add_zone(self, text: str) -> None:
        """Load BIND-format zone text (records are added to what is loaded)."""
        with self._lock:
            for rr in RR.fromZone(text):
                self._records.setdefault(_key(rr.rname), []).append(rr)
            self._udp_cache.clear()

    def add_records(self, records: Iterable[RR]) -> None:
        """Load dnslib RR objects directly (fast path for generated zones)."""
        with self._lock:
            for rr in records:
                self._records.setdefault(_key(rr.rname), []).append(rr)
            self._udp_cache.clear()

    # -- lifecycle -----------------------------------------------------------

    @property
    def nameserver(self) -> str:
        """``"HOST:PORT"`` as maildoctor's ``--nameserver`` takes it."""
        return f"{self.host}:{self.port}"

    def start(self) -> DNSTestServer:
        """Bind UDP and TCP on the same port and serve in background threads."""
        if self._servers:
            return self
        handler = self._handler_class()
        for _attempt in range(20):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            udp.bind((self.host, self.port))
            port = udp.getsockname()[1]
            try:
                tcp = _TCPServer((self.host, port), handler)
            except OSError:
                udp.close()
                if self.port:
                    raise
                continue
            break
        else:  # pragma: no cover - the kernel kept handing out busy ports
            raise OSError("no free port for both UDP and TCP")
        self.port = port
        self._stopping.clear()
        self._udp = udp
        self._servers = [tcp]
        targets = [
            (tcp.serve_forever, {"poll_interval": 0.05}),
            (self._serve_udp, {"sock": udp}),
            (self._send_delayed, {"sock": udp}),
        ]
        for target, kwargs in targets:
            thread = threading.Thread(target=target, kwargs=kwargs, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving and close the sockets (safe to call twice)."""
        self._stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        if self._udp is not None:
            # Wake the receiving thread: shutdown() unblocks recvfrom on Linux.
            with contextlib.suppress(OSError):
                self._udp.shutdown(socket.SHUT_RDWR)
            self._udp.close()
            self._udp = None
        with self._send_ready:
            self._send_ready.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers = []
        self._threads = []

    def reset(self) -> None:
        """Zero the query counter and clear the log."""
        with self._lock:
            self.queries = 0
            self.query_log.clear()
        with self._send_ready:
            self.max_pending = 0

    def __enter__(self) -> DNSTestServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- answering -----------------------------------------------------------

    def resolve(self, request: DNSRecord, protocol: str) -> DNSRecord | None:
        """Count the query, wait ``delay``, and answer (None: stay silent).

        The TCP path calls this from the connection's thread; the UDP path does the
        same work without a thread per query (a reply cache and a send queue), so
        that a benchmark measures the client, not this server.
        """
        self._count(_key(request.q.qname), QTYPE[request.q.qtype], protocol)
        if self.delay:
            time.sleep(self.delay)
        return self.answer(request, protocol)

    def _count(self, qname: str, qtype: str, protocol: str) -> None:
        with self._lock:
            self.queries += 1
            self.query_log.append((qname, qtype, protocol))

    def answer(self, request: DNSRecord, protocol: str) -> DNSRecord | None:
        """The reply to request from the loaded zones (None: send nothing)."""
        qname = _key(request.q.qname)
        qtype = QTYPE[request.q.qtype]
        reply = request.reply()  # sets qr, aa, ra, same id and question
        # reply() copies the query's flags: AD only where the test says the zone is signed.
        reply.header.ad = 1 if _covers(self.authenticated_names, qname) else 0
        if _covers(self.timeout_names, qname):
            return None
        if _covers(self.servfail_names, qname):
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if _covers(self.refused_names, qname):
            reply.header.rcode = RCODE.REFUSED
            return reply
        if protocol == "udp" and _covers(self.tcp_only_names, qname):
            reply.header.tc = 1
            return reply
        name = qname
        for _ in range(8):  # follow CNAME chains inside our zones
            records = self._records.get(name)
            if records is None:
                if name == qname:
                    reply.header.rcode = RCODE.NXDOMAIN
                return reply
            matches = [rr for rr in records if QTYPE[rr.rtype] in (qtype, "ANY")]
            if not matches and qtype != "CNAME":
                cnames = [rr for rr in records if rr.rtype == QTYPE.CNAME]
                if cnames:
                    reply.add_answer(cnames[0])
                    name = _key(cnames[0].rdata.label)
                    continue
            for rr in matches:
                reply.add_answer(rr)
                if rr.rtype in (QTYPE.MX, QTYPE.NS, QTYPE.CNAME):
                    for extra in self._records.get(_key(rr.rdata.label), ()):
                        if extra.rtype in (QTYPE.A, QTYPE.AAAA):
                            reply.add_ar(extra)
            return reply
        return reply

    # -- UDP without a thread per query ------------------------------------------

    def _udp_reply(self, data: bytes) -> bytes | None:
        """Count the query and build its reply bytes (cached by the query minus its id)."""
        key = data[2:]
        cached = self._udp_cache.get(key)
        if cached is None:
            try:
                request = DNSRecord.parse(data)
            except DNSError:
                return None
            reply = self.answer(request, "udp")
            packed = None if reply is None else reply.pack()[2:]
            cached = (_key(request.q.qname), QTYPE[request.q.qtype], packed)
            self._udp_cache[key] = cached
        qname, qtype, packed = cached
        self._count(qname, qtype, "udp")
        return None if packed is None else data[:2] + packed

    def _serve_udp(self, sock: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                data, address = sock.recvfrom(65535)
            except OSError:
                return
            reply = self._udp_reply(data)
            if reply is None:
                continue
            if not self.delay:
                sock.sendto(reply, address)
                continue
            with self._send_ready:
                heapq.heappush(
                    self._send_queue,
                    (time.monotonic() + self.delay, next(self._seq), reply, address),
                )
                self.max_pending = max(self.max_pending, len(self._send_queue))
                self._send_ready.notify()

    def _send_delayed(self, sock: socket.socket) -> None:
        with self._send_ready:
            while not self._stopping.is_set():
                if not self._send_queue:
                    self._send_ready.wait(0.05)
                    continue
                due, _, reply, address = self._send_queue[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._send_ready.wait(wait)
                    continue
                heapq.heappop(self._send_queue)
                with contextlib.suppress(OSError):
                    sock.sendto(reply, address)

    def _handler_class(self) -> type[socketserver.BaseRequestHandler]:
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn: socket.socket = self.request
                while True:  # a TCP connection may carry several queries
                    header = _recv_exact(conn, 2)
                    if header is None:
                        return
                    (length,) = struct.unpack("!H", header)
                    data = _recv_exact(conn, length)
                    if data is None:
                        return
                    reply = self._answer(data, "tcp")
                    if reply is None:
                        continue
                    conn.sendall(struct.pack("!H", len(reply)) + reply)

            def _answer(self, data: bytes, protocol: str) -> bytes | None:
                try:
                    request = DNSRecord.parse(data)
                except DNSError:
                    return None
                reply = server.resolve(request, protocol)
                return None if reply is None else reply.pack()

        return Handler


def _recv_exact(conn: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        try:
            chunk = conn.recv(n - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


__all__ = ["ZONES_DIR", "DNSTestServer"]
