"""The harness store's search index (issue 24): an FTS5 trigram index narrows, the same
LIKE conditions decide, so a query finds exactly what it found before the index; short
Japanese words search the newest messages and say so; totals are capped and say so;
deleting, pruning and "delete all" clear the index; the searches fill it, not the
writer; an old store is migrated on open.
A real SQLite file, and HTTP against a real harness for the API's headers."""

from __future__ import annotations

import asyncio
import json
import random
import smtplib
import sqlite3
import string
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email import policy as email_policy
from email.parser import BytesParser
from pathlib import Path

import pytest

import maildoctor.harness.store as store_module
from maildoctor.harness.records import NewMessage
from maildoctor.harness.server import HarnessThread
from maildoctor.harness.store import Store
from maildoctor.mail.decode import searchable_text
from maildoctor.web.app import run_in_thread
from tests import test_faults_matrix as fault_tests

full_disk = fault_tests.full_disk  # the fixture: a folder for a tiny private tmpfs

_ASCII_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
#: Mixed scripts and case: ASCII (LIKE ignores its case), é/É and fullwidth Ａ/ａ (LIKE
#: does not), Japanese, and LIKE's own wildcards and a quote taken literally.
_ALPHABET = 'abcABC xyz-様髙橋注文番号ご確認ÉéＡａ%_".@'


def _message(subject: str, to: str, body: str) -> NewMessage:
    raw = (
        f"From: dev@lentrance.com\r\nTo: {to}\r\nSubject: x\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}\r\n"
    ).encode()
    return NewMessage(
        mail_from="dev@lentrance.com",
        rcpt_tos=(to,),
        raw=raw,
        deliveries=(),
        subject=subject,
        from_header="Dev <dev@lentrance.com>",
        message_id=f"<{abs(hash(body))}@lentrance.com>",
    )


def _fields(m: NewMessage) -> dict[str, list[str]]:
    """What each field of the query language looks in, as the store keeps it."""
    body = searchable_text(BytesParser(policy=email_policy.compat32).parsebytes(m.raw))
    rcpt = json.dumps(list(m.rcpt_tos))
    return {
        "": [m.subject, m.mail_from, rcpt, m.from_header, "[]", m.message_id, body],
        "to": [rcpt],
        "from": [m.mail_from, m.from_header],
        "subject": [m.subject],
    }


def _like(value: str, texts: list[str]) -> bool:
    """SQLite's LIKE '%value%': a substring, ASCII case ignored, no other folding."""
    return any(value.translate(_ASCII_FOLD) in t.translate(_ASCII_FOLD) for t in texts)


def _add(store: Store, messages: list[NewMessage]) -> list[int]:
    async def run() -> list[int]:
        return [await store.add(m) for m in messages]

    return asyncio.run(run())


def _text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(n))


def test_the_index_finds_exactly_what_like_finds(tmp_path: Path) -> None:
    rng = random.Random(24)
    messages = [
        _message(_text(rng, 12), f"u{i}@{rng.choice(['docomo.ne.jp', 'ezweb.ne.jp'])}",
                 _text(rng, 60))
        for i in range(80)
    ]  # fmt: skip
    store = Store(tmp_path / "s.sqlite3", max_messages=0)
    try:
        ids = _add(store, messages)
        for _ in range(300):
            source = rng.choice(messages)
            field = rng.choice(["", "", "to", "from", "subject"])
            texts = _fields(source)[field]
            text = rng.choice(texts)
            start = rng.randrange(len(text))
            value = text[start : start + rng.choice([1, 2, 3, 4, 6, 9])].strip().replace('"', "")
            if not value or value.startswith("-") or ":" in value:
                continue
            value = "".join(c.swapcase() if rng.random() < 0.3 else c for c in value)
            negated = rng.random() < 0.2
            query = ("-" if negated else "") + (f"{field}:" if field else "") + f'"{value}"'
            found = store.search(query, limit=1000)
            expected = [
                i for i, m in zip(ids, messages, strict=True)
                if _like(value, _fields(m)[field]) != negated
            ][::-1]  # fmt: skip
            assert [m.id for m in found.messages] == expected, query
            assert (found.total, found.exact, found.searched) == (len(expected), True, None)
    finally:
        store.close()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[HarnessThread]:
    with run_in_thread(tmp_path / "h.sqlite3") as h:
        yield h


