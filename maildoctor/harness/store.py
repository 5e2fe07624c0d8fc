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
from pathlib import Path
from typing import Any

from maildoctor.errors import StoreFailure
from maildoctor.harness.health import (
    FailureLog,
    StoreProblem,
    check_store,
    describe_error,
    quick_check,
)
from maildoctor.harness.query import Term, parse_query, time_bound
from maildoctor.harness.records import (
    TRIAL_HELO,
    Delivery,
    NewMessage,
    StoredMessage,
    from_row,
)

__all__ = [
    "TRIAL_HELO",
    "Delivery",
    "NewMessage",
    "Store",
    "StoreError",
    "StoredMessage",
    "default_db_path",
    "like_pattern",
]

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
CREATE TABLE IF NOT EXISTS message_text (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    attachments INTEGER NOT NULL
);
"""
#: ``message_text`` holds each message's decoded text for searching bodies. It is filled
#: by the first search that needs it (not as mail arrives: the SMTP side stays as fast),
#: and rows of deleted messages are dropped then.

_SUMMARY_COLUMNS = (
    "id, received_at, mail_from, rcpt_tos, subject, from_header, message_id, size, peer, helo,"
    " reply, decisions"
)
_SUMMARY_IN_M = ", ".join(f"m.{c.strip()}" for c in _SUMMARY_COLUMNS.split(","))

#: What a plain word of :meth:`Store.search` looks in (``decisions`` holds each
#: recipient's outcome, rule, carrier rule name and reply as JSON; ``t.body`` the text).
_SEARCHED = (
    "m.subject",
    "m.mail_from",
    "m.rcpt_tos",
    "m.from_header",
    "m.decisions",
    "m.message_id",
    "t.body",
)
#: Each ``field:`` of the query language and the columns it matches.
_FIELD_COLUMNS = {
    "to": ("m.rcpt_tos",),
    "from": ("m.mail_from", "m.from_header"),
    "subject": ("m.subject",),
}
_RULE_MATCH = (
    "EXISTS (SELECT 1 FROM json_each(m.decisions) d WHERE"
    " json_extract(d.value, '$.rule') LIKE ? ESCAPE '\\'"
    " OR json_extract(d.value, '$.rule_name') LIKE ? ESCAPE '\\')"
)
_FILL_BATCH = 500


def like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _clause(term: Term) -> tuple[str, list[str | int | float]]:
    """One term as an SQL condition (without its negation) and its parameters."""
    if term.field == "":
        pattern = like_pattern(term.value)
        return (
            "(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in _SEARCHED) + ")",
            [pattern] * len(_SEARCHED),
        )
    if term.field in _FIELD_COLUMNS:
        columns = _FIELD_COLUMNS[term.field]
        pattern = like_pattern(term.value)
        return (
            "(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + ")",
            [pattern] * len(columns),
        )
    if term.field == "rule":
        return _RULE_MATCH, [like_pattern(term.value)] * 2
    if term.field == "before":
        return "m.received_at < ?", [time_bound(term.value)]
    if term.field == "after":
        return "m.received_at >= ?", [time_bound(term.value)]
    if term.field == "has":
        return "coalesce(t.attachments, 0) = 1", []
    return "m.helo = ?", [TRIAL_HELO]  # tag:trial


class StoreError(StoreFailure):
    """The database could not be opened or written."""


def default_db_path() -> Path:
    """The database in the user's data directory (``platformdirs``)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("maildoctor", appauthor=False)) / "harness.sqlite3"


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
        failure_log: FailureLog | None = None,
    ) -> None:
        self.path = Path(path)
        self.failures = failure_log or FailureLog(self.path)
        """Counts failed writes and tells stderr why, rate-limited."""
        self.commit_delay = commit_delay
        """Longest wait (seconds) for more messages before a commit, while some are coming."""
        self.incoming = 0
        """Messages being received right now (the SMTP side counts); the writer waits for them."""
        self.max_messages = max_messages
        self.durable = durable
        self._listeners: list[Callable[[str, Sequence[int]], None]] = []
        # SimpleQueue: put is one C call; Queue's Condition cost the event loop ~3% (py-spy).
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._closing = threading.Lock()
        """Held while queueing, so nothing is queued behind the writer's stop sign."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(SCHEMA)
                check_store(conn, self.path)
            finally:
                conn.close()
        except Exception as e:
            # Whatever the file is (a directory, text, damaged, read-only): one sentence.
            raise StoreError(describe_error(self.path, e)) from e
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
            error = StoreError(describe_error(self.path, e, writing=True))
            adds = sum(kind == "add" for kind, _, _ in jobs)
            self.failures.report(e, messages=max(adds, 1))
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
        try:
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                conn.row_factory = sqlite3.Row
                return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        except sqlite3.DatabaseError as e:
            # Damage found while serving is told once, with the advice given at start.
            self.failures.damaged(e)
            raise

    def check(self) -> None:
        """``PRAGMA quick_check`` now (a schedule calls it): damage is told once on stderr."""
        try:
            quick_check(self.path)
        except (StoreProblem, sqlite3.Error) as e:
            self.failures.damaged(e)

    def recent(self, *, limit: int = 100, offset: int = 0) -> list[StoredMessage]:
        """Summaries (no raw bytes, no transcript), newest first."""
        rows = self._read(
            f"SELECT {_SUMMARY_COLUMNS} FROM messages ORDER BY id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [from_row(r) for r in rows]

    def all(self) -> list[StoredMessage]:
        """Every message in full, oldest first (what tests assert on)."""
        return [from_row(r) for r in self._read("SELECT * FROM messages ORDER BY id")]

    def last(self) -> StoredMessage | None:
        """The newest message in full."""
        rows = self._read("SELECT * FROM messages ORDER BY id DESC LIMIT 1")
        return from_row(rows[0]) if rows else None

    def get(self, message_id: int) -> StoredMessage | None:
        rows = self._read("SELECT * FROM messages WHERE id = ?", (message_id,))
        return from_row(rows[0]) if rows else None

    def count(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM messages")[0][0])

    def search(
        self, query: str = "", *, limit: int = 100, offset: int = 0, trials: bool = True
    ) -> tuple[list[StoredMessage], int]:
        """Summaries of the messages matching ``query`` (the language of
        :mod:`maildoctor.harness.query`), newest first, and how many match in all.
        ``trials=False`` leaves out the delivery trials unless the query asks for
        ``tag:trial``. Raises QueryError for a query that cannot be searched."""
        terms = parse_query(query)
        if not trials and not any(t.field == "tag" for t in terms):
            terms.append(Term("tag", "trial", negated=True))
        clauses: list[str] = []
        params: list[str | int | float] = []
        for term in terms:
            clause, values = _clause(term)
            clauses.append(f"NOT ({clause})" if term.negated else clause)
            params += values
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        needs_text = any(t.field in ("", "has") for t in terms)
        join = " LEFT JOIN message_text t ON t.id = m.id" if needs_text else ""
        try:
            if needs_text:
                self._fill_text()
            total = int(self._read(f"SELECT COUNT(*) FROM messages m{join}{where}", params)[0][0])
            rows = self._read(
                f"SELECT {_SUMMARY_IN_M} FROM messages m{join}{where}"
                " ORDER BY m.id DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        except sqlite3.Error as e:
            raise StoreError(f"Cannot read the message store {self.path}: {e}.") from e
        return [from_row(r) for r in rows], total

    def _fill_text(self) -> None:
        """Decode the text of every message not yet in ``message_text`` (in batches, off
        the writer thread: SQLite serialises the two), and drop deleted messages' rows."""
        from email import policy as email_policy
        from email.parser import BytesParser

        from maildoctor.mail.decode import has_attachment, searchable_text

        parser = BytesParser(policy=email_policy.compat32)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("DELETE FROM message_text WHERE id NOT IN (SELECT id FROM messages)")
            after = 0
            while True:
                rows = conn.execute(
                    "SELECT m.id, m.raw FROM messages m WHERE m.id > ? AND NOT EXISTS"
                    " (SELECT 1 FROM message_text t WHERE t.id = m.id) ORDER BY m.id LIMIT ?",
                    (after, _FILL_BATCH),
                ).fetchall()
                if not rows:
                    return
                values = []
                for mid, raw in rows:
                    msg = parser.parsebytes(bytes(raw))
                    values.append((mid, searchable_text(msg), int(has_attachment(msg))))
                after = rows[-1][0]
                # One transaction (one sync) per batch, not one per row.
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR IGNORE INTO message_text VALUES (?,?,?)", values)
                conn.execute("COMMIT")
        finally:
            conn.close()

    def delete(self, message_id: int) -> bool:
        """Delete one message; False when there was none with that id.

        One statement on its own connection rather than a writer job: SQLite's locking
        (WAL, busy timeout) serialises it with the writer, whose group commit stays as is,
        and no listener is told (the caller knows which message went)."""
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                deleted = conn.execute("DELETE FROM messages WHERE id = ?", (message_id,)).rowcount
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise StoreError(f"Cannot delete from the message store {self.path}: {e}.") from e
        return deleted > 0
