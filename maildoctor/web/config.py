"""What the web app needs beyond the harness: who may use it and from where.

The harness knows no HTTP; ``maildoctor serve`` builds one :class:`WebConfig` from
its options and hands it to :func:`maildoctor.web.app.start_web`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class WebConfig:
    """Options of the web UI, the support desk and the sign-up check API."""

    allow_remote: bool = False
    """Listening beyond loopback: the desk and the API then require the desk's login."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed to call the check API from a browser (none: CORS off)."""
