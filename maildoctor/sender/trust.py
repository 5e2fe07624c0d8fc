"""Whether a resolver can be trusted, for the sender audit and the harness's verification.

The check is ``check``'s own (``maildoctor.address.dnsprobe``): the contract's
canaries (the root's NS and gmail.com's MX, or the ``--dns-canary`` names) must
resolve before any answer is believed. A sinkhole or a machine with no network
answers NXDOMAIN for everything, which would otherwise read as "no DKIM key"
(``dkim=permerror``), "no SPF record" or "no DMARC record"; a resolver that times
out, or answers SERVFAIL or REFUSED, fails the canary too.

- :func:`canary_failure` checks once (a CLI run).
- :class:`CanaryGate` keeps the verdict for a while and re-checks (a server
  that runs for days while the network comes and goes).
- :class:`TrustedResolver` is a resolver whose every lookup fails with
  :class:`UntrustedDNS` while the gate is shut, so that DKIM, SPF and DMARC all
  come out ``temperror`` without asking the untruthful server.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import dns.exception
import dns.resolver

from maildoctor.address import dnsprobe

__all__ = ["DEFAULT_CANARIES", "CanaryGate", "TrustedResolver", "UntrustedDNS", "canary_failure"]

DEFAULT_CANARIES = dnsprobe.DEFAULT_CANARIES


class UntrustedDNS(dns.exception.DNSException):
    """A lookup was not made: the resolver failed the canary check (its answers are unknown)."""


async def canary_failure_async(
    nameservers: Sequence[str] = (),
    *,
    timeout: float = 5.0,
    canaries: Sequence[str] = DEFAULT_CANARIES,
) -> str | None:
    """None when the resolver for ``nameservers`` (the system's if empty) passes the
    canaries; else what failed (``. NS: NXDOMAIN; gmail.com MX: NXDOMAIN``).

    Raises ``DNSConfigError`` (a ValueError) for a bad nameserver value.
    """
    resolver = dnsprobe.make_resolver(nameservers, timeout)
    return await dnsprobe.DNSProbe(resolver, canaries=canaries or DEFAULT_CANARIES).canary_failure()


def canary_failure(
    nameservers: Sequence[str] = (),
    *,
    timeout: float = 5.0,
    canaries: Sequence[str] = DEFAULT_CANARIES,
) -> str | None:
    """:func:`canary_failure_async` for blocking code (not from a running event loop)."""
    return asyncio.run(canary_failure_async(nameservers, timeout=timeout, canaries=canaries))


class CanaryGate:
    """The canary verdict for one resolver configuration, thread-safe.

    A verdict is kept ``ttl`` seconds, a failure ``retry`` seconds (so that a server
    notices soon when DNS comes back); one thread re-checks while the others wait.
    """

    def __init__(
        self,
        nameservers: Sequence[str] = (),
        *,
        timeout: float = 3.0,
        canaries: Sequence[str] = DEFAULT_CANARIES,
        ttl: float = 300.0,
        retry: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.nameservers = tuple(nameservers)
        self.timeout = timeout
        self.canaries = tuple(canaries) or DEFAULT_CANARIES
        self.ttl = ttl
        self.retry = retry
        self._clock = clock
        self._lock = threading.Lock()
        self._verdict: str | None = None
        self._until = float("-inf")

    def failure(self) -> str | None:
        """None while the resolver is trusted, else what the last canary check found.

        Blocking (DNS, up to ``timeout``); from asyncio code run it in a thread.
        """
        with self._lock:
            now = self._clock()
            if now >= self._until:
                try:
                    self._verdict = canary_failure(
                        self.nameservers, timeout=self.timeout, canaries=self.canaries
                    )
                except ValueError as e:  # a nameserver value dnsprobe refuses
                    self._verdict = str(e)
                self._until = now + (self.retry if self._verdict else self.ttl)
            return self._verdict


class TrustedResolver:
    """A ``dns.resolver.Resolver`` stand-in that asks only while ``gate`` is open.

    Every other attribute is the wrapped resolver's, so pyspf, dkimpy and the
    audit use it as they would the resolver itself.
    """

    def __init__(self, resolver: dns.resolver.Resolver, gate: CanaryGate) -> None:
        self.resolver = resolver
        self.gate = gate

    def resolve(self, *args: Any, **kwargs: Any) -> Any:
        failure = self.gate.failure()
        if failure is not None:
            raise UntrustedDNS(f"DNS failed the canary check ({failure})")
        return self.resolver.resolve(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.resolver, name)
