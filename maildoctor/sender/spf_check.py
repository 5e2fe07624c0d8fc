"""SPF (RFC 7208): pyspf's check_host() with its DNS sent to a resolver the caller chooses.

A lookup DNS did not answer makes the result ``temperror`` (pyspf turns the
``TempError`` raised here into it), never ``fail``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any, Literal

import dns.exception
import dns.rdatatype
import dns.resolver
import spf

from maildoctor.sender.resolver import make_resolver
from maildoctor.sender.trust import UntrustedDNS

__all__ = ["SpfOutcome", "SpfResult", "check_spf"]

SpfOutcome = Literal["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"]


@dataclass(frozen=True, kw_only=True)
class SpfResult:
    """The outcome of an RFC 7208 check_host() for one sending IP."""

    result: SpfOutcome
    """RFC 8601 word: ``pass``, ``fail``, ``softfail``, ``neutral``, ``none``, ``temperror``,
    ``permerror``."""
    ip: str
    """The connecting IP address that was checked."""
    domain: str
    """The domain whose record was evaluated (MAIL FROM's, or HELO's when MAIL FROM is empty)."""
    mail_from: str
    """The envelope sender as given."""
    helo: str
    """The HELO/EHLO name as given."""
    explanation: str
    """pyspf's explanation (``sender SPF authorized``, ``Too many DNS lookups``...)."""
    lookups: int
    """DNS-querying mechanisms that the evaluation counted (RFC 7208 4.6.4 limit: 10)."""


class _SpfQuery(spf.query):
    """pyspf's query with its DNS lookups sent to a given resolver.

    pyspf calls a module-level ``DNSLookup``; overriding the one method that calls
    it keeps the caller's resolver local to this query.
    """

    def __init__(self, *args: Any, resolver: dns.resolver.Resolver, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resolver = resolver

    def dns(
        self, name: str, qtype: str, cnames: dict[str, str] | None = None, ignore_void: bool = False
    ) -> list[Any]:
        # Same contract as spf.query.dns: a list of answers, [] for none; CNAMEs followed.
        if not name:
            raise spf.PermError("Invalid query")
        name = str(name).rstrip(".").lower()
        if not reduce(lambda x, y: x and 0 < len(y) < 64, name.split("."), True):
            return []
        cached = self.cache.get((name, qtype))
        if cached:
            return list(cached)
        try:
            answers = self._resolver.resolve(name, qtype, raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            answers = None
        except dns.exception.DNSException as e:
            why = str(e) if isinstance(e, UntrustedDNS) else e.__class__.__name__
            raise spf.TempError(f"DNS {why} for {name} {qtype}") from e
        result: list[Any] = []
        target: str | None = None
        if answers is not None and answers.response is not None:
            for rrset in answers.response.answer:
                for rdata in rrset:
                    kind = dns.rdatatype.to_text(rdata.rdtype)
                    if kind == "CNAME" and rrset.name.to_text(True).lower() == name:
                        target = rdata.target.to_text(True)
            for rdata in answers:
                if qtype in ("A", "AAAA"):
                    result.append(rdata.address)
                elif qtype == "MX":
                    result.append((rdata.preference, rdata.exchange))
                elif qtype == "PTR":
                    result.append(rdata.target.to_text(True))
                elif qtype in ("TXT", "SPF"):
                    result.append(rdata.strings)
        if result:
            self.cache[(name, qtype)] = result
        elif target:
            cnames = dict(cnames or {})
            if len(cnames) >= spf.MAX_CNAME:
                raise spf.PermError(f"Length of CNAME chain exceeds {spf.MAX_CNAME}")
            cnames[name] = target
            if target.lower() not in cnames:
                result = self.dns(target, qtype, cnames=cnames)
        if not result and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        return result


def check_spf(
    ip: str,
    mail_from: str,
    helo: str,
    nameservers: Sequence[str] = (),
    *,
    resolver: dns.resolver.Resolver | None = None,
    timeout: float = 3.0,
) -> SpfResult:
    """Evaluate SPF for a message from ``ip`` with envelope sender ``mail_from``.

    DNS goes to ``resolver``, else to a resolver for ``nameservers`` (``IP[:PORT]``).
    An empty ``mail_from`` (a bounce) is checked as ``postmaster@HELO`` (RFC 7208 2.4).
    """
    resolver = resolver or make_resolver(nameservers, timeout=timeout)
    sender = mail_from or f"postmaster@{helo}"
    domain = sender.rpartition("@")[2].lower()
    try:
        query = _SpfQuery(ip, sender, helo, resolver=resolver, timeout=timeout, querytime=0)
        outcome, _code, explanation = query.check()
        lookups = int(query.lookups)
    except (ValueError, spf.PermError, spf.TempError) as e:  # a malformed IP, for instance
        return SpfResult(
            result="permerror", ip=ip, domain=domain, mail_from=mail_from, helo=helo,
            explanation=str(e), lookups=0,
        )  # fmt: skip
    word = str(outcome).lower()
    if word == "ambiguous":  # pyspf's strict-mode extension; RFC 8601 has no such word
        word = "permerror"
    return SpfResult(
        result=word,  # type: ignore[arg-type]
        ip=ip,
        domain=domain,
        mail_from=mail_from,
        helo=helo,
        explanation=str(explanation),
        lookups=lookups,
    )
