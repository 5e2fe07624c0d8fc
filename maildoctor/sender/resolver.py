"""DNS for message authentication: a resolver the caller chooses, lookups with three
outcomes (records, none, unknown), and dkimpy's lookup hook.

``resolve_records`` gives ``[]`` for NXDOMAIN/NODATA and raises
:class:`DnsUnavailable` when DNS gives no usable answer (timeout, SERVFAIL,
REFUSED, or a resolver that failed the canary: see ``maildoctor.sender.trust``),
which callers turn into ``temperror`` / "unknown", never into "missing".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dns.exception
import dns.flags
import dns.nameserver
import dns.resolver

from maildoctor.address.dnsprobe import parse_nameserver

__all__ = [
    "DnsFunc",
    "DnsUnavailable",
    "FailFast",
    "make_resolver",
    "resolve_records",
    "txt_lookup",
    "txt_strings",
]

#: dkimpy's DNS hook: ``dnsfunc(name: bytes, timeout=5) -> bytes | None`` gives the
#: TXT record at ``name`` (its strings joined), or ``None``/``b""`` when there is none.
DnsFunc = Callable[..., bytes | None]


class DnsUnavailable(Exception):
    """DNS gave no usable answer (timeout, SERVFAIL, REFUSED): the result is unknown."""


def make_resolver(
    nameservers: Sequence[str] = (), *, timeout: float = 3.0
) -> dns.resolver.Resolver:
    """A resolver asking exactly ``nameservers`` (``IP[:PORT]``), or the system's if empty."""
    if not nameservers:
        try:
            resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            # No /etc/resolv.conf: every lookup fails (unknown), as in dnsprobe.
            resolver = dns.resolver.Resolver(configure=False)
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(host, port)
            for host, port in map(parse_nameserver, nameservers)
        ]
    resolver.lifetime = timeout
    resolver.timeout = min(timeout, 2.0)
    resolver.cache = None
    # AD in the query asks for the AD bit in the answer (RFC 6840 5.7), which is how
    # a validating resolver tells that a TLSA answer is DNSSEC-secure (DANE, RFC 7672).
    resolver.flags = dns.flags.RD | dns.flags.AD
    return resolver


def resolve_records(resolver: dns.resolver.Resolver, name: str, rdtype: str) -> list[Any]:
    """Records of ``rdtype`` at ``name``: ``[]`` for NXDOMAIN/NODATA, raises DnsUnavailable."""
    try:
        return list(resolver.resolve(name, rdtype, raise_on_no_answer=False, search=False))
    except dns.resolver.NXDOMAIN:
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as e:
        raise DnsUnavailable(f"{name} {rdtype}: {e.__class__.__name__}") from e
    except dns.exception.DNSException as e:
        raise DnsUnavailable(f"{name} {rdtype}: {e}") from e


def name_exists(resolver: dns.resolver.Resolver, name: str) -> bool:
    """Whether ``name`` exists in DNS: False only for NXDOMAIN (a name with no records of
    its own but names below it exists). Raises DnsUnavailable when there is no answer."""
    try:
        resolver.resolve(name, "SOA", raise_on_no_answer=False, search=False)
    except dns.resolver.NXDOMAIN:
        return False
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as e:
        raise DnsUnavailable(f"{name} SOA: {e.__class__.__name__}") from e
    except dns.exception.DNSException as e:
        raise DnsUnavailable(f"{name} SOA: {e}") from e
    return True


def txt_strings(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    """Each TXT record at ``name``, its strings joined (RFC 7208 3.3, RFC 6376 3.6.2.2)."""
    return [
        b"".join(r.strings).decode("utf-8", "replace")
        for r in resolve_records(resolver, name, "TXT")
    ]


def txt_lookup(resolver: dns.resolver.Resolver) -> DnsFunc:
    """A dkimpy ``dnsfunc`` asking ``resolver``; raises :class:`DnsUnavailable` on timeout."""

    def dnsfunc(name: bytes | str, timeout: float = 5) -> bytes | None:
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        records = txt_strings(resolver, text)
        return records[0].encode() if records else None

    return dnsfunc


class FailFast:
    """A resolver's ``resolve`` that, after one unanswered lookup, fails the rest at once."""

    def __init__(self, resolver: dns.resolver.Resolver) -> None:
        self._resolver = resolver
        self._down: dns.exception.DNSException | None = None

    def resolve(self, *args: Any, **kwargs: Any) -> Any:
        if self._down is not None:
            raise self._down
        try:
            return self._resolver.resolve(*args, **kwargs)
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as e:
            self._down = e
            raise
