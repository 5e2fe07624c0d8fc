"""A DNS probe for long-running servers: answers within a deadline, cached across requests.

:class:`~maildoctor.address.dnsprobe.DNSProbe` serves one run and remembers
every domain for its lifetime. A registration form's check API runs for
months, answers one address at a time, and must answer fast: a customer is
waiting on the page. :class:`CachedProbe` gives it

- a **deadline**: ``probe()`` returns within ``deadline`` seconds; a lookup not
  finished by then is reported as ``unavailable`` (reason ``timeout``), which
  the verdict rule turns into "unknown", never "does not exist". The lookup
  goes on in the background and fills the cache for the next request;
- a **shared cache** per domain, bounded in time (``ttl``, and a shorter
  ``unavailable_ttl`` so a resolver hiccup is not remembered for long) and in
  size (``max_domains``, least recently used out first);
- **bounded work**: at most ``max_pending`` lookups in flight; beyond that a
  new domain is answered ``unavailable`` (reason ``busy``) at once.

The underlying :class:`DNSProbe` (which checks the canaries once and keeps its
own per-run memo) is replaced after ``probe_lifetime`` seconds or
``probe_domains`` domains, and sooner when its canary failed, so the canary is
asked again and the memo never grows without bound.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from maildoctor.address.dnsprobe import DEFAULT_CANARIES, DNSProbe, DomainDNS, make_resolver

if TYPE_CHECKING:
    import dns.asyncresolver

__all__ = ["CachedProbe"]


class CachedProbe:
    """A deadline-bounded, TTL- and size-bounded per-domain DNS cache over :class:`DNSProbe`.

    Use one per process (per event loop), from coroutines of that loop::

        probe = CachedProbe.for_nameservers(["127.0.0.1:5353"], deadline=1.5)
        result = await check_address("taro@gmial.com", probe=probe)
    """

    def __init__(
        self,
        new_probe: Callable[[], DNSProbe],
        *,
        deadline: float = 1.5,
        ttl: float = 600.0,
        unavailable_ttl: float = 15.0,
        max_domains: int = 10_000,
        max_pending: int = 1_000,
        probe_lifetime: float = 300.0,
        probe_domains: int = 2_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._new_probe = new_probe
        self.deadline = deadline
        self.ttl = ttl
        self.unavailable_ttl = unavailable_ttl
        self.max_domains = max(1, max_domains)
        self.max_pending = max(1, max_pending)
        self.probe_lifetime = probe_lifetime
        self.probe_domains = max(1, probe_domains)
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, DomainDNS]] = OrderedDict()
        self._pending: dict[str, asyncio.Task[DomainDNS]] = {}
        self._probe: DNSProbe | None = None
        self._probe_born = 0.0
        self._probe_used = 0
        self._probe_failed = False
        self.hits = 0
        """Answers served from the cache."""
        self.misses = 0
        """Answers that needed a lookup (finished in time or not)."""

    @classmethod
    def for_nameservers(
        cls,
        nameservers: Sequence[str] = (),
        *,
        timeout: float = 1.5,
        canaries: Sequence[str] = DEFAULT_CANARIES,
        concurrency: int = 50,
        **kwargs: float,
    ) -> CachedProbe:
        """A cached probe asking ``nameservers`` (IP[:PORT]; none: the system's resolver).

        ``timeout`` is both each query's limit and the answer deadline, unless
        ``deadline=`` says otherwise. Raises ``DNSConfigError`` for a bad nameserver.
        """
        resolver: dns.asyncresolver.Resolver = make_resolver(nameservers, timeout)

        def new_probe() -> DNSProbe:
            return DNSProbe(resolver, canaries=canaries, concurrency=concurrency)

        kwargs.setdefault("deadline", timeout)
        return cls(new_probe, **kwargs)  # type: ignore[arg-type]

    # -- what check_address and check_many call --------------------------------

    async def probe(self, domain: str) -> DomainDNS:
        """The mail route of ``domain``, from the cache or looked up, within the deadline."""
        key = domain.lower().rstrip(".")
        cached = self._cached(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        task = self._pending.get(key)
        if task is None:
            if len(self._pending) >= self.max_pending:
                return DomainDNS(domain=key, status="unavailable", reason="busy")
            task = asyncio.ensure_future(self._lookup(key))
            self._pending[key] = task
        try:
            # shield: a request that gives up does not cancel the lookup others share.
            return await asyncio.wait_for(asyncio.shield(task), self.deadline)
        except TimeoutError:
            return DomainDNS(domain=key, status="unavailable", reason="timeout")

    def lookup(self, domain: str) -> asyncio.Future[DomainDNS]:
        """``probe()`` as a future (what :func:`check_many` holds per address)."""
        return asyncio.ensure_future(self.probe(domain))

    # -- the cache ---------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._cache)

    def clear(self) -> None:
        """Forget every cached answer (lookups in flight still finish)."""
        self._cache.clear()

    def _cached(self, key: str) -> DomainDNS | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return value

    def _store(self, key: str, value: DomainDNS) -> None:
        ttl = self.unavailable_ttl if value.status == "unavailable" else self.ttl
        self._cache[key] = (self._clock() + ttl, value)
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_domains:
            self._cache.popitem(last=False)

    async def _lookup(self, key: str) -> DomainDNS:
        try:
            probe = self._current_probe()
            value = await probe.probe(key)
            probe.forget(key)  # our cache holds it now, for ttl, not the probe's lifetime
            if value.status == "unavailable" and probe is self._probe:
                # The canary is checked once per DNSProbe: a failed one is asked again
                # on a fresh probe after unavailable_ttl, not remembered for good.
                self._probe_failed = await probe.canary_failure() is not None
        except Exception:  # a bug below must not leave a request hanging or a task unread
            value = DomainDNS(domain=key, status="unavailable", reason="error")
        finally:
            self._pending.pop(key, None)
        self._store(key, value)
        return value

    def _current_probe(self) -> DNSProbe:
        now = self._clock()
        probe = self._probe
        if probe is not None:
            age = now - self._probe_born
            if (
                age >= self.probe_lifetime
                or self._probe_used >= self.probe_domains
                or (self._probe_failed and age >= self.unavailable_ttl)
            ):
                probe = None
        if probe is None:
            probe = self._new_probe()
            self._probe, self._probe_born, self._probe_used = probe, now, 0
            self._probe_failed = False
        self._probe_used += 1
        return probe
