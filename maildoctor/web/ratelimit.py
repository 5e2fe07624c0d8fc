"""A per-client token bucket with bounded memory, for the public check API.

Each client key (an IPv4 address, or the /64 of an IPv6 one: one customer line
gets a whole /64) has a bucket of ``per_minute`` tokens that refills at
``per_minute / 60`` a second; a request takes one. Buckets live in an LRU of at
most ``max_clients`` keys, so a flood of spoofed or rotating addresses costs a
fixed amount of memory: the least recently seen client is forgotten (and so
starts again with a full bucket, which errs on the side of letting people in).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["RateLimiter", "client_key", "parse_rate"]


def parse_rate(text: str) -> float:
    """``"60/min"``, ``"2/s"``, ``"1000/h"``, ``"60"`` (a minute) or ``"off"`` -> per minute.

    Raises ValueError with a sentence saying what is accepted.
    """
    value = text.strip().lower()
    if value in ("off", "0", "none"):
        return 0.0
    number, _, unit = value.partition("/")
    seconds = {"": 60, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600}.get(
        unit.strip()
    )
    try:
        count = float(number)
    except ValueError:
        count = -1.0
    if seconds is None or not math.isfinite(count) or count <= 0:
        raise ValueError(
            f"{text!r} is not a rate: write N/min, N/s or N/h (for example 60/min), or off."
        )
    return count * 60 / seconds


def client_key(remote: str | None) -> str:
    """The bucket a client address falls in: the IPv4 address, or the IPv6 /64."""
    if not remote:
        return "?"
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return remote[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RateLimiter:
    """``allow(key)`` -> 0 when a request may go ahead, else the seconds to wait."""

    def __init__(
        self,
        per_minute: float,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = max(per_minute, 1.0)
        self.rate = per_minute / 60.0
        self.max_clients = max(1, max_clients)
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def allow(self, key: str) -> float:
        """Take a token for ``key``: 0.0 if there was one, else seconds until there is."""
        now = self._clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait
