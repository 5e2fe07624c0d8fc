"""The events store: one SQLite file behind one small interface.

Schema (also in the README's ``events`` section)::

    events(id, key UNIQUE, time REAL unix UTC, address, status, source, reply, reason,
           hard 0/1, message_id, queue_id, relay, dsn, subject, origin, detail JSON,
           sending_ip)
      index events_by_address (address, time)  -- a timeline is one index range
      index events_by_sending_ip (sending_ip, source, time) where sending_ip != ''
      -- sending_ip came later: opening an older store adds the column ('' for its records)
    sources(source, origin, first_time, last_time, events, ingested_at)
      -- what was read, so a diagnosis can say what it searched

``key`` makes ingest idempotent: a digest of the Postfix log line, the ESP's event
id, the harness message and recipient. ``journal_mode=WAL`` lets the desk read
while an ingest writes; each batch is one transaction (``synchronous=FULL``: on
disk when it returns). Records older than the retention (``--events-days``) are
pruned at each ingest. A sender beyond one file's reach puts another store behind
the same methods (:class:`EventStore`'s public ones are the whole interface).
"""

from __future__ import annotations

import json
import sqlite3
import time as _time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from maildoctor.errors import StoreFailure
from maildoctor.events.model import Event
from maildoctor.store_kind import other_store

__all__ = [
    "DEFAULT_DAYS",
    "MAX_DAYS",
    "EventStore",
    "EventStoreError",
    "SeenIp",
    "SourceRow",
    "default_events_db",
]

#: Records kept (``--events-days``).
DEFAULT_DAYS = 90
#: The most days back a lookup takes (100 years): Python's dates end in 9999, and
#: ``timedelta(days=10**10)`` is an OverflowError, not an answer.
MAX_DAYS = 36_500

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    time REAL NOT NULL,
    address TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    reply TEXT NOT NULL,
    reason TEXT NOT NULL,
    hard INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    queue_id TEXT NOT NULL,
    relay TEXT NOT NULL,
    dsn TEXT NOT NULL,
    subject TEXT NOT NULL,
    origin TEXT NOT NULL,
    detail TEXT NOT NULL,
    sending_ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_by_address ON events (address, time);
CREATE INDEX IF NOT EXISTS events_by_time ON events (time);
CREATE TABLE IF NOT EXISTS sources (
    source TEXT NOT NULL,
    origin TEXT NOT NULL,
    first_time REAL,
    last_time REAL,
    events INTEGER NOT NULL,
    ingested_at REAL NOT NULL,
    PRIMARY KEY (source, origin)
);
"""
#: ``sender``'s question (which IPs sent in a period) read from the index alone.
_IP_INDEX = (
    "CREATE INDEX IF NOT EXISTS events_by_sending_ip ON events (sending_ip, source, time)"
    " WHERE sending_ip != ''"
)
_COLUMNS = (
    "key, time, address, status, source, reply, reason, hard, message_id, queue_id, relay,"
    " dsn, subject, origin, detail, sending_ip"
)
_INSERT = f"INSERT OR IGNORE INTO events ({_COLUMNS}) VALUES ({', '.join('?' * 16)})"


def default_events_db() -> Path:
    """``events.sqlite3`` beside the desk's history (the user's data directory)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("maildoctor", appauthor=False)) / "events.sqlite3"


class EventStoreError(StoreFailure):
    """The events store could not be opened, read or written (one line, with what to do)."""


def describe(path: Path, error: BaseException) -> str:
    """One sentence for a SQLite or OS error on the events store."""
    text = str(error).rstrip(".")
    if path.is_dir():
        return (
            f"Cannot open the events store {path}: it is a directory. Give a file with --events-db."
        )
    if "not a database" in text:
        return (
            f"Cannot open the events store {path}: it is not an SQLite database. "
            "Give another --events-db, or move the file away."
        )
    if "malformed" in text:
        return f"The events store {path} is damaged ({text}). Move it away; a new one is made."
    if "readonly" in text or "read-only" in text:
        return (
            f"The events store {path} cannot be written ({text}). Check the permissions of "
            "the file and its folder, or give another --events-db."
        )
    if "disk is full" in text or "database or disk is full" in text:
        return f"Cannot write to the events store {path}: {text}. Free some disk space."
    if "unable to open" in text or isinstance(error, OSError):
        return (
            f"Cannot open the events store {path}: {text}. Check that its folder exists and "
            "can be written, or give another --events-db."
        )
    return f"Cannot use the events store {path}: {text}."


