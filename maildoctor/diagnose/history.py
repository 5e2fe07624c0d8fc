"""The desk's history: every diagnosis in one SQLite file, newest first, with a limit.

Each entry keeps what a support agent needs to find and reuse it later (time,
address, ticket type, verdict, advice ids, reply draft) plus the whole diagnosis
as JSON for its permalink. The file is separate from the harness's message store:
pruning captured mail must not lose the record of what a customer was told.
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

from maildoctor.harness.store import like_pattern

__all__ = ["DEFAULT_MAX_ENTRIES", "History", "HistoryEntry", "HistoryError"]

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


class HistoryError(Exception):
    """The history database could not be opened, read or written."""


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
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "result": self.result}


_SUMMARY = "id, created_at, address, normalized, ticket, verdict, advice, draft, lang"


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
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

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

    def add(self, diagnosis: dict[str, Any], *, lang: str, created_at: float | None = None) -> int:
        """Store one diagnosis (``DiagnoseResult.to_dict()``); returns its id."""
        check = diagnosis["check"]
        values = (
            time.time() if created_at is None else created_at,
            check["address"],
            check.get("normalized") or "",
            diagnosis.get("ticket", "not_arrived"),
            check["verdict"],
            json.dumps(diagnosis.get("advice", [])),
            diagnosis.get("reply_draft", ""),
            lang,
            json.dumps(diagnosis, ensure_ascii=False),
        )
        with self._session("write to") as conn:
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute(
                "INSERT INTO diagnoses (created_at, address, normalized, ticket, verdict,"
                " advice, draft, lang, result) VALUES (?,?,?,?,?,?,?,?,?)",
                values,
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

    def search(self, query: str = "", *, limit: int = 50, offset: int = 0) -> list[HistoryEntry]:
        """Entries newest first; ``query`` matches part of the address (any case)."""
        where, params = self._where(query)
        rows = self._query(
            f"SELECT {_SUMMARY} FROM diagnoses{where} ORDER BY id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_entry(r) for r in rows]

    def count(self, query: str = "") -> int:
        where, params = self._where(query)
        return int(self._query(f"SELECT COUNT(*) FROM diagnoses{where}", params)[0][0])

    @staticmethod
    def _where(query: str) -> tuple[str, tuple[Any, ...]]:
        text = query.strip().lower()
        if not text:
            return "", ()
        pattern = like_pattern(text)
        return (
            " WHERE lower(address) LIKE ? ESCAPE '\\' OR normalized LIKE ? ESCAPE '\\'",
            (pattern, pattern),
        )

    def get(self, entry_id: int) -> HistoryEntry | None:
        rows = self._query("SELECT * FROM diagnoses WHERE id = ?", (entry_id,))
        return _entry(rows[0], full=True) if rows else None
