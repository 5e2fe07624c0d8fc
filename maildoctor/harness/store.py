"""The SQLite store of captured messages, durable before the 250.

One writer thread owns the write connection and commits in groups: every
message waiting when a transaction starts goes into it, and each waiter is
told its id only after ``COMMIT`` returned. With ``journal_mode=WAL`` and
``synchronous=FULL`` a commit is on disk when it returns, so the SMTP side
can answer 250 after awaiting :meth:`Store.add` and a ``kill -9`` (or a power
cut) loses no acknowledged message. Group commit is what keeps that fast: one
fsync covers all the connections that finished DATA at the same moment.

Readers open their own short-lived connections (WAL lets them run beside the
writer). A cap on stored messages prunes the oldest, like Mailpit's ``--max``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from maildoctor.harness.policy import Decision, Outcome

__all__ = ["Delivery", "NewMessage", "Store", "StoreError", "StoredMessage", "default_db_path"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    mail_from TEXT NOT NULL,
    rcpt_tos TEXT NOT NULL,
    subject TEXT NOT NULL,
    from_header TEXT NOT NULL,
    message_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    peer TEXT NOT NULL,
    helo TEXT NOT NULL,
    reply TEXT NOT NULL,
    transcript TEXT NOT NULL,
    decisions TEXT NOT NULL,
    raw BLOB NOT NULL
);
"""

_SUMMARY_COLUMNS = (
    "id, received_at, mail_from, rcpt_tos, subject, from_header, message_id, size, peer, helo,"
    " reply, decisions"
)


class StoreError(Exception):
    """The database could not be opened or written."""


def default_db_path() -> Path:
    """The database in the user's data directory (``platformdirs``)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("maildoctor", appauthor=False)) / "harness.sqlite3"


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """One recipient of a message and what its simulated mailbox did."""

    recipient: str
    """The RCPT TO address."""
    decision: Decision
    """Outcome, rule and SMTP reply."""
    profile: str = ""
    """The name of the profile that decided."""

    @property
    def outcome(self) -> Outcome:
        return self.decision.outcome

    @property
    def rule(self) -> str:
        return self.decision.rule

    def to_dict(self) -> dict[str, object]:
        return {"recipient": self.recipient, "profile": self.profile, **self.decision.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Delivery:
        return cls(
            recipient=data["recipient"],
            profile=data.get("profile", ""),
            decision=Decision(
                outcome=Outcome(data["outcome"]),
                rule=data["rule"],
                reply_code=int(data["reply_code"]),
                reply_text=data["reply_text"],
                rule_name=data.get("rule_name", ""),
            ),
        )


@dataclass(frozen=True, kw_only=True)
class NewMessage:
    """What the SMTP side hands the store at the end of DATA."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    deliveries: tuple[Delivery, ...]
    transcript: tuple[str, ...] = ()
    peer: str = ""
    helo: str = ""
    reply: str = ""
    subject: str = ""
    from_header: str = ""
    message_id: str = ""
    received_at: float = field(default_factory=time.time)


@dataclass(frozen=True, kw_only=True)
class StoredMessage:
    """A captured message as stored: envelope, raw bytes, transcript, decisions."""

    id: int
    """The store's id (the API's ``{id}``)."""
    received_at: float
    """Unix time when DATA ended."""
    mail_from: str
    """The envelope sender (MAIL FROM)."""
    rcpt_tos: tuple[str, ...]
    """Every RCPT TO the server accepted, plus any refused by a fault."""
    subject: str
    """The decoded Subject header."""
    from_header: str
    """The decoded From header."""
    message_id: str
    """The Message-ID header, as sent."""
    size: int
    """Size of the raw message in bytes."""
    peer: str
    """The client's address."""
    helo: str
    """The name the client gave in HELO/EHLO."""
    reply: str
    """The reply the server gave to the message (``250 ...`` or the rejection)."""
    deliveries: tuple[Delivery, ...]
    """Each recipient's decision."""
    transcript: tuple[str, ...] = ()
    """The SMTP conversation, one line per command or reply (empty in summaries)."""
    raw: bytes = b""
    """The message as received (empty in summaries)."""

    @property
    def message(self) -> EmailMessage:
        """The raw bytes parsed with the modern email policy."""
        msg = BytesParser(policy=email_policy.default).parsebytes(self.raw)
        assert isinstance(msg, EmailMessage)
        return msg

    def decision_for(self, recipient: str) -> Delivery:
        """The delivery of one recipient (case-insensitive); KeyError if absent."""
        for d in self.deliveries:
            if d.recipient.lower() == recipient.lower():
                return d
        raise KeyError(recipient)

    def summary(self) -> dict[str, object]:
        return {
            "id": self.id,
            "received_at": self.received_at,
            "mail_from": self.mail_from,
            "rcpt_tos": list(self.rcpt_tos),
            "subject": self.subject,
            "from": self.from_header,
            "message_id": self.message_id,
            "size": self.size,
            "peer": self.peer,
            "helo": self.helo,
            "reply": self.reply,
            "decisions": [d.to_dict() for d in self.deliveries],
        }


