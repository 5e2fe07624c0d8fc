"""Delivery records: what actually happened to our mail, per address.

Sources (Postfix logs, Amazon SES and SendGrid events, bounces, the harness's own
deliveries) are parsed by pure readers (:mod:`.postfix`, :mod:`.esp`), every
remote reply goes through the bounce classifier (:mod:`.reply`), records land in
one SQLite store (:mod:`.store`), and :mod:`.timeline` says whether an address
is suppressed. :mod:`.ingest` is the I/O edge that reads files and streams.
Only the store and the record type are imported here: reading a timeline must not
load the bounce parser (``diagnose`` runs many times a day).
"""

from __future__ import annotations

from maildoctor.events.address import address_key
from maildoctor.events.model import STATUSES, Event
from maildoctor.events.store import DEFAULT_DAYS, EventStore, EventStoreError, default_events_db

__all__ = [
    "DEFAULT_DAYS",
    "STATUSES",
    "Event",
    "EventStore",
    "EventStoreError",
    "address_key",
    "default_events_db",
]
