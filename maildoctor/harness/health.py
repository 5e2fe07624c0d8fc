"""Is the message store usable? Checked at start, and failures told to the operator.

A store that cannot be written makes every client get ``451``; the operator
must hear why, once, not once per message (:class:`FailureLog`). A file with
damaged pages opens fine and fails later, so :func:`check_store` runs
``PRAGMA quick_check`` and a write that is rolled back before serving.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from maildoctor.store_kind import other_store

__all__ = ["FailureLog", "StoreProblem", "check_store", "describe_error", "quick_check"]


class StoreProblem(Exception):
    """The store is there but cannot be used (damaged, read-only); the text says what to do."""


def describe_error(path: Path, error: BaseException, *, writing: bool = False) -> str:
    """One sentence for an error met opening, checking or writing the store, with what to do."""
    if isinstance(error, StoreProblem):
        return str(error)
    text = str(error).rstrip(".")
    name = getattr(error, "sqlite_errorname", "")
    if isinstance(error, IsADirectoryError) or (path.is_dir()):
        return f"Cannot open the message store {path}: it is a directory. Give a file with --db."
    if name == "SQLITE_NOTADB" or "not a database" in text:
        return (
            f"Cannot open the message store {path}: it is not an SQLite database. "
            "Give another --db, or move the file away."
        )
    if name == "SQLITE_CORRUPT" or "malformed" in text:
        return _damaged(path, text)
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return _read_only(path, text)
    if name == "SQLITE_FULL" or "disk is full" in text:
        return f"Cannot write to the message store {path}: {text}. Free some disk space."
    if name == "SQLITE_CANTOPEN" or isinstance(error, OSError):
        return (
            f"Cannot open the message store {path}: {text}. Check that its folder exists "
            "and can be written, or give another --db."
        )
    verb = "write to" if writing else "use"
    return f"Cannot {verb} the message store {path}: {text}."


def _damaged(path: Path, detail: str) -> str:
    return (
        f"The message store {path} is damaged ({detail}). Move it away (a new one is made "
        f"at the next start) or recover what it holds with `sqlite3 {path} .recover`."
    )


def _read_only(path: Path, detail: str) -> str:
    return (
        f"The message store {path} cannot be written ({detail}). Check the permissions of "
        "the file and its folder, or give another --db."
    )


def check_store(conn: sqlite3.Connection, path: Path) -> None:
    """Raise StoreProblem unless the open database is whole and writable.

    ``quick_check`` reads every page (O(N), without the index cross-checks of
    ``integrity_check``); the write probe changes ``user_version`` inside a
    transaction that is rolled back, so nothing stays.
    """
    try:
        other = other_store(conn, "message store")
        rows = conn.execute("PRAGMA quick_check(3)").fetchall()
    except sqlite3.DatabaseError as e:
        raise StoreProblem(_damaged(path, str(e))) from e
    if other is not None:
        raise StoreProblem(f"Cannot open the message store {path}: {other}. Give another --db.")
    _raise_damage(path, rows)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute(f"PRAGMA user_version = {int(version)}")
        finally:
            conn.execute("ROLLBACK")
    except sqlite3.OperationalError as e:
        if "readonly" in str(e) or getattr(e, "sqlite_errorname", "").startswith("SQLITE_READ"):
            raise StoreProblem(_read_only(path, str(e))) from e
        raise


def _raise_damage(path: Path, rows: list[tuple[object, ...]]) -> None:
    # quick_check's rows may hold several lines each ("*** in database main ***\nPage 8: ...").
    lines = [line.strip() for r in rows if r[0] != "ok" for line in str(r[0]).splitlines()]
    problems = [line for line in lines if line and not line.startswith("***")]
    if lines:
        raise StoreProblem(_damaged(path, "; ".join(problems[:2]) or "quick_check failed"))


class FailureLog:
    """One stderr line per failing cause at most every ``interval`` seconds, with a count.

    A disk that filled up fails every message: the operator needs the cause and
    how often, not a line per client.
    """

    def __init__(
        self,
        path: Path,
        *,
        interval: float = 10.0,
        write: Callable[[str], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.interval = interval
        self.failures = 0
        """Write failures since the store opened."""
        self.last_error = ""
        """The last failure's cause (empty while none)."""
        self._write = write or (lambda line: print(line, file=sys.stderr, flush=True))
        self._clock = clock
        self._lock = threading.Lock()
        self._last_said: dict[str, float] = {}
        self._quiet: dict[str, int] = {}
        self.damage = ""
        """What a read or a scheduled check found damaged (empty while nothing)."""

    def report(self, error: BaseException, *, messages: int = 1) -> None:
        """Count a failed write of ``messages`` messages; say so unless said lately."""
        cause = describe_error(self.path, error, writing=True)
        with self._lock:
            self.failures += messages
            self.last_error = cause
            now = self._clock()
            said = self._last_said.get(cause)
            if said is not None and now - said < self.interval:
                self._quiet[cause] = self._quiet.get(cause, 0) + messages
                return
            self._last_said[cause] = now
            quiet = self._quiet.pop(cause, 0)
        more = f" ({quiet} more since the last report)" if quiet else ""
        lost = "a message was" if messages == 1 else f"{messages} messages were"
        self._write(f"maildoctor: {lost} not stored (clients got 451): {cause}{more}")

    def damaged(self, error: BaseException) -> bool:
        """Tell a damaged store found while serving (a failed read, a scheduled
        ``quick_check``) once, with the advice given at start; False when it is not
        damage (a locked or missing file is said where it happens)."""
        cause = describe_error(self.path, error)
        if not (isinstance(error, StoreProblem) or "is damaged" in cause):
            return False
        with self._lock:
            if self.damage:
                return True
            self.damage = cause
        self._write(f"maildoctor: {cause}")
        return True


def quick_check(path: Path) -> None:
    """Raise StoreProblem when the file's pages are damaged (a scheduled check while serving)."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        try:
            rows = conn.execute("PRAGMA quick_check(3)").fetchall()
        except sqlite3.DatabaseError as e:
            raise StoreProblem(_damaged(path, str(e))) from e
    finally:
        conn.close()
    _raise_damage(path, rows)
