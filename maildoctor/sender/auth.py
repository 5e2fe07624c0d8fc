"""Message authentication: DKIM signing and verification, SPF evaluation, and the
``Authentication-Results`` header (RFC 8601) that records them.

dkimpy and pyspf do the cryptography and the RFC 7208 evaluation; this module
points their DNS lookups at a resolver the caller chooses (the harness's
configured nameserver, the loopback test server), never at a global one, and
turns their outcomes into the RFC 8601 result words: ``pass``, ``fail``,
``softfail``, ``neutral``, ``none``, ``temperror``, ``permerror``. A DNS timeout
is ``temperror`` ("unknown"), never ``fail``.

Typical use in the harness::

    resolver = make_resolver(["127.0.0.1:5353"])
    dkim_result = verify_dkim(raw, txt_lookup(resolver))
    spf_result = check_spf(peer_ip, mail_from, helo, resolver=resolver)
    header = authentication_results("maildoctor.harness", dkim=dkim_result, spf=spf_result)
    # or all of it, DMARC included: authenticate(raw, ip=..., mail_from=..., helo=...,
    # resolver=resolver).header
    stored = b"Authentication-Results: " + header.encode() + b"\\r\\n" + raw

The work is split by job: ``resolver`` (DNS), ``trust`` (the canary check),
``dkim_check``, ``spf_check``, ``dmarc_check`` and ``auth_results`` (the
header); this module puts them together and re-exports their public names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import dns.resolver

from maildoctor.sender.auth_results import (
    authentication_results,
    authserv_id_of,
    parse_authentication_results,
    remove_authentication_results,
    stamp_authentication_results,
)
from maildoctor.sender.dkim_check import SIGNED_HEADERS, DkimResult, dkim_sign, verify_dkim
from maildoctor.sender.dmarc_check import DmarcResult, check_dmarc, header_from_domain, parse_tags
from maildoctor.sender.domains import aligned, org_domain
from maildoctor.sender.resolver import (
    DnsFunc,
    DnsUnavailable,
    FailFast,
    make_resolver,
    resolve_records,
    txt_lookup,
    txt_strings,
)
from maildoctor.sender.spf_check import SpfResult, check_spf

__all__ = [
    "SIGNED_HEADERS",
    "AuthResults",
    "DkimResult",
    "DmarcResult",
    "DnsFunc",
    "DnsUnavailable",
    "SpfResult",
    "aligned",
    "authenticate",
    "authentication_results",
    "authserv_id_of",
    "check_dmarc",
    "check_spf",
    "dkim_sign",
    "header_from_domain",
    "make_resolver",
    "org_domain",
    "parse_authentication_results",
    "parse_tags",
    "remove_authentication_results",
    "resolve_records",
    "stamp_authentication_results",
    "temperror_results",
    "txt_lookup",
    "txt_strings",
    "verify_dkim",
]


@dataclass(frozen=True, kw_only=True)
class AuthResults:
    """DKIM, SPF and DMARC for one received message, and the header recording them."""

    dkim: DkimResult
    spf: SpfResult
    dmarc: DmarcResult
    header: str
    """The ``Authentication-Results`` value (without the field name)."""


def _recorded(
    dkim: DkimResult, spf: SpfResult, dmarc: DmarcResult, authserv_id: str
) -> AuthResults:
    return AuthResults(
        dkim=dkim,
        spf=spf,
        dmarc=dmarc,
        header=authentication_results(authserv_id, dkim=dkim, spf=spf, dmarc=dmarc),
    )


def authenticate(
    raw: bytes,
    *,
    ip: str,
    mail_from: str,
    helo: str,
    resolver: dns.resolver.Resolver,
    authserv_id: str = "maildoctor",
) -> AuthResults:
    """Verify DKIM, evaluate SPF and DMARC for a received message: what the harness stores.

    Blocking (DNS): from asyncio code, run it in an executor. Once DNS fails to
    answer, the remaining lookups fail at once (temperror) instead of each waiting
    out its timeout.
    """
    resolver = cast(dns.resolver.Resolver, FailFast(resolver))
    dkim_result = verify_dkim(raw, txt_lookup(resolver))
    spf_result = check_spf(ip, mail_from, helo, resolver=resolver)
    dmarc_result = check_dmarc(
        header_from_domain(raw), dkim=dkim_result, spf=spf_result, resolver=resolver
    )
    return _recorded(dkim_result, spf_result, dmarc_result, authserv_id)


def temperror_results(reason: str, *, authserv_id: str = "maildoctor") -> AuthResults:
    """DKIM, SPF and DMARC all ``temperror`` (RFC 8601 2.7): verification could not run
    (a verifier bug, DNS trouble), so the result is unknown, never failed. ``reason``
    goes into the header as a comment, written by the same writer as real results."""
    dkim_result = DkimResult(result="temperror", domain="", selector="", reason=reason)
    spf_result = SpfResult(
        result="temperror", ip="", domain="", mail_from="", helo="", explanation=reason, lookups=0
    )
    dmarc_result = DmarcResult(result="temperror", domain="", policy="", reason=reason)
    return _recorded(dkim_result, spf_result, dmarc_result, authserv_id)