def _settle(outcomes: list[tuple[_Waiter, Any, BaseException | None]]) -> None:
    """Set every waiter's result, waking each event loop once for the whole group."""
    per_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, Any]]] = {}
    for waiter, result, error in outcomes:
        if isinstance(waiter, tuple):
            per_loop.setdefault(waiter[0], []).append((waiter[1], result, error))
        elif waiter.done():
            continue  # cancelled: nobody is waiting
        else:
            # A cancel between done() and here: still nobody waiting.
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                if error is not None:
                    waiter.set_exception(error)
                else:
                    waiter.set_result(result)
    for loop, items in per_loop.items():
        # A closed loop raises RuntimeError: nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, items)


def _resolve(items: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for fut, result, error in items:
        if fut.done():
            continue
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(result)


def _row(row: sqlite3.Row) -> StoredMessage:
    keys = row.keys()
    # One line per command or reply: SMTP lines never hold a line feed.
    return StoredMessage(
        id=row["id"],
        received_at=row["received_at"],
        mail_from=row["mail_from"],
        rcpt_tos=tuple(json.loads(row["rcpt_tos"])),
        subject=row["subject"],
        from_header=row["from_header"],
        message_id=row["message_id"],
        size=row["size"],
        peer=row["peer"],
        helo=row["helo"],
        reply=row["reply"],
        deliveries=tuple(Delivery.from_dict(d) for d in json.loads(row["decisions"])),
        transcript=tuple(row["transcript"].split("\n"))
        if "transcript" in keys and row["transcript"]
        else (),
        raw=bytes(row["raw"]) if "raw" in keys else b"",
    )


# A job's waiter: a thread's Future, or an event loop and one of its futures (so that
# one wake-up of the loop settles every message of a group commit).
_Waiter = concurrent.futures.Future[Any] | tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]
_Job = tuple[str, Any, _Waiter]
_BATCH = 512


