"""The desk's history: every diagnosis in one SQLite file, newest first, with a limit.

Each entry keeps what a support agent needs to find and reuse it later (time,
address, ticket type, verdict, advice ids, reply draft, the agent and the ticket's
own id in the team's tracker) plus the whole diagnosis as JSON for its permalink.
The file is separate from the harness's message store: pruning captured mail must
not lose the record of what a customer was told.
Readers and the writer open short-lived connections (WAL lets them run side by side);
every call is blocking, so the web app runs them in a thread.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maildoctor.errors import StoreFailure
from maildoctor.harness.store import like_pattern
from maildoctor.store_kind import other_store

__all__ = ["DEFAULT_MAX_ENTRIES", "History", "HistoryEntry", "HistoryError", "HistoryFilter"]

DEFAULT_MAX_ENTRIES = 10000
"""Entries kept by default; the oldest beyond it are pruned at each insert."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS diagnoses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    address TEXT NOT NULL,
    normalized TEXT NOT NULL,
    ticket TEXT NOT NULL,
    verdict TEXT NOT NULL,
    advice TEXT NOT NULL,
    draft TEXT NOT NULL,
    lang TEXT NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS diagnoses_address ON diagnoses (normalized);
"""
#: Columns added since the first schema: ``(name, definition)``, added to an existing
#: file when it lacks them (SQLite's ALTER TABLE ADD COLUMN keeps every row).
MIGRATIONS = (
    ("agent", "TEXT NOT NULL DEFAULT ''"),
    ("ticket_id", "TEXT NOT NULL DEFAULT ''"),
)
#: Longest agent name and ticket id kept (free text typed by a person).
MAX_TEAM_FIELD = 200


class HistoryError(StoreFailure):
    """The history database could not be opened, read or written."""


@dataclass(frozen=True, kw_only=True)
class HistoryFilter:
    """What the history list is narrowed to; None or '' means any."""

    ticket: str = ""
    """A ticket type id."""
    verdict: str = ""
    """The verdict the page showed (ok, risky, undeliverable, unknown)."""
    agent: str = ""
    """An agent's name (any case)."""
    since: float | None = None
    """Unix time: entries from then on."""
    until: float | None = None
    """Unix time: entries before then."""


@dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    """One stored diagnosis."""

    id: int
    created_at: float
    """Unix time of the diagnosis."""
    address: str
    """The address as the agent gave it."""
    normalized: str
    """Its normalized form ('' when it could not be parsed)."""
    ticket: str
    verdict: str
    advice: tuple[str, ...]
    """Advice ids in the order the diagnosis gave them."""
    draft: str
    """The reply draft as it was shown."""
    lang: str
    agent: str = ""
    """Who diagnosed it (as they typed their name; '' when not given)."""
    ticket_id: str = ""
    """The ticket's id in the team's tracker ('' when not given)."""
    result: dict[str, Any] | None = None
    """The whole diagnosis JSON (only when one entry is read)."""

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "address": self.address,
            "normalized": self.normalized or None,
            "ticket": self.ticket,
            "verdict": self.verdict,
            "advice": list(self.advice),
            "draft": self.draft,
            "lang": self.lang,
            "agent": self.agent,
            "ticket_id": self.ticket_id,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "result": self.result}


_SUMMARY = (
    "id, created_at, address, normalized, ticket, verdict, advice, draft, lang, agent, ticket_id"
)


def _entry(row: sqlite3.Row, *, full: bool = False) -> HistoryEntry:
    return HistoryEntry(
        id=row["id"],
        created_at=row["created_at"],
        address=row["address"],
        normalized=row["normalized"],
        ticket=row["ticket"],
        verdict=row["verdict"],
        advice=tuple(json.loads(row["advice"])),
        draft=row["draft"],
        lang=row["lang"],
        agent=row["agent"],
        ticket_id=row["ticket_id"],
        result=json.loads(row["result"]) if full else None,
    )


