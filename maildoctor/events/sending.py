"""Which sending IPs to audit: the ones the operator names, else the ones the delivery
records saw (``sender --events-db``), with where each came from.

The records are the evidence of what actually sent our mail: SendGrid names the IP of
each delivery, the harness the client that relayed to it. Postfix's log lines and SES's
events name the receiver's server, not ours, so they add no sending IP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from maildoctor.events.store import EventStore, EventStoreError, SeenIp, default_events_db

__all__ = ["MAX_IPS", "SendingIps", "choose_sending_ips"]

#: At most this many IPs from the records are audited (each costs a few DNS lookups);
#: the most used first, the rest are counted in ``not_checked``.
MAX_IPS = 10


@dataclass(frozen=True)
class SendingIps:
    """The IPs to audit and where they came from."""

    origin: Literal["option", "records", "none"]
    """``option`` (--sending-ip), ``records`` (the events store), ``none`` (neither said)."""
    ips: tuple[str, ...]
    """The IPs to audit, in order (the first decides the receivers' rules)."""
    store: str = ""
    """The events store searched (``""`` when --sending-ip was given)."""
    days: int = 0
    """The period searched, in days (0: every record kept)."""
    seen: tuple[SeenIp, ...] = field(default_factory=tuple)
    """What the records said of each IP (all of them, audited or not)."""
    error: str | None = None
    """Why the store could not be read: then nothing is known, not "no IPs"."""
    searched: bool = True
    """False when no store was named and none is kept at the default place."""

    @property
    def not_checked(self) -> int:
        """IPs seen in the records beyond :data:`MAX_IPS`."""
        return max(0, len(self.seen) - len(self.ips)) if self.origin == "records" else 0

    def to_dict(self) -> dict[str, object]:
        return {
            "from": self.origin,
            "ips": list(self.ips),
            "store": self.store or None,
            "days": self.days if self.store else None,
            "searched": self.searched if self.store else None,
            "error": self.error,
            "seen": [
                {
                    "ip": s.ip,
                    "records": s.records,
                    "sources": s.sources,
                    "last": s.last.isoformat().replace("+00:00", "Z"),
                }
                for s in self.seen
            ],
            "not_checked": self.not_checked,
        }


def choose_sending_ips(
    given: tuple[str, ...],
    events_db: Path | None,
    *,
    days: int,
    now: datetime | None = None,
) -> SendingIps:
    """``given`` when the operator named IPs; else the IPs of the records of the last
    ``days`` days in ``events_db`` (the default store when None), read only. A named
    store that cannot be read is an error; no store at the default place is not."""
    if given:
        return SendingIps(origin="option", ips=given)
    path = events_db or default_events_db()
    if events_db is None and not path.exists():  # nothing ingested on this machine
        return SendingIps(origin="none", ips=(), store=str(path), days=days, searched=False)
    since = (now or datetime.now(UTC)) - timedelta(days=days) if days > 0 else None
    try:
        with EventStore(path, create=False) as store:
            seen = tuple(store.sending_ips(since))
    except EventStoreError as e:
        return SendingIps(origin="none", ips=(), store=str(path), days=days, error=str(e))
    return SendingIps(
        origin="records" if seen else "none",
        ips=tuple(s.ip for s in seen[:MAX_IPS]),
        store=str(path),
        days=days,
        seen=seen,
    )