def _send(h: HarnessThread, body: str, n: int) -> None:
    with smtplib.SMTP(*h.smtp_address, timeout=10) as smtp:
        for i in range(n):
            raw = (
                f"From: dev@lentrance.com\r\nTo: a{i}@docomo.ne.jp\r\nSubject: notice {i}\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            ).encode() + f"{body} {i}".encode()
            smtp.sendmail("dev@lentrance.com", [f"a{i}@docomo.ne.jp"], raw)


def _api(h: HarnessThread, q: str, **more: int) -> tuple[list[int], dict[str, str]]:
    url = f"{h.http_url}/api/messages?" + urllib.parse.urlencode({"q": q, **more})
    with urllib.request.urlopen(url, timeout=10) as r:
        return [m["id"] for m in json.loads(r.read())], dict(r.headers)


def test_short_japanese_words_search_the_newest_and_say_so(
    harness: HarnessThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "SCAN_CAP", 5)
    _send(harness, "髙橋様、ご注文ありがとうございます。", 8)
    # 様 and 注文 are shorter than a trigram: only the newest 5 are searched, and said.
    ids, headers = _api(harness, "様")
    assert len(ids) == 5 and ids == sorted(ids, reverse=True)
    assert (headers["X-Total-Count"], headers["X-Total-Exact"]) == ("5", "1")
    assert headers["X-Searched-Newest"] == "5"
    ids, headers = _api(harness, "注文")
    assert len(ids) == 5 and headers["X-Searched-Newest"] == "5"
    # A word of 3 or more beside it: the index narrows, every message is searched.
    for q in ("髙橋様", "様 ご注文", "注文 to:docomo.ne.jp", '"ありがとう"'):
        ids, headers = _api(harness, q)
        assert len(ids) == 8 and headers["X-Total-Count"] == "8", q
        assert "X-Searched-Newest" not in headers, q
    ids, _ = _api(harness, "-様")  # nothing lacks it among the newest five
    assert ids == []


def test_a_total_past_the_cap_is_at_least(
    harness: HarnessThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "COUNT_CAP", 3)
    _send(harness, "お知らせ", 5)
    ids, headers = _api(harness, "お知らせ")
    assert len(ids) == 5  # the page is whole; only the count stops
    # At least what the page shows (counted up to 3, 5 on the page): never "5 of 3+".
    assert (headers["X-Total-Count"], headers["X-Total-Exact"]) == ("5", "0")
    ids, headers = _api(harness, "お知らせ", limit=2)
    assert len(ids) == 2 and (headers["X-Total-Count"], headers["X-Total-Exact"]) == ("3", "0")
    ids, headers = _api(harness, "")  # the list is counted exactly, over its small index
    assert (headers["X-Total-Count"], headers["X-Total-Exact"]) == ("5", "1")


def _indexed(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT rowid FROM message_search ORDER BY rowid")]


def _indexed_bodies(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0].strip() for r in conn.execute("SELECT body FROM message_search") if r[0]]


def test_delete_prune_and_delete_all_clear_the_index(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store(path, max_messages=3)
    try:
        ids = _add(store, [_message(f"s{i}", "a@x.jp", f"秘密の本文{i}") for i in range(5)])
        assert [m.id for m in store.search("秘密の本文").messages] == ids[:1:-1]
        assert _indexed(path) == ids[2:]  # the two pruned are gone from the index too
        assert store.delete(ids[3]) is True
        assert _indexed(path) == [ids[2], ids[4]]
        assert sorted(_indexed_bodies(path)) == ["秘密の本文2", "秘密の本文4"]
        assert store.delete_all() == 2
        assert _indexed(path) == [] and _indexed_bodies(path) == []
        assert store.search("秘密の本文").total == 0
        # The index made anew takes the next messages.
        (new,) = _add(store, [_message("after", "b@x.jp", "あとの本文")])
        assert [m.id for m in store.search("あとの本文").messages] == [new]
        assert [m.id for m in store.search("to:b@x.jp").messages] == [new]
    finally:
        store.close()


OLD_SCHEMA = """
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL, mail_from TEXT NOT NULL,
    rcpt_tos TEXT NOT NULL, subject TEXT NOT NULL, from_header TEXT NOT NULL,
    message_id TEXT NOT NULL, size INTEGER NOT NULL, peer TEXT NOT NULL, helo TEXT NOT NULL,
    reply TEXT NOT NULL, transcript TEXT NOT NULL, decisions TEXT NOT NULL, raw BLOB NOT NULL
);
CREATE TABLE message_text (id INTEGER PRIMARY KEY, body TEXT NOT NULL,
    attachments INTEGER NOT NULL);
"""


def test_an_old_store_is_migrated_on_open(tmp_path: Path) -> None:
    """A store written before the index: its decoded-text table goes, and the first
    search indexes its messages like new mail (header fields, then bodies if asked)."""
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(OLD_SCHEMA)
        for i in range(3):
            m = _message(f"old {i}", f"u{i}@docomo.ne.jp", f"古い本文{i}")
            conn.execute(
                "INSERT INTO messages VALUES (NULL, 0, ?, ?, ?, ?, ?, ?, '', '', '', '', '[]', ?)",
                (m.mail_from, json.dumps(list(m.rcpt_tos)), m.subject, m.from_header,
                 m.message_id, len(m.raw), m.raw),
            )  # fmt: skip
        conn.execute("INSERT INTO message_text VALUES (1, '古い本文0', 0)")
    store = Store(path)
    try:
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            assert "message_text" not in tables and "message_search" in tables
        assert _indexed(path) == []
        assert store.search("").total == 3 and _indexed(path) == []  # the list needs none
        assert store.search("to:u1@docomo").total == 1
        assert _indexed(path) == [1, 2, 3] and _indexed_bodies(path) == []
        assert [m.id for m in store.search("古い本文").messages] == [3, 2, 1]
        assert sorted(_indexed_bodies(path)) == ["古い本文0", "古い本文1", "古い本文2"]
        # New mail is not indexed by the writer (no cost to the SMTP side) but found.
        (new,) = _add(store, [_message("new", "n@docomo.ne.jp", "新しい本文")])
        assert _indexed(path) == [1, 2, 3]
        assert [m.id for m in store.search("to:n@docomo").messages] == [new]
        assert [m.id for m in store.search("-古い本文").messages] == [new]
    finally:
        store.close()
    Store(path).close()  # opened again: nothing left to migrate, nothing lost
    assert _indexed(path) == [1, 2, 3, 4]


FULL_DISK_SEARCH = """
import json, smtplib, sqlite3, sys, urllib.error, urllib.parse, urllib.request
from pathlib import Path
from maildoctor.web.app import WebConfig, run_in_thread
disk = Path(sys.argv[1])
# The delivery records off the tiny disk: their writes would race the filler.
config = WebConfig(events_db=Path(sys.argv[2]))
body = "".join(f"本文の行 {i} です。\\r\\n" for i in range(300))
raw = ("Subject: x\\r\\nContent-Type: text/plain; charset=utf-8\\r\\n\\r\\n" + body).encode()
with run_in_thread(disk / "h.sqlite3", web_config=config) as h:
    with smtplib.SMTP(*h.smtp_address, timeout=10) as smtp:
        for _ in range(3):
            smtp.sendmail("dev@lentrance.com", ["b@docomo.ne.jp"], raw)
    with sqlite3.connect(disk / "h.sqlite3") as conn:  # no room left in the log either
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    try:
        with (disk / "filler").open("wb") as f:
            while True:
                f.write(bytes(4096))
                f.flush()
    except OSError:
        pass
    for q in ("", "to:docomo", "本文の行"):
        url = f"{h.http_url}/api/messages?" + urllib.parse.urlencode({"q": q})
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                print(json.dumps([r.status, len(json.loads(r.read()))]))
        except urllib.error.HTTPError as e:
            print(json.dumps([e.code, json.loads(e.read())["error"]]))
"""


def test_a_search_that_cannot_index_on_a_full_disk_says_so(full_disk: Path) -> None:
    """Indexing writes: on a full disk the list still answers, a search is a 503 that
    says the disk is full (not a 500, not an empty answer)."""
    db = full_disk / "h.sqlite3"
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$1" && shift && exec "$@"',
         "sh", str(full_disk), sys.executable, "-c", FULL_DISK_SEARCH, str(full_disk),
         str(full_disk.parent / "events.sqlite3")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    said = (
        "The search could not index the new messages: Cannot write to the message store "
        f"{db}: database or disk is full. Free some disk space."
    )
    assert [json.loads(line) for line in done.stdout.splitlines()] == [
        [200, 3], [503, said], [503, said],
    ]  # fmt: skip


def test_an_sqlite_without_trigram_is_said_at_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    with pytest.raises(store_module.StoreError, match=r"older than 3\.34, whose FTS5 trigram"):
        Store(tmp_path / "s.sqlite3")


def test_two_stores_on_one_file_index_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes (here two Store objects) searching one file at once: each batch is
    read under the write lock, so no row is indexed twice and every search is whole."""
    monkeypatch.setattr(store_module, "_HEADER_BATCH", 7)
    monkeypatch.setattr(store_module, "_TEXT_BATCH", 5)
    path = tmp_path / "s.sqlite3"
    first, second = Store(path, max_messages=0), Store(path, max_messages=0)
    try:
        _add(first, [_message(f"s{i}", f"u{i}@docomo.ne.jp", f"本文です{i}") for i in range(120)])
        totals: list[int] = []
        errors: list[BaseException] = []

        def search(store: Store, query: str) -> None:
            try:
                totals.append(store.search(query, limit=1).total)
            except BaseException as e:  # the assert below says it
                errors.append(e)

        threads = [
            threading.Thread(target=search, args=(store, query))
            for store in (first, second)
            for query in ("to:docomo.ne.jp", "本文です")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and totals == [120] * 4
        assert _indexed(path) == list(range(1, 121))
    finally:
        first.close()
        second.close()
