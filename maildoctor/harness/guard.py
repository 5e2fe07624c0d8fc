"""What keeps one client from taking ``serve`` down: counted sessions, a memory budget,
growing pauses after failed logins, and logs that cannot flood.

Every structure here has bounded memory (an LRU of client keys) and is safe to share
between the SMTP and HTTP sides of one event loop; the login throttle is also used
from the web side, which counts per client address and per account.
"""

from __future__ import annotations

import asyncio
import errno
import resource
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FailureThrottle",
    "Gate",
    "MemoryBudget",
    "QuietLog",
    "close_listener",
    "descriptor_limit",
    "install_loop_guard",
]


def descriptor_limit() -> int:
    """The process's soft limit of open file descriptors (RLIMIT_NOFILE)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


class QuietLog:
    """At most one line per kind every ``interval`` seconds, with the count of the rest.

    A descriptor shortage or a password-guessing run fails hundreds of times a second;
    the operator needs what and how often, not a line (or a traceback) each time.
    """

    def __init__(
        self,
        *,
        interval: float = 1.0,
        write: Callable[[str], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_kinds: int = 256,
    ) -> None:
        self.interval = interval
        stream = sys.stderr  # the operator's, as at start (not a later redirection's)
        self._write = write or (lambda line: print(line, file=stream, flush=True))
        self._clock = clock
        self._lock = threading.Lock()
        self._said: OrderedDict[str, float] = OrderedDict()
        self._quiet: dict[str, int] = {}
        self._max_kinds = max_kinds
        self.counts: dict[str, int] = {}
        """Events per kind since start (tests and the start line read them)."""

    def event(self, kind: str, line: Callable[[int], str] | str) -> bool:
        """Count one event of ``kind``; write ``line`` (given the number of events it
        covers) unless a line of that kind was written within ``interval``."""
        with self._lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            now = self._clock()
            said = self._said.get(kind)
            if said is not None and now - said < self.interval:
                self._quiet[kind] = self._quiet.get(kind, 0) + 1
                return False
            self._said[kind] = now
            self._said.move_to_end(kind)
            while len(self._said) > self._max_kinds:
                old, _ = self._said.popitem(last=False)
                self._quiet.pop(old, None)
            covered = 1 + self._quiet.pop(kind, 0)
        self._write(line(covered) if callable(line) else line)
        return True


class Gate:
    """Concurrent sessions, in total and per client address: ``admit`` or refuse."""

    def __init__(self, *, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self.open = 0
        self._by_client: dict[str, int] = {}
        self.refused = 0

    def admit(self, client: str) -> str | None:
        """None when the session may start (it is counted), else why it may not."""
        if self.total and self.open >= self.total:
            self.refused += 1
            return f"{self.open} sessions open, the most this server takes"
        mine = self._by_client.get(client, 0)
        if self.per_client and mine >= self.per_client:
            self.refused += 1
            return f"{mine} sessions open from {client}, the most one client may have"
        self.open += 1
        self._by_client[client] = mine + 1
        return None

    def release(self, client: str) -> None:
        self.open -= 1
        left = self._by_client.get(client, 1) - 1
        if left > 0:
            self._by_client[client] = left
        else:
            self._by_client.pop(client, None)


class MemoryBudget:
    """Bytes of message data held in memory across every session, up to ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.peak = 0

    def take(self, size: int) -> bool:
        """Reserve ``size`` more bytes; False (nothing reserved) when beyond the budget."""
        if self.limit and self.used + size > self.limit:
            return False
        self.used += size
        self.peak = max(self.peak, self.used)
        return True

    def give_back(self, size: int) -> None:
        self.used -= size
        if size and self.used == 0 and self.peak > _TRIM_AFTER:
            # Messages arrive as thousands of small chunks: the C allocator keeps their
            # pages after they are freed. With nothing held, hand them back (glibc).
            self.peak = 0
            _trim()


#: Bytes held at once after which the allocator is asked to hand memory back.
_TRIM_AFTER = 32 * 1024 * 1024


def _trim() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to do