class History:
    """The diagnoses in one SQLite file, at most ``max_entries`` of them (0: no limit)."""

    def __init__(self, path: Path, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.path = Path(path)
        self.max_entries = max_entries
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise HistoryError(f"Cannot open the desk history {self.path}: {e}.") from e
        with self._session("open") as conn:
            other = other_store(conn, "desk history")
            if other is not None:
                raise HistoryError(
                    f"Cannot open the desk history {self.path}: {other}. Give another --history-db."
                )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            have = {r["name"] for r in conn.execute("PRAGMA table_info(diagnoses)")}
            for name, definition in MIGRATIONS:
                if name not in have:
                    conn.execute(f"ALTER TABLE diagnoses ADD COLUMN {name} {definition}")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @contextmanager
    def _session(self, doing: str) -> Iterator[sqlite3.Connection]:
        """A short-lived connection, closed after; a SQLite error is one HistoryError line
        ("Cannot {doing} the desk history ...")."""
        try:
            conn = self._connect()
            try:
                yield conn
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise HistoryError(f"Cannot {doing} the desk history {self.path}: {e}.") from e

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._session("read") as conn:
            return conn.execute(sql, params).fetchall()

    def add(
        self,
        diagnosis: dict[str, Any],
        *,
        lang: str,
        created_at: float | None = None,
        replace: int | None = None,
    ) -> int:
        """Store one diagnosis (``DiagnoseResult.to_dict()``, with the desk's ``agent``,
        ``ticket_id`` and shown ``verdict_state`` when it has them); returns its id.
        ``replace``: the id of an entry this one stands for (the same diagnosis in the
        other language), rewritten in place; a new entry when there is none."""
        check = diagnosis["check"]
        values = (
            check["address"],
            check.get("normalized") or "",
            diagnosis.get("ticket", "not_arrived"),
            diagnosis.get("verdict_state") or check["verdict"],
            json.dumps(diagnosis.get("advice", [])),
            diagnosis.get("reply_draft", ""),
            lang,
            json.dumps(diagnosis, ensure_ascii=False),
            str(diagnosis.get("agent") or "")[:MAX_TEAM_FIELD],
            str(diagnosis.get("ticket_id") or "")[:MAX_TEAM_FIELD],
        )
        with self._session("write to") as conn:
            conn.execute("BEGIN IMMEDIATE")
            if replace is not None:
                cur = conn.execute(
                    "UPDATE diagnoses SET address=?, normalized=?, ticket=?, verdict=?,"
                    " advice=?, draft=?, lang=?, result=?, agent=?, ticket_id=? WHERE id=?",
                    (*values, replace),
                )
                if cur.rowcount:
                    conn.execute("COMMIT")
                    return replace
            cur = conn.execute(
                "INSERT INTO diagnoses (address, normalized, ticket, verdict, advice, draft,"
                " lang, result, agent, ticket_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (*values, time.time() if created_at is None else created_at),
            )
            if self.max_entries > 0:
                conn.execute(
                    "DELETE FROM diagnoses WHERE id <= (SELECT id FROM diagnoses"
                    " ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (self.max_entries,),
                )
            conn.execute("COMMIT")
        assert cur.lastrowid is not None
        return cur.lastrowid

    def search(
        self,
        query: str = "",
        *,
        limit: int = 50,
        offset: int = 0,
        filters: HistoryFilter | None = None,
    ) -> list[HistoryEntry]:
        """Entries newest first; ``query`` matches part of the address, the agent or the
        ticket id (any case), ``filters`` narrow by type, verdict, agent and date."""
        where, params = self._where(query, filters or HistoryFilter())
        rows = self._query(
            f"SELECT {_SUMMARY} FROM diagnoses{where} ORDER BY id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_entry(r) for r in rows]

    def count(self, query: str = "", filters: HistoryFilter | None = None) -> int:
        where, params = self._where(query, filters or HistoryFilter())
        return int(self._query(f"SELECT COUNT(*) FROM diagnoses{where}", params)[0][0])

    @staticmethod
    def _where(query: str, filters: HistoryFilter) -> tuple[str, tuple[Any, ...]]:
        clauses: list[str] = []
        params: list[Any] = []
        text = query.strip().lower()
        if text:
            pattern = like_pattern(text)
            clauses.append(
                "(lower(address) LIKE ? ESCAPE '\\' OR normalized LIKE ? ESCAPE '\\'"
                " OR lower(agent) LIKE ? ESCAPE '\\' OR lower(ticket_id) LIKE ? ESCAPE '\\')"
            )
            params += [pattern] * 4
        if filters.ticket:
            clauses.append("ticket = ?")
            params.append(filters.ticket)
        if filters.verdict:
            clauses.append("verdict = ?")
            params.append(filters.verdict)
        if filters.agent:
            clauses.append("lower(agent) = ?")
            params.append(filters.agent.strip().lower())
        if filters.since is not None:
            clauses.append("created_at >= ?")
            params.append(filters.since)
        if filters.until is not None:
            clauses.append("created_at < ?")
            params.append(filters.until)
        return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), tuple(params)

    def agents(self) -> list[str]:
        """Every agent name in the history (for the page's filter), in order."""
        rows = self._query("SELECT DISTINCT agent FROM diagnoses WHERE agent != '' ORDER BY 1")
        return [r["agent"] for r in rows]

    def get(self, entry_id: int) -> HistoryEntry | None:
        rows = self._query("SELECT * FROM diagnoses WHERE id = ?", (entry_id,))
        return _entry(rows[0], full=True) if rows else None
