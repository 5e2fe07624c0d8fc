"""The desk's login sessions, kept in a small SQLite table so that they survive a restart.

Agents stay logged in when ``serve`` is restarted (an upgrade, a crash). Lookups are
served from memory; the table is read once at start and written on login and logout
only. It holds a SHA-256 of each session key, never the key: a copy of the file logs
nobody in. A logout deletes the row, so a logged-out cookie stays dead after a restart.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Session", "SessionTable"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS sessions (
    key_hash TEXT PRIMARY KEY,
    csrf TEXT NOT NULL,
    expires REAL NOT NULL
)"""


@dataclass
class Session:
    csrf: str
    expires: float


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class SessionTable:
    """Sessions by cookie key, at most ``most`` of them (the oldest go first)."""

    def __init__(self, path: Path | None, *, seconds: float, most: int = 1000) -> None:
        self.path = path
        self.seconds = seconds
        self.most = most
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self.problem = ""
        """Why sessions are kept in memory only (the file could not be used), or ''."""
        if path is not None:
            try:
                self._load(path)
            except (sqlite3.Error, OSError) as e:
                self.problem = f"desk sessions are kept in memory only ({path}: {e})"
                self.path = None

    def _connect(self, path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        conn.execute(_SCHEMA)
        return conn

    def _load(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect(path)
        try:
            path.chmod(0o600)
            now = time.time()
            conn.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            rows = conn.execute(
                "SELECT key_hash, csrf, expires FROM sessions ORDER BY expires LIMIT ?",
                (self.most,),
            ).fetchall()
        finally:
            conn.close()
        for key_hash, csrf, expires in rows:
            self._sessions[key_hash] = Session(csrf=csrf, expires=expires)

    def get(self, key: str) -> Session | None:
        """The live session of a cookie key (None: unknown or expired)."""
        if not key:
            return None
        key_hash = _hash(key)
        session = self._sessions.get(key_hash)
        if session is not None and session.expires < time.time():
            self._sessions.pop(key_hash, None)
            return None
        return session

    def create(self) -> tuple[str, Session]:
        """A new session and its cookie key (written to the table: call off the loop)."""
        key = secrets.token_urlsafe(32)
        session = Session(csrf=secrets.token_urlsafe(24), expires=time.time() + self.seconds)
        key_hash = _hash(key)
        with self._lock:
            while len(self._sessions) >= self.most:
                self._sessions.popitem(last=False)
            self._sessions[key_hash] = session
            self._write(
                "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)",
                (key_hash, session.csrf, session.expires),
            )
            self._write(
                "DELETE FROM sessions WHERE key_hash NOT IN "
                "(SELECT key_hash FROM sessions ORDER BY expires DESC LIMIT ?)",
                (self.most,),
            )
        return key, session

    def delete(self, key: str) -> None:
        """End a session (a logout), here and in the table (call off the loop)."""
        key_hash = _hash(key)
        with self._lock:
            self._sessions.pop(key_hash, None)
            self._write("DELETE FROM sessions WHERE key_hash = ?", (key_hash,))

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        if self.path is None:
            return
        try:
            conn = self._connect(self.path)
            try:
                conn.execute(sql, params)
            finally:
                conn.close()
        except sqlite3.Error as e:
            # The login still works for this run; the operator hears why it will not last.
            self.problem = f"desk sessions could not be saved ({self.path}: {e})"
