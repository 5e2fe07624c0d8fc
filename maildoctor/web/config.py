"""What the web app needs beyond the harness: who may use it, from where, and the desk's setup.

The harness knows no HTTP; ``maildoctor serve`` builds one :class:`WebConfig` from
its options and hands it to :func:`maildoctor.web.app.start_web`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from maildoctor.diagnose.history import DEFAULT_MAX_ENTRIES


@dataclass(frozen=True, kw_only=True)
class WebConfig:
    """Options of the web UI, the support desk and the sign-up check API."""

    allow_remote: bool = False
    """Listening beyond loopback: the desk and the API then require the desk's login."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed to call the check API from a browser (none: CORS off)."""
    password_hash: str | None = None
    """The desk's login, hashed (:func:`maildoctor.web.access.hash_password`); required
    with ``allow_remote``. The password itself is never kept."""
    public_paths: frozenset[str] = frozenset()
    """Paths served without the login even with ``allow_remote`` (``--public-check``
    adds the sign-up check's, ``maildoctor.web.signup.PUBLIC_PATHS``)."""
    history_db: Path | None = None
    """The desk's history file (None: ``desk-history.sqlite3`` beside the harness's DB)."""
    history_max: int = DEFAULT_MAX_ENTRIES
    """Diagnoses kept in the history; the oldest are pruned beyond it (0 keeps all)."""
    nameservers: tuple[str, ...] | None = ()
    """DNS for the desk's address checks: ``()`` the system resolver, else these
    ``IP[:PORT]`` servers; None checks without DNS (offline)."""
    dns_timeout: float = 5.0
    canaries: tuple[str, ...] = ()
    """Names that must resolve before an NXDOMAIN is trusted (empty: the defaults)."""
    check_nameservers: tuple[str, ...] | None = ()
    """DNS the check API asks: ``()`` the system resolver, else these ``IP[:PORT]``
    servers; None asks no DNS (static checks only)."""
    check_dns_timeout: float = 1.5
    """Seconds the check API waits for DNS before answering "unknown" (never a block)."""
    check_rate: float = 60.0
    """Check API requests per minute per client address (a burst of as many); 0: no limit."""
    check_cache_ttl: float = 600.0
    """Seconds a domain's DNS answer is reused across requests."""
    max_connections: int = 200
    """Concurrent HTTP connections (0: no limit); more get 503 and are closed."""
    header_timeout: float = 20.0
    """Seconds a connection may take to send a request's headers (and may stay idle)."""
    body_timeout: float = 60.0
    """Seconds a request body may take to arrive after its headers (408 beyond)."""
    tls_cert: Path | None = None
    """HTTPS with this certificate chain (PEM) and ``tls_key``."""
    tls_key: Path | None = None
    tls_self_signed: bool = False
    """HTTPS with a self-signed pair made beside the database (for trials)."""
    events_db: Path | None = None
    """The delivery-records store (None: ``events.sqlite3`` beside the harness's DB)."""
    events_token: str | None = None
    """The token that opens ``POST /api/events`` to webhooks (None: the route is off)."""
    login_pause: float = 0.25
    """Seconds a wrong desk password waits before its answer after one failure of the
    client or the account, doubling with each further one (up to 8 s)."""
    login_lock_after: int = 10
    """Wrong passwords from one client address that lock it out (0: never)."""
    login_lock_seconds: float = 300.0
    """How long a locked-out client address is refused without a check."""
    sessions_db: Path | None = None
    """The desk's login sessions, kept so that they survive a restart (None:
    ``desk-sessions.sqlite3`` beside the harness's database)."""
    desk_budget: float = 30.0
    """Seconds a desk request (a diagnosis, a list read) may take before it is answered
    504 with a JSON error; a diagnosis still finishes and lands in the history."""

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None or self.tls_self_signed


#: The app's :class:`WebConfig`, for page modules that need it.
WEB_CONFIG = web.AppKey("web_config", WebConfig)
