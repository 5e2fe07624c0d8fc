"""One address's delivery record: its timeline, its suppression, and what was searched.

The one function the CLI (``events show``), ``diagnose``, the desk and
``GET /api/addresses/{address}/events`` call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from maildoctor.events.address import address_key
from maildoctor.events.model import Event
from maildoctor.events.store import DEFAULT_DAYS, EventStore
from maildoctor.events.timeline import Suppression, suppression

__all__ = ["AddressRecord", "Searched", "lookup"]


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class Searched:
    """What a lookup looked in, so that "no record" can be honest."""

    sources: tuple[dict[str, Any], ...]
    """Each source read into the store: ``source``, ``origin``, ``first``, ``last``."""
    since: datetime
    until: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"sources": list(self.sources), "since": _iso(self.since), "until": _iso(self.until)}


@dataclass(frozen=True, kw_only=True)
class AddressRecord:
    """What our records say happened to mail for one address."""

    address: str
    """The address in its matching form."""
    events: tuple[Event, ...]
    """Newest first."""
    suppression: Suppression | None
    searched: Searched

    def to_dict(self) -> dict[str, Any]:
        from maildoctor.events.report import suppression_dict

        return {
            "address": self.address,
            "records": [e.to_dict() for e in self.events],
            "suppressed": suppression_dict(self.suppression) if self.suppression else None,
            "searched": self.searched.to_dict(),
        }


def lookup(
    store: EventStore,
    address: str,
    *,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
    limit: int = 500,
) -> AddressRecord:
    """``address``'s records of the last ``days`` days (0: all kept)."""
    until = now or datetime.now(UTC)
    since = until - timedelta(days=days) if days > 0 else datetime(1970, 1, 1, tzinfo=UTC)
    key = address_key(address)
    events = store.timeline(key, since=since, until=until + timedelta(minutes=5), limit=limit)
    rows = store.sources()
    sources = tuple(
        {"source": s.source, "origin": s.origin, "first": _iso(s.first), "last": _iso(s.last)}
        for s in rows
    )
    if days <= 0:  # everything kept: the period is what the sources cover
        since = min((s.first for s in rows if s.first is not None), default=since)
    return AddressRecord(
        address=key,
        events=tuple(events),
        suppression=suppression(events),
        searched=Searched(sources=sources, since=since, until=until),
    )
