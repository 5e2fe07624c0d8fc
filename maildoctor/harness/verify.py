"""DKIM, SPF and DMARC verification of each captured message, for the spoofing filters."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

__all__ = ["AuthVerifier"]


@dataclass(frozen=True, kw_only=True)
class AuthVerifier:
    """How the harness verifies DKIM, SPF and DMARC of each message (maildoctor.sender.auth)."""

    resolver: Any
    """A ``dns.resolver.Resolver`` for the configured nameservers."""
    authserv_id: str = "maildoctor.harness"
    """The harness's name in the ``Authentication-Results`` it adds (RFC 8601 2.5)."""

    async def stamp(self, raw: bytes, *, peer: Any, mail_from: str, helo: str) -> bytes:
        """``raw`` with forged headers claiming our id removed and our results on top.

        DNS is blocking (dnspython, dkimpy, pyspf), so it runs in a worker thread; any
        failure there is ``temperror`` (RFC 8601 2.7), never a lost message.
        """
        from maildoctor.sender.auth import (
            authenticate,
            remove_authentication_results,
            stamp_authentication_results,
            temperror_results,
        )

        ip = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "")
        try:
            results = await asyncio.to_thread(
                authenticate,
                raw,
                ip=ip,
                mail_from=mail_from,
                helo=helo,
                resolver=self.resolver,
                authserv_id=self.authserv_id,
            )
            value = results.header
        except Exception as e:  # a verifier bug or DNS trouble: unknown, not failed
            why = f"{e.__class__.__name__}: {e}"
            value = temperror_results(why, authserv_id=self.authserv_id).header
        return stamp_authentication_results(
            remove_authentication_results(raw, self.authserv_id), value
        )
