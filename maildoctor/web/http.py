"""HTTP pieces every page module shares: JSON replies, CSPs, the Host check."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from aiohttp import web

#: The UI page: only its own scripts and styles, frames only from itself.
UI_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'"
)
#: A stored message as received: never run or rendered as a page.
RAW_CSP = "sandbox; default-src 'none'"
#: A mail's HTML: a sandboxed unique origin, no scripts, nothing from the network.
MAIL_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "font-src data:; base-uri 'none'; form-action 'none'"
)


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, ensure_ascii=False),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


def error_response(status: int, message: str) -> web.Response:
    """The contract's error body: ``{"error": "one full sentence"}``."""
    return json_response({"error": message}, status=status)


def mail_html_response(html: str) -> web.Response:
    return web.Response(
        text=html,
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": MAIL_CSP, "X-Content-Type-Options": "nosniff"},
    )


def host_allowed(host_header: str | None, configured: str) -> bool:
    """Whether a request's Host names this server, not some other site's domain.

    DNS rebinding points an attacker's name at 127.0.0.1 so that their page can
    read the API (captured reset links). Such a request carries their name in
    ``Host``; IP literals, ``localhost`` and the configured host cannot be rebound.
    """
    if not host_header:
        return True  # HTTP/1.0 without Host: not a browser
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    host = host.rstrip(".")
    if host == "localhost" or host.endswith(".localhost") or host == configured.lower():
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