@dataclass
class _Record:
    failures: int
    last: float
    locked_until: float = 0.0


class FailureThrottle:
    """Failed logins per key (a client address, an account): a pause that doubles with
    each failure, and a lockout after ``lock_after`` failures.

    A key's count is forgotten ``forget_after`` seconds after its last failure, and a
    success clears it. No lock is shared between keys: one client's guesses slow that
    client and that account, never another's login.
    """

    def __init__(
        self,
        *,
        base: float = 0.25,
        most: float = 8.0,
        lock_after: int = 10,
        lock_seconds: float = 300.0,
        forget_after: float = 900.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = base
        self.most = most
        self.lock_after = lock_after
        self.lock_seconds = lock_seconds
        self.forget_after = forget_after
        self.max_keys = max_keys
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def _record(self, key: str) -> _Record | None:
        record = self._records.get(key)
        if record is not None and self._clock() - record.last > self.forget_after:
            del self._records[key]
            return None
        return record

    def locked(self, key: str) -> float:
        """Seconds ``key`` stays locked out (0: not locked)."""
        record = self._record(key)
        if record is None:
            return 0.0
        return max(0.0, record.locked_until - self._clock())

    def failures(self, key: str) -> int:
        record = self._record(key)
        return record.failures if record else 0

    def fail(self, key: str) -> float:
        """Count a failure; returns the pause to make before answering it."""
        now = self._clock()
        record = self._record(key) or _Record(failures=0, last=now)
        record.failures += 1
        record.last = now
        if self.lock_after and record.failures >= self.lock_after:
            record.locked_until = now + self.lock_seconds
        self._records[key] = record
        self._records.move_to_end(key)
        while len(self._records) > self.max_keys:
            self._records.popitem(last=False)
        return self.pause(record.failures)

    def pause(self, failures: int) -> float:
        if failures <= 0 or not self.base:
            return 0.0
        return min(self.most, self.base * 2 ** min(failures - 1, 30))

    def succeed(self, key: str) -> None:
        self._records.pop(key, None)


#: errno values of ``accept()`` that mean "no descriptor or memory left".
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def install_loop_guard(
    loop: asyncio.AbstractEventLoop, log: QuietLog, status: Callable[[], str]
) -> Callable[[], None]:
    """Route the loop's unhandled errors through ``log``: one line per kind a second.

    Out of descriptors, asyncio's accept loop reports every failed ``accept()`` with a
    traceback (hundreds of MB of log a minute). The listener pauses a second and retries
    by itself, so what the operator needs is one line a second saying how many were
    refused and what holds the descriptors (``status()``). Returns the undo.
    """
    previous = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        message = str(context.get("message", "unhandled error"))
        if isinstance(error, OSError) and error.errno in _RESOURCE_ERRNOS:
            name = errno.errorcode.get(error.errno or 0, "")
            log.event(
                "accept",
                lambda n: (
                    f"maildoctor: out of descriptors ({name}): {n} connection(s) could not "
                    f"be accepted in the last second; {status()}. Accepting again as "
                    "clients leave."
                ),
            )
            return
        kind = f"{message}:{type(error).__name__}"
        detail = f": {type(error).__name__}: {error}" if error is not None else ""
        log.event(kind, lambda n: f"maildoctor: {message}{detail} ({n} time(s))")

    loop.set_exception_handler(handle)
    return lambda: loop.set_exception_handler(previous)


async def close_listener(server: asyncio.Server) -> None:
    """Stop accepting, let the connections already accepted become transports, then close.

    Python 3.11's ``Server.close()`` between an ``accept()`` and its transport's
    construction makes the constructor fail (``Server._attach`` asserts): the socket is
    left to the garbage collector and the protocol the factory made never hears of
    its connection (a slot counted and never given back). Those connections are made
    whole first, so that the caller's shutdown closes them like any other.
    """
    loop = asyncio.get_running_loop()
    for sock in server.sockets:
        loop.remove_reader(sock.fileno())  # accepts nothing more
    for _ in range(3):  # the accept tasks, then connection_made and add_reader
        await asyncio.sleep(0)
    server.close()