class Store:
    """Captured messages in one SQLite file; writes go through one group-committing thread."""

    def __init__(
        self,
        path: Path,
        *,
        max_messages: int = 1000,
        durable: bool = True,
        commit_delay: float = 0.002,
    ) -> None:
        self.path = Path(path)
        self.commit_delay = commit_delay
        """Longest wait (seconds) for more messages before a commit, while some are coming."""
        self.incoming = 0
        """Messages being received right now (the SMTP side counts); the writer waits for them."""
        self.max_messages = max_messages
        self.durable = durable
        self._listeners: list[Callable[[str, Sequence[int]], None]] = []
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._closed = False
        self._closing = threading.Lock()
        """Held while queueing, so nothing is queued behind the writer's stop sign."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            conn.close()
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"Cannot open the message store {self.path}: {e}.") from e
        self._writer = threading.Thread(
            target=self._write_loop, name="maildoctor-store", daemon=True
        )
        self._writer.start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'NORMAL'}")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    # -- writing ---------------------------------------------------------------

    def subscribe(self, listener: Callable[[str, Sequence[int]], None]) -> None:
        """Call ``listener(kind, ids)`` from the writer thread after each commit."""
        self._listeners.append(listener)

    def _put(self, job: _Job) -> None:
        with self._closing:
            if self._closed or not self._writer.is_alive():
                raise StoreError(f"The message store {self.path} is closed.")
            self._queue.put(job)

    async def add(self, message: NewMessage) -> int:
        """Store a message and return its id once it is durable."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        self._put(("add", message, (loop, fut)))
        return await fut

    def delete_all(self) -> int:
        """Delete every message; returns how many were deleted."""
        fut: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._put(("delete_all", None, fut))
        return fut.result()

    def close(self) -> None:
        """Finish queued writes and stop the writer thread (later writes: StoreError)."""
        with self._closing:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._writer.join()

    def _write_loop(self) -> None:
        conn = self._connect()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                jobs = [first]
                stop = False
                # Group commit (PostgreSQL's commit_delay/commit_siblings): while other
                # connections are in the middle of DATA, wait a moment for their messages
                # so that one fsync covers them all. With none, commit at once.
                deadline = time.monotonic() + self.commit_delay
                expected = self.incoming  # messages in DATA when this group opened
                while len(jobs) < _BATCH:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        remaining = deadline - time.monotonic()
                        if expected <= 0 or remaining <= 0:
                            break
                        # Nap instead of waking on each arrival: every wake-up of this
                        # thread costs the event loop a GIL hand-over.
                        while self._queue.qsize() < expected and time.monotonic() < deadline:
                            time.sleep(0.0003)
                        try:
                            job = self._queue.get_nowait()
                        except queue.Empty:
                            break
                    if job is None:
                        stop = True
                        break
                    jobs.append(job)
                    expected -= 1
                self._run(conn, jobs)
                if stop:
                    return
        finally:
            conn.close()

    def _run(self, conn: sqlite3.Connection, jobs: list[_Job]) -> None:
        results: list[Any] = []
        added: list[int] = []
        deleted = False
        try:
            conn.execute("BEGIN IMMEDIATE")
            for kind, payload, _ in jobs:
                if kind == "add":
                    cur = conn.execute(
                        "INSERT INTO messages (received_at, mail_from, rcpt_tos, subject,"
                        " from_header, message_id, size, peer, helo, reply, transcript,"
                        " decisions, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            payload.received_at,
                            payload.mail_from,
                            json.dumps(list(payload.rcpt_tos)),
                            payload.subject,
                            payload.from_header,
                            payload.message_id,
                            len(payload.raw),
                            payload.peer,
                            payload.helo,
                            payload.reply,
                            "\n".join(payload.transcript),
                            json.dumps(
                                [d.to_dict() for d in payload.deliveries], ensure_ascii=False
                            ),
                            payload.raw,
                        ),
                    )
                    assert cur.lastrowid is not None
                    results.append(cur.lastrowid)
                    added.append(cur.lastrowid)
                else:
                    results.append(conn.execute("DELETE FROM messages").rowcount)
                    deleted = True
            if self.max_messages > 0 and added:
                conn.execute(
                    "DELETE FROM messages WHERE id <= (SELECT id FROM messages"
                    " ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (self.max_messages,),
                )
            conn.execute("COMMIT")
        except Exception as e:
            # Whatever went wrong, this group fails alone: the writer keeps serving.
            with contextlib.suppress(Exception):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            error = StoreError(f"Cannot write to the message store {self.path}: {e}.")
            _settle([(w, None, error) for _, _, w in jobs])
            return
        _settle([(w, r, None) for (_, _, w), r in zip(jobs, results, strict=True)])
        for listener in self._listeners:
            # A listener's bug (a closed web socket...) must not stop the writer.
            with contextlib.suppress(Exception):
                if deleted:
                    listener("deleted", [])
                if added:
                    listener("added", added)

    # -- reading ---------------------------------------------------------------

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            conn.row_factory = sqlite3.Row
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def recent(self, *, limit: int = 100, offset: int = 0) -> list[StoredMessage]:
        """Summaries (no raw bytes, no transcript), newest first."""
        rows = self._read(
            f"SELECT {_SUMMARY_COLUMNS} FROM messages ORDER BY id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [_row(r) for r in rows]

    def all(self) -> list[StoredMessage]:
        """Every message in full, oldest first (what tests assert on)."""
        return [_row(r) for r in self._read("SELECT * FROM messages ORDER BY id")]

    def last(self) -> StoredMessage | None:
        """The newest message in full."""
        rows = self._read("SELECT * FROM messages ORDER BY id DESC LIMIT 1")
        return _row(rows[0]) if rows else None

    def get(self, message_id: int) -> StoredMessage | None:
        rows = self._read("SELECT * FROM messages WHERE id = ?", (message_id,))
        return _row(rows[0]) if rows else None

    def count(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM messages")[0][0])
