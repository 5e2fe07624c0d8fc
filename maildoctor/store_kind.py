"""Which of maildoctor's SQLite stores a file is, told by the table only that store has.

Every store makes its tables on open (``CREATE TABLE IF NOT EXISTS``): given another
store's file by mistake (``--db events.sqlite3``), it would quietly add its own tables
to it and go on, and the mistake would show much later as "no record". Each store asks
:func:`other_store` first and refuses such a file in one line that says what it is.
"""

from __future__ import annotations

import sqlite3

__all__ = ["STORE_TABLES", "other_store"]

#: A store -> the table only it has.
STORE_TABLES = {
    "message store": "messages",
    "events store": "events",
    "desk history": "diagnoses",
    "desk sessions": "sessions",
}


def other_store(conn: sqlite3.Connection, kind: str) -> str | None:
    """Why the database open on ``conn`` is not maildoctor's ``kind`` (a key of
    :data:`STORE_TABLES`), or None when it is one or holds no table yet."""
    tables = {
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not str(row[0]).startswith("sqlite_")
    }
    if not tables or STORE_TABLES[kind] in tables:
        return None
    for other, table in STORE_TABLES.items():
        if table in tables:
            return f"it is maildoctor's {other}, not its {kind}"
    shown = ", ".join(sorted(tables)[:3]) + (", ..." if len(tables) > 3 else "")
    return f"it holds another program's tables ({shown}), not maildoctor's {kind}"
