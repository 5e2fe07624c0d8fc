"""Politeness for the probe: a pause between connections to one MX host, a cap on
connections to one host at a time, and a cap on all connections of a run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

__all__ = ["ProbeLimiter"]


class ProbeLimiter:
    """Per-host interval and concurrency, and a total concurrency, for one event loop.

    ``clock`` and ``sleep`` are injectable so that the spacing can be tested without
    waiting.
    """

    def __init__(
        self,
        *,
        min_interval: float,
        per_host: int,
        total: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.min_interval = min_interval
        self.per_host = per_host
        self._total = asyncio.Semaphore(total)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._last: dict[str, float] = {}
        self._clock = clock
        self._sleep = sleep

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold a connection slot for ``host`` (lower-cased), waiting as the limits say."""
        key = host.lower()
        gate = self._hosts.setdefault(key, asyncio.Semaphore(self.per_host))
        async with gate, self._total:
            last = self._last.get(key)
            if last is not None:
                wait = last + self.min_interval - self._clock()
                if wait > 0:
                    await self._sleep(wait)
            self._last[key] = self._clock()
            yield
