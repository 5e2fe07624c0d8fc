"""What the web app needs beyond the harness: who may use it and from where.

The harness knows no HTTP; ``maildoctor serve`` builds one :class:`WebConfig` from
its options and hands it to :func:`maildoctor.web.app.start_web`.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True, kw_only=True)
class WebConfig:
    """Options of the web UI, the support desk and the sign-up check API."""

    allow_remote: bool = False
    """Listening beyond loopback: the desk and the API then require the desk's login."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed to call the check API from a browser (none: CORS off)."""
    public_check: bool = False
    """With ``allow_remote``: serve the sign-up check API, its script and the demo
    (``maildoctor.web.signup.PUBLIC_PATHS``) to anyone, without the desk's login."""
    nameservers: tuple[str, ...] = ()
    """DNS the check API asks (``IP[:PORT]``); none: the system's resolver."""
    canaries: tuple[str, ...] = ()
    """Names that must resolve before NXDOMAIN is trusted (none: the contract's)."""
    check_dns_timeout: float = 1.5
    """Seconds the check API waits for DNS before answering "unknown" (never a block)."""
    check_offline: bool = False
    """The check API asks no DNS at all: static checks only."""
    check_rate: float = 60.0
    """Check API requests per minute per client address (a burst of as many); 0: no limit."""
    check_cache_ttl: float = 600.0
    """Seconds a domain's DNS answer is reused across requests."""


#: The app's :class:`WebConfig`, for page modules that need it.
WEB_CONFIG = web.AppKey("web_config", WebConfig)
