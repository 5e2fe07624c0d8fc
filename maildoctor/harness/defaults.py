"""Where ``maildoctor serve`` listens by default, in one place: serve's and send's options
and the links a diagnosis prints read it (a light module: no server imports)."""

from __future__ import annotations

__all__ = ["DEFAULT_HTTP", "DEFAULT_SMTP"]

DEFAULT_SMTP = "127.0.0.1:1025"
"""The SMTP server."""
DEFAULT_HTTP = "127.0.0.1:8025"
"""The web UI and its JSON API."""
