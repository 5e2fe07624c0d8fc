"""What the web app needs beyond the harness: who may use it, from where, and the desk's setup.

The harness knows no HTTP; ``maildoctor serve`` builds one :class:`WebConfig` from
its options and hands it to :func:`maildoctor.web.app.start_web`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
    adds the sign-up check's: ``/api/check``, ``/static/signup-check.js``, ``/signup-demo``)."""
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
