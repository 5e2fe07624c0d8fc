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

Searching stays fast at 100,000 messages through an FTS5 index with the trigram
tokenizer (substrings of any script, Japanese included, with no word splitting):
the index narrows, and the same ``LIKE`` conditions as before decide on what it
let through, so a query means exactly what it meant without the index. Messages
are indexed by the search that needs them, not by the writer: the header fields
of every message that came since, in one SQL statement a batch (~0.015 ms a
message), and the decoded body text only for a search in bodies (a MIME parse in
Python, ~0.15 ms a message). In the writer's small group commits the header
fields alone cost ~0.03-0.08 ms a message (FTS5 writes a segment each commit):
up to a third more CPU for the SMTP side, for messages mostly never searched.
Deleting a message, pruning and "delete all" clear its index rows in the same
transaction.
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
from dataclasses import dataclass
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
    summary_of,
)

__all__ = [
    "TRIAL_HELO",
    "Delivery",
    "IndexWriteError",
    "NewMessage",
    "SearchResult",
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
CREATE INDEX IF NOT EXISTS messages_list ON messages (id, helo, received_at);
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)
    WITHOUT ROWID;
"""
#: ``messages_list``: the list, its pages, its total, ``tag:trial``, ``before:`` and
#: ``after:`` read this small index instead of rows that carry the raw message.
#: ``store_meta``: ``header_upto``, every message up to this id has its header fields in
#: the index; ``text_upto``, its body text too.

#: The searchable text of each message (``rowid`` = ``messages.id``). ``detail=none``
#: keeps it about half the size: no positions, so no phrase queries; the index is asked
#: for rows holding every trigram of a word, and LIKE checks the word itself
#: (``columnsize=0``: no ranking, so no table of column sizes).
#: ``attachments`` and ``body`` are NULL until the body is indexed.
SEARCH_TABLE = """
CREATE VIRTUAL TABLE IF NOT EXISTS message_search USING fts5 (
    attachments UNINDEXED, subject, mail_from, rcpt_tos, from_header, decisions, message_id,
    body, tokenize = 'trigram', detail = 'none', columnsize = 0
)
"""
#: The schema version (``PRAGMA user_version``): 3 has ``message_search`` filled by the
#: searches (2 filled it in the writer; 0 had ``message_text``, decoded bodies and no
#: index), migrated when the store is opened.
SCHEMA_VERSION = 3
#: Most matches counted for a total; above it the total is "at least" this.
COUNT_CAP = 10_000
#: Messages searched (the newest) by a query the index cannot narrow: a word shorter
#: than a trigram (Japanese 様, 解約) with no longer word beside it.
SCAN_CAP = 10_000
_TEXT_BATCH = 200
_HEADER_BATCH = 2000

_SUMMARY_COLUMNS = (
    "id, received_at, mail_from, rcpt_tos, subject, from_header, message_id, size, peer, helo,"
    " reply, decisions"
)
_SUMMARY_IN_M = ", ".join(f"m.{c.strip()}" for c in _SUMMARY_COLUMNS.split(","))

#: What a plain word of :meth:`Store.search` looks in (``decisions`` holds each
#: recipient's outcome, rule, carrier rule name and reply as JSON; ``s.body`` the text).
_SEARCHED = (
    "m.subject",
    "m.mail_from",
    "m.rcpt_tos",
    "m.from_header",
    "m.decisions",
    "m.message_id",
    "s.body",
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
#: The terms whose value is text the index holds (``rule:`` in ``decisions``).
_TEXT_FIELDS = frozenset({"", "to", "from", "subject", "rule"})
#: Trigrams asked of the index for one word at most (each narrows; the LIKE decides).
_MAX_TRIGRAMS = 12
_FOUND = "SELECT rowid FROM message_search WHERE message_search MATCH ?"


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
        return "coalesce(s.attachments, 0) = 1", []
    return "m.helo = ?", [TRIAL_HELO]  # tag:trial


def _trigrams(value: str) -> list[str]:
    """Some of ``value``'s 3-character pieces (first and last always): a row holding
    ``value`` holds them all. Empty for a value shorter than 3 characters."""
    pieces = list(dict.fromkeys(value[i : i + 3] for i in range(len(value) - 2)))
    if len(pieces) <= _MAX_TRIGRAMS:
        return pieces
    step = (len(pieces) - 1) / (_MAX_TRIGRAMS - 1)
    return [pieces[round(i * step)] for i in range(_MAX_TRIGRAMS)]


def _indexed(term: Term) -> bool:
    """Whether the index can find ``term``'s rows (a text of 3 characters or more; a
    ``rule:`` value only when it reads the same inside the JSON of the decisions)."""
    if term.field not in _TEXT_FIELDS or len(term.value) < 3:
        return False
    return term.field != "rule" or (
        not any(c in term.value for c in '"\\') and term.value.isprintable()
    )


def _fts_query(values: list[str]) -> str:
    """An FTS5 query for rows holding every trigram of every value (quoted: no operators)."""
    pieces = dict.fromkeys(p for v in values for p in _trigrams(v))
    return " AND ".join('"' + p.replace('"', '""') + '"' for p in pieces)


@dataclass(frozen=True)
class SearchResult:
    """One page of a search and what is known of the whole."""

    messages: list[StoredMessage]
    """The page, newest first (summaries)."""
    total: int
    """Matches in all, or :data:`COUNT_CAP` when there are more (then ``exact`` is False)."""
    exact: bool = True
    searched: int | None = None
    """Set when only the newest ``searched`` messages were searched (a word too short
    for the index and nothing else it could narrow); None: all of them."""


class StoreError(StoreFailure):
    """The database could not be opened or written."""


class IndexWriteError(StoreError):
    """A search had to index new messages and could not write (a full disk...)."""


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
        self._stored_listeners: list[Callable[[Sequence[StoredMessage]], None]] = []
        self._finishers: list[Callable[[], None]] = []
        # SimpleQueue: put is one C call; Queue's Condition cost the event loop ~3% (py-spy).
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._closing = threading.Lock()
        """Held while queueing, so nothing is queued behind the writer's stop sign."""
        self._indexing = threading.Lock()
        """One body indexer at a time (two searches at once would decode the same)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not self.path.exists() or self.path.stat().st_size == 0
            conn = self._connect()
            try:
                if fresh:
                    # Made under a rollback journal, then WAL: the new file's pages are
                    # written once (on a nearly full disk the log would hold them twice).
                    _migrate(conn)
                check_store(conn, self.path)  # damaged, read-only, another store: said as such
                conn.execute("PRAGMA journal_mode=WAL")  # after: not on a file that is not ours
                _migrate(conn)
            except BaseException:
                conn.close()
                raise
        except Exception as e:
            # Whatever the file is (a directory, text, damaged, read-only): one sentence.
            raise StoreError(describe_error(self.path, e)) from e
        # The writer gets this connection: opened in its own thread, it could come after
        # the server has taken every file descriptor (serve under a low `ulimit -n`,
        # seen in CI under load), and a writer that cannot open stops every message.
        self._writer = threading.Thread(
            target=self._write_loop, args=(conn,), name="maildoctor-store", daemon=True
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

    def subscribe_stored(self, listener: Callable[[Sequence[StoredMessage]], None]) -> None:
        """Call ``listener(messages)`` from the writer thread after each commit that added
        messages, with their summaries (no raw bytes, no transcript) as :meth:`recent`
        would read them: a listener that needs their fields reads nothing back. It must
        return at once (hand them to a thread of its own): the writer waits for it."""
        self._stored_listeners.append(listener)

    def when_closed(self, finish: Callable[[], None]) -> None:
        """Call ``finish()`` at the end of :meth:`close`, once the last commit has been
        announced: a listener's thread writes what it was handed before the harness stops."""
        self._finishers.append(finish)

    @property
    def stopped(self) -> bool:
        """Closed and its writer gone: no message will be added (nor announced) again."""
        return self._closed and not self._writer.is_alive()

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
        for finish in self._finishers:
            with contextlib.suppress(Exception):
                finish()

    def _write_loop(self, conn: sqlite3.Connection) -> None:
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
        new: list[NewMessage] = []
        deleted = False
        try:
            conn.execute("BEGIN IMMEDIATE")
            for kind, payload, _ in jobs:
                if kind == "add":
                    rcpt_tos = json.dumps(list(payload.rcpt_tos))
                    decisions = json.dumps(
                        [d.to_dict() for d in payload.deliveries], ensure_ascii=False
                    )
                    cur = conn.execute(
                        "INSERT INTO messages (received_at, mail_from, rcpt_tos, subject,"
                        " from_header, message_id, size, peer, helo, reply, transcript,"
                        " decisions, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            payload.received_at,
                            payload.mail_from,
                            rcpt_tos,
                            payload.subject,
                            payload.from_header,
                            payload.message_id,
                            len(payload.raw),
                            payload.peer,
                            payload.helo,
                            payload.reply,
                            "\n".join(payload.transcript),
                            decisions,
                            payload.raw,
                        ),
                    )
                    assert cur.lastrowid is not None
                    results.append(cur.lastrowid)
                    added.append(cur.lastrowid)
                    new.append(payload)
                else:
                    results.append(conn.execute("DELETE FROM messages").rowcount)
                    # Dropped and made anew: a DELETE would read every row's text back.
                    conn.execute("DROP TABLE message_search")
                    conn.execute(SEARCH_TABLE)
                    deleted = True
            if self.max_messages > 0 and added:
                cut = conn.execute(
                    "SELECT id FROM messages ORDER BY id DESC LIMIT 1 OFFSET ?",
                    (self.max_messages,),
                ).fetchone()
                if cut is not None:
                    conn.execute("DELETE FROM messages WHERE id <= ?", (cut[0],))
                    conn.execute("DELETE FROM message_search WHERE rowid <= ?", (cut[0],))
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
        if added and self._stored_listeners:
            stored = [summary_of(i, m) for i, m in zip(added, new, strict=True)]
            for each in self._stored_listeners:
                with contextlib.suppress(Exception):
                    each(stored)

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
    ) -> SearchResult:
        """Summaries of the messages matching ``query`` (the language of
        :mod:`maildoctor.harness.query`), newest first, and how many match in all.
        ``trials=False`` leaves out the delivery trials unless the query asks for
        ``tag:trial``. Raises QueryError for a query that cannot be searched.

        A query with a word of 3 characters or more runs from the index (the rows
        holding its trigrams), the others over the list's small index; the total is
        counted up to :data:`COUNT_CAP`. A text term that the index cannot narrow
        and nothing beside it that it can: only the newest :data:`SCAN_CAP` messages
        are searched (one LIKE per message), and the result says so."""
        terms = parse_query(query)
        if not trials and not any(t.field == "tag" for t in terms):
            terms.append(Term("tag", "trial", negated=True))
        clauses: list[str] = []
        params: list[str | int | float] = []
        for term in terms:
            clause, values = _clause(term)
            if term.negated and _indexed(term):
                # Only the rows the index finds are read for the LIKE.
                clause = f"m.id IN ({_FOUND}) AND {clause}"
                values = [_fts_query([term.value]), *values]
            clauses.append(f"NOT ({clause})" if term.negated else clause)
            params += values
        narrow = [t.value for t in terms if _indexed(t) and not t.negated]
        text = any(t.field in _TEXT_FIELDS for t in terms)
        unindexed = any(t.field in _TEXT_FIELDS and not _indexed(t) for t in terms)
        needs_body = any(t.field in ("", "has") for t in terms)
        if text or needs_body:
            try:
                self._index(bodies=needs_body)
            except sqlite3.Error as e:
                # Indexing writes: a full disk or a read-only file is said as such.
                if isinstance(e, sqlite3.DatabaseError):
                    self.failures.damaged(e)
                raise IndexWriteError(describe_error(self.path, e, writing=True)) from e
        try:
            searched = None
            if narrow:
                # From the index: the rows holding every trigram, newest first.
                source = "message_search s JOIN messages m ON m.id = s.rowid"
                clauses.insert(0, "s.message_search MATCH ?")
                params.insert(0, _fts_query(narrow))
                order = "s.rowid"
            else:
                join = " LEFT JOIN message_search s ON s.rowid = m.id" if needs_body else ""
                source = f"messages m{join}"
                order = "m.id"
                if unindexed:  # one LIKE a message, over the newest only
                    stored = self.count()
                    if stored > SCAN_CAP:
                        searched = SCAN_CAP
                        clauses.append(
                            "m.id >= (SELECT id FROM messages ORDER BY id DESC LIMIT 1 OFFSET ?)"
                        )
                        params.append(SCAN_CAP - 1)
            where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
            if text or needs_body:
                found = int(
                    self._read(
                        f"SELECT COUNT(*) FROM (SELECT 1 FROM {source}{where} LIMIT ?)",
                        [*params, COUNT_CAP + 1],
                    )[0][0]
                )
                total, exact = min(found, COUNT_CAP), found <= COUNT_CAP
            else:  # the list, trials, dates: an exact count over the small index
                total, exact = (
                    int(self._read(f"SELECT COUNT(*) FROM {source}{where}", params)[0][0]),
                    True,
                )
            # The page's ids first (the small index or the search index), then only
            # their rows: an offset skips index entries, not rows that carry raw bytes.
            rows = self._read(
                f"SELECT {_SUMMARY_IN_M} FROM messages m WHERE m.id IN"
                f" (SELECT {order} FROM {source}{where} ORDER BY {order} DESC LIMIT ? OFFSET ?)"
                " ORDER BY m.id DESC",
                [*params, limit, offset],
            )
        except sqlite3.Error as e:
            raise StoreError(f"Cannot read the message store {self.path}: {e}.") from e
        if not exact:  # "at least": never fewer than the page already shows
            total = max(total, offset + len(rows))
        return SearchResult([from_row(r) for r in rows], total, exact, searched)

    def _index(self, *, bodies: bool) -> None:
        """Index what came since the last search: the header fields of new messages (one
        INSERT ... SELECT a batch, C only), then with ``bodies`` their decoded text
        (decoded with no lock held). Each batch is one short transaction: SQLite
        serialises it with the writer thread, whose group commits wait at most one batch."""
        with self._indexing:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                while True:
                    # Read under the write lock: another process indexing the same file
                    # has either done these rows or not begun them.
                    conn.execute("BEGIN IMMEDIATE")
                    upto = _upto(conn, "header_upto")
                    last = conn.execute(
                        "SELECT max(id) FROM (SELECT id FROM messages WHERE id > ?"
                        " ORDER BY id LIMIT ?)",
                        (upto, _HEADER_BATCH),
                    ).fetchone()[0]
                    if last is None:
                        conn.execute("COMMIT")
                        break
                    conn.execute(
                        "INSERT INTO message_search (rowid, subject, mail_from, rcpt_tos,"
                        " from_header, decisions, message_id) SELECT id, subject, mail_from,"
                        " rcpt_tos, from_header, decisions, message_id FROM messages"
                        " WHERE id > ? AND id <= ?",
                        (upto, last),
                    )
                    _set_upto(conn, "header_upto", last)
                    conn.execute("COMMIT")
                while bodies and self._index_bodies(conn):
                    pass
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.close()

    def _index_bodies(self, conn: sqlite3.Connection) -> bool:
        """Add one batch of decoded bodies to rows the index has; False when none was left."""
        from email import policy as email_policy
        from email.parser import BytesParser

        from maildoctor.mail.decode import has_attachment, searchable_text

        upto = _upto(conn, "text_upto")
        rows = conn.execute(
            "SELECT id, raw FROM messages WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
            (upto, _upto(conn, "header_upto"), _TEXT_BATCH),
        ).fetchall()
        if not rows:
            return False
        parser = BytesParser(policy=email_policy.compat32)
        values = []
        for mid, raw in rows:
            msg = parser.parsebytes(bytes(raw))
            values.append((int(has_attachment(msg)), searchable_text(msg), mid))
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "UPDATE message_search SET attachments = ?, body = ? WHERE rowid = ?", values
        )
        _set_upto(conn, "text_upto", rows[-1][0])
        conn.execute("COMMIT")
        return True

    def delete(self, message_id: int) -> bool:
        """Delete one message and its index rows; False when there was none with that id.

        One transaction on its own connection rather than a writer job: SQLite's locking
        (WAL, busy timeout) serialises it with the writer, whose group commit stays as is,
        and no listener is told (the caller knows which message went)."""
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                deleted = conn.execute("DELETE FROM messages WHERE id = ?", (message_id,)).rowcount
                conn.execute("DELETE FROM message_search WHERE rowid = ?", (message_id,))
                conn.execute("COMMIT")
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise StoreError(f"Cannot delete from the message store {self.path}: {e}.") from e
        return deleted > 0


def _upto(conn: sqlite3.Connection, key: str) -> int:
    row = conn.execute("SELECT value FROM store_meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row else 0


def _set_upto(conn: sqlite3.Connection, key: str, value: int) -> None:
    """Move a mark forward, never back (another process may have gone further)."""
    conn.execute(
        "INSERT INTO store_meta VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
        (key, value),
    )


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION` in one transaction (nothing to do when
    it is there). An older store's index (or its ``message_text``) is dropped and made
    anew, empty: the next search fills it, as it does for new mail."""
    if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    if sqlite3.sqlite_version_info < (3, 34):
        raise StoreProblem(
            f"SQLite {sqlite3.sqlite_version} is older than 3.34, whose FTS5 trigram"
            " tokenizer the message search needs: use a Python built with a newer SQLite."
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("DROP TABLE IF EXISTS message_text")
        conn.execute("DROP TABLE IF EXISTS message_search")
        conn.execute(SEARCH_TABLE)
        conn.execute("DELETE FROM store_meta WHERE key IN ('header_upto', 'text_upto')")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    # The new tables' pages into the file, and the log emptied: a small disk holds the
    # schema once, not twice.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
