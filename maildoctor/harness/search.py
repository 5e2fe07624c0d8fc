"""Finding and deleting single captured messages (the web list's search and delete button).

Beside :class:`~maildoctor.harness.store.Store` rather than in it: reads open their
own short-lived connection as the store's readers do, and deleting one row is a
single statement that SQLite's locking serialises with the store's writer thread
(WAL, busy timeout), so the writer's group commit is untouched.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from maildoctor.harness.records import StoredMessage, from_row
from maildoctor.harness.store import _SUMMARY_COLUMNS, Store, StoreError

__all__ = ["delete_message", "search_messages"]

#: What ``?q=`` looks in: the subject, the envelope and header addresses, and each
#: recipient's decision (outcome, rule, the carrier's rule name, the reply).
_FIELDS = ("subject", "mail_from", "rcpt_tos", "from_header", "decisions")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_messages(
    store: Store, query: str, *, limit: int = 100, offset: int = 0
) -> tuple[list[StoredMessage], int]:
    """Summaries of the messages matching every word of ``query``, newest first, and how
    many match in all. Each word matches part of any field (case-insensitive for ASCII)."""
    words = query.split()
    clauses = []
    params: list[str | int] = []
    for word in words:
        clauses.append("(" + " OR ".join(f"{f} LIKE ? ESCAPE '\\'" for f in _FIELDS) + ")")
        params += [_like(word)] * len(_FIELDS)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    try:
        conn = _connect(store.path)
        try:
            total = int(conn.execute(f"SELECT COUNT(*) FROM messages{where}", params).fetchone()[0])
            rows = conn.execute(
                f"SELECT {_SUMMARY_COLUMNS} FROM messages{where} ORDER BY id DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise StoreError(f"Cannot read the message store {store.path}: {e}.") from e
    return [from_row(r) for r in rows], total


def delete_message(store: Store, message_id: int) -> bool:
    """Delete one message; False when there was none with that id."""
    try:
        conn = _connect(store.path)
        try:
            deleted = conn.execute("DELETE FROM messages WHERE id = ?", (message_id,)).rowcount
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise StoreError(f"Cannot delete from the message store {store.path}: {e}.") from e
    return deleted > 0
