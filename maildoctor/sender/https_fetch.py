"""HTTPS GET of the small files a sending-domain audit reads (the MTA-STS policy, the
BIMI logo and mark certificate), with three outcomes like a DNS lookup: the body, the
server's refusal (a status other than 200), or unknown.

The host's address comes from the audit's own resolver (so a resolver that failed
the canary is never bypassed through the system's), the certificate is verified
against the system's CAs or ``cafile``, redirects are not followed (RFC 8461 3.3),
and the body is read up to a size limit. A refused or silent connection, a TLS
failure and a host DNS did not answer are :class:`FetchUnknown`: what a receiver
would see cannot be told from here, so nothing is concluded.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass

import dns.resolver

from maildoctor.sender.resolver import DnsUnavailable, resolve_records

__all__ = ["FetchUnknown", "Fetched", "HttpsOptions", "NoSuchHost", "https_get"]


@dataclass(frozen=True, kw_only=True)
class HttpsOptions:
    """How the audit reaches HTTPS hosts."""

    cafile: str | None = None
    """PEM bundle of the CAs to trust instead of the system's (a test CA, a proxy's)."""
    port: int = 443
    """The port to connect to (tests serve on a free loopback port)."""
    timeout: float = 5.0
    """Seconds for the connection and for each read."""


@dataclass(frozen=True, kw_only=True)
class Fetched:
    """The server's answer."""

    status: int
    content_type: str
    body: bytes
    truncated: bool
    """The body was longer than the limit (only the first ``limit`` bytes are kept)."""


class FetchUnknown(Exception):
    """No answer that can be trusted (DNS unanswered, connection or TLS failure)."""


class NoSuchHost(Exception):
    """The host name does not exist in DNS (NXDOMAIN/NODATA): a fact, not a failure."""


def https_get(
    url_host: str,
    path: str,
    *,
    resolver: dns.resolver.Resolver,
    options: HttpsOptions,
    limit: int = 65536,
) -> Fetched:
    """GET ``https://url_host{path}``.

    Raises :class:`NoSuchHost` when DNS says the host has no address, and
    :class:`FetchUnknown` when the answer cannot be had or trusted.
    """
    try:
        addresses = [r.address for r in resolve_records(resolver, url_host, "A")]
        if not addresses:
            addresses = [r.address for r in resolve_records(resolver, url_host, "AAAA")]
    except DnsUnavailable as e:
        raise FetchUnknown(f"DNS: {e}") from e
    if not addresses:
        raise NoSuchHost(url_host)
    context = ssl.create_default_context(cafile=options.cafile)
    conn = http.client.HTTPSConnection(
        url_host, options.port, timeout=options.timeout, context=context
    )
    try:
        raw = socket.create_connection((addresses[0], options.port), timeout=options.timeout)
        # SNI and the name checked are the URL's host, though the socket went to the
        # address the audit's resolver gave.
        conn.sock = context.wrap_socket(raw, server_hostname=url_host)
        conn.request("GET", path, headers={"User-Agent": "maildoctor", "Accept": "*/*"})
        response = conn.getresponse()
        body = response.read(limit + 1)
    except ssl.SSLCertVerificationError as e:
        raise FetchUnknown(f"TLS certificate not trusted: {e.verify_message}") from e
    except (OSError, http.client.HTTPException) as e:
        why = (e.strerror if isinstance(e, OSError) else None) or str(e) or type(e).__name__
        raise FetchUnknown(why.lower()) from e
    finally:
        conn.close()
    return Fetched(
        status=response.status,
        content_type=(response.getheader("Content-Type") or "").split(";")[0].strip().lower(),
        body=body[:limit],
        truncated=len(body) > limit,
    )
