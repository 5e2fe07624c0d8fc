"""``lint --check-links``: open each link of a mail, refusing internal addresses.

Each URL is asked for with HEAD, then GET when HEAD fails (servers that refuse
HEAD), within a time budget, following at most :data:`MAX_REDIRECTS` redirects one
at a time. A mail checker that fetches URLs from a template is a server-side
request forger waiting to happen (Mailpit had advisories for exactly this), so
every host is resolved first and refused when any address is loopback, private,
link-local, reserved or multicast; the connection then goes to the address that
was checked (aiohttp's resolver is ours), so a DNS answer cannot change between
the check and the connection. ``allow`` lets tests reach a server on 127.0.0.1;
the CLI never sets it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from maildoctor.mail.lint_rules import LintFinding, lint_finding

__all__ = ["MAX_REDIRECTS", "LinkResult", "RefusedAddress", "check_links", "refusal"]

MAX_REDIRECTS = 5
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(OSError):
    """A host resolved to an address --check-links never contacts."""

    def __init__(self, host: str, address: str, kind: str) -> None:
        super().__init__(f"{host} is {address} ({kind})")
        self.host, self.address, self.kind = host, address, kind


@dataclass(frozen=True, kw_only=True)
class LinkResult:
    """What opening one link gave."""

    url: str
    status: int | None
    """The final HTTP status, None when no answer came."""
    method: str | None
    """HEAD or GET: the request that answered."""
    error: str | None = None
    refused: RefusedAddress | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "method": self.method,
            "ok": self.ok,
            "error": self.error,
            "refused": None if self.refused is None else str(self.refused),
        }


def refusal(address: str, allow: Sequence[IPNetwork] = ()) -> str | None:
    """Why ``address`` may not be contacted (the kind of address), None when it may."""
    ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allow):
        return None
    for kind, flag in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return kind
    return None


class _GuardedResolver(AbstractResolver):
    """Resolves with the system resolver, then refuses internal addresses."""

    def __init__(self, allow: Sequence[IPNetwork]) -> None:
        self._allow = allow

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, family=family)
        results: list[ResolveResult] = []
        for fam, _, proto, _, sockaddr in infos:
            address = str(sockaddr[0])
            if kind := refusal(address, self._allow):
                raise RefusedAddress(host, address, kind)
            results.append(
                {
                    "hostname": host,
                    "host": address,
                    "port": port,
                    "family": fam,
                    "proto": proto,
                    "flags": socket.AI_NUMERICHOST,
                }
            )
        return results

    async def close(self) -> None:
        return None


def _literal_refusal(url: str, allow: Sequence[IPNetwork]) -> RefusedAddress | None:
    """aiohttp connects to an IP literal without asking the resolver: check it here."""
    host = (urlsplit(url).hostname or "").strip("[]")
    try:
        kind = refusal(host, allow)
    except ValueError:  # a name, not an address: the resolver checks it
        return None
    return RefusedAddress(host, host, kind) if kind else None


async def _open(session: aiohttp.ClientSession, url: str, allow: Sequence[IPNetwork]) -> LinkResult:
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        if urlsplit(current).scheme.lower() not in ("http", "https"):
            return LinkResult(
                url=url, status=None, method=None, error=f"not an http(s) URL: {current}"
            )
        if refused := _literal_refusal(current, allow):
            return LinkResult(url=url, status=None, method=None, refused=refused)
        status = None
        location = None
        method = "HEAD"
        for method in ("HEAD", "GET"):
            async with session.request(method, current, allow_redirects=False) as response:
                status, location = response.status, response.headers.get("Location")
            if status < 400 or status in (404, 410):
                break
        if status is not None and 300 <= status < 400 and location:
            current = urljoin(current, location)
            continue
        return LinkResult(url=url, status=status, method=method)
    return LinkResult(
        url=url, status=None, method=None, error=f"more than {MAX_REDIRECTS} redirects"
    )


async def _check_all(
    urls: Sequence[str], timeout: float, allow: Sequence[IPNetwork]
) -> list[LinkResult]:
    connector = aiohttp.TCPConnector(resolver=_GuardedResolver(allow), limit=4)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    headers = {"User-Agent": "maildoctor-check-links"}
    async with aiohttp.ClientSession(
        connector=connector, timeout=client_timeout, headers=headers
    ) as session:

        async def one(url: str) -> LinkResult:
            try:
                return await _open(session, url, allow)
            except RefusedAddress as e:
                return LinkResult(url=url, status=None, method=None, refused=e)
            except aiohttp.ClientConnectorError as e:
                if isinstance(e.os_error, RefusedAddress):
                    return LinkResult(url=url, status=None, method=None, refused=e.os_error)
                return LinkResult(
                    url=url, status=None, method=None, error=f"cannot connect ({e.os_error})"
                )
            except TimeoutError:
                return LinkResult(
                    url=url, status=None, method=None, error=f"no answer within {timeout:g} s"
                )
            except (aiohttp.ClientError, ValueError) as e:
                return LinkResult(
                    url=url, status=None, method=None, error=f"{type(e).__name__}: {e}"
                )

        return list(await asyncio.gather(*(one(u) for u in urls)))


def check_links(
    urls: Iterable[str], *, timeout: float = 10.0, allow: Sequence[IPNetwork] = ()
) -> list[LinkResult]:
    """Open every distinct URL (HEAD, then GET), refusing internal addresses.

    Runs its own event loop: call it from synchronous code (the CLI) or a thread.
    """
    distinct = list(dict.fromkeys(u for u in urls if u.lower().startswith(("http://", "https://"))))
    if not distinct:
        return []
    return asyncio.run(_check_all(distinct, timeout, allow))


def link_findings(results: Iterable[LinkResult]) -> list[LintFinding]:
    """The lint findings for links that could not be opened or were refused."""
    found: list[LintFinding] = []
    for r in results:
        if r.refused is not None:
            found.append(
                lint_finding(
                    "link_refused",
                    url=r.url,
                    host=r.refused.host,
                    address=r.refused.address,
                    kind=r.refused.kind,
                )
            )
        elif not r.ok:
            why = r.error or f"HTTP {r.status} to {r.method}"
            found.append(lint_finding("link_unreachable", url=r.url, why=why))
    return found