@dataclass(frozen=True)
class SourceRow:
    """One source read into the store and the period its records cover."""

    source: str
    origin: str
    first: datetime | None
    last: datetime | None
    events: int
    ingested_at: datetime


@dataclass(frozen=True)
class SeenIp:
    """A sending IP named by the records of a period, and by how many of which source."""

    ip: str
    records: int
    sources: dict[str, int]
    last: datetime


def _when(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _row_event(row: sqlite3.Row) -> Event:
    return Event(
        time=datetime.fromtimestamp(row["time"], UTC),
        address=row["address"],
        status=row["status"],
        source=row["source"],
        key=row["key"],
        reply=row["reply"],
        reason=row["reason"],
        hard=bool(row["hard"]),
        message_id=row["message_id"],
        queue_id=row["queue_id"],
        relay=row["relay"],
        dsn=row["dsn"],
        subject=row["subject"],
        origin=row["origin"],
        detail=json.loads(row["detail"]),
        sending_ip=row["sending_ip"] if "sending_ip" in row.keys() else "",  # noqa: SIM118 (a Row's `in` tests values)
    )


class EventStore:
    """Add records, read one address's timeline, list what was searched, prune."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise EventStoreError(
                f"No events store at {self.path}: ingest records first "
                "(`maildoctor events ingest`), or give --events-db."
            )
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            other = other_store(self._db, "events store")
            if other is not None:
                raise EventStoreError(
                    f"Cannot open the events store {self.path}: {other}. Give another --events-db."
                )
            if create:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(SCHEMA)
            else:
                self._db.execute("SELECT 1 FROM events LIMIT 1").fetchall()
            self._migrate(create)
        except (sqlite3.Error, OSError) as e:
            raise EventStoreError(describe(self.path, e)) from e

    def _migrate(self, create: bool) -> None:
        """Bring a store made by an older maildoctor up to :data:`SCHEMA` (its records
        keep ``''`` where the new columns say nothing). A reader that cannot write an old
        store still reads it: the records it lacks a column for simply say nothing."""
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(events)")}
        self._has_ip = "sending_ip" in columns
        try:
            with self._db:
                if not self._has_ip:
                    self._db.execute(
                        "ALTER TABLE events ADD COLUMN sending_ip TEXT NOT NULL DEFAULT ''"
                    )
                    self._has_ip = True
                if create:  # only records that name an IP: a Postfix-only ingest pays nothing
                    self._db.execute(_IP_INDEX)
        except sqlite3.Error:
            if create:
                raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, events: Iterable[Event], *, note: tuple[str, str] | None = None) -> int:
        """Store ``events`` in one transaction; how many were new (the rest were known).

        ``note``: (source, origin) also remembered as read, as :meth:`note_source` would
        with the records' period and the new ones' count, in the same transaction (one
        commit, one fsync: what a writer of many small batches saves)."""
        rows = [
            (
                e.key,
                e.time.timestamp(),
                e.address,
                e.status,
                e.source,
                e.reply,
                e.reason,
                int(e.hard),
                e.message_id,
                e.queue_id,
                e.relay,
                e.dsn,
                e.subject,
                e.origin,
                json.dumps(e.detail, ensure_ascii=False) if e.detail else "{}",
                e.sending_ip,
            )
            for e in events
        ]
        if not rows:
            return 0
        try:
            with self._db:
                before = self._db.total_changes
                self._db.executemany(_INSERT, rows)
                added = self._db.total_changes - before
                if note is not None:
                    times = [row[1] for row in rows]
                    self._note(*note, min(times), max(times), added)
                return added
        except sqlite3.Error as e:
            raise EventStoreError(describe(self.path, e)) from e

    def note_source(
        self, source: str, origin: str, first: datetime | None, last: datetime | None, count: int
    ) -> None:
        """Remember that ``origin`` was read (its period widens with each ingest)."""
        try:
            with self._db:
                self._note(
                    source,
                    origin,
                    first.timestamp() if first else None,
                    last.timestamp() if last else None,
                    count,
                )
        except sqlite3.Error as e:
            raise EventStoreError(describe(self.path, e)) from e

    def _note(
        self, source: str, origin: str, first: float | None, last: float | None, count: int
    ) -> None:
        self._db.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, origin) DO"
            " UPDATE SET first_time = min(coalesce(first_time, excluded.first_time),"
            " coalesce(excluded.first_time, first_time)),"
            " last_time = max(coalesce(last_time, excluded.last_time),"
            " coalesce(excluded.last_time, last_time)),"
            " events = events + excluded.events, ingested_at = excluded.ingested_at",
            (source, origin, first, last, count, _time.time()),
        )

    def _query(self, sql: str, args: tuple[object, ...]) -> list[sqlite3.Row]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as e:
            raise EventStoreError(describe(self.path, e)) from e

    def timeline(
        self,
        address: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 500,
    ) -> list[Event]:
        """``address``'s records (already in :func:`.address.address_key` form), newest first."""
        rows = self._query(
            "SELECT * FROM events WHERE address = ? AND time >= ? AND time <= ?"
            " ORDER BY time DESC, id DESC LIMIT ?",
            (
                address,
                since.timestamp() if since else 0.0,
                until.timestamp() if until else 1e12,
                limit,
            ),
        )
        return [_row_event(r) for r in rows]

    def addresses(self, statuses: tuple[str, ...], since: datetime | None = None) -> list[str]:
        """Addresses with a record of one of ``statuses`` (the suppression candidates)."""
        marks = ", ".join("?" * len(statuses))
        rows = self._query(
            f"SELECT DISTINCT address FROM events WHERE status IN ({marks}) AND time >= ?"
            " ORDER BY address",
            (*statuses, since.timestamp() if since else 0.0),
        )
        return [r[0] for r in rows]

    def sending_ips(self, since: datetime | None = None) -> list[SeenIp]:
        """The sending IPs the records since ``since`` name, most records first."""
        if not self._has_ip:
            return []
        rows = self._query(
            "SELECT sending_ip, source, count(*), max(time) FROM events"
            " WHERE time >= ? AND sending_ip != '' GROUP BY sending_ip, source",
            (since.timestamp() if since else 0.0,),
        )
        seen: dict[str, tuple[dict[str, int], float]] = {}
        for ip, source, count, last in rows:
            sources, latest = seen.setdefault(ip, ({}, last))
            sources[source] = count
            seen[ip] = (sources, max(latest, last))
        out = [
            SeenIp(
                ip=ip,
                records=sum(sources.values()),
                sources=dict(sorted(sources.items())),
                last=datetime.fromtimestamp(last, UTC),
            )
            for ip, (sources, last) in seen.items()
        ]
        return sorted(out, key=lambda s: (-s.records, s.ip))

    def sources(self) -> list[SourceRow]:
        """Every source read, oldest ingest first."""
        rows = self._query("SELECT * FROM sources ORDER BY ingested_at", ())
        return [
            SourceRow(
                source=r["source"],
                origin=r["origin"],
                first=_when(r["first_time"]),
                last=_when(r["last_time"]),
                events=r["events"],
                ingested_at=datetime.fromtimestamp(r["ingested_at"], UTC),
            )
            for r in rows
        ]

    def count(self) -> int:
        return int(self._query("SELECT count(*) FROM events", ())[0][0])

    def prune(self, days: int, now: datetime | None = None) -> int:
        """Delete records older than ``days`` (0 keeps all); how many went."""
        if days <= 0:
            return 0
        cutoff = (now or datetime.now(UTC)).timestamp() - days * 86400
        try:
            with self._db:
                return self._db.execute("DELETE FROM events WHERE time < ?", (cutoff,)).rowcount
        except sqlite3.Error as e:
            raise EventStoreError(describe(self.path, e)) from e
