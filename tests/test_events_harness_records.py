"""The harness's own deliveries as delivery records, with the web UI on (as ``serve``
runs): real SMTP over TCP, the real harness store and a real events store file.

The records thread takes each commit's messages from the store's writer (no read back)
and writes them in batches on one connection: every delivery is recorded as the
stored row would give it, and a broken or locked events store never holds the
harness up."""

from __future__ import annotations

import asyncio
import smtplib
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import maildoctor.web.events as web_events
from maildoctor.events.address import address_key
from maildoctor.events.ingest import harness_events, ingest_source
from maildoctor.events.store import EventStore, EventStoreError
from maildoctor.harness.policy import Profile
from maildoctor.harness.records import StoredMessage
from maildoctor.harness.server import HarnessThread
from maildoctor.harness.store import NewMessage, Store
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig


def _raw(i: int) -> bytes:
    return (
        f"From: Lentrance <noreply@lentrance.com>\r\nSubject: 通知 {i}\r\n"
        f"Message-ID: <rec-{i}@lentrance.com>\r\n\r\nbody {i}\r\n"
    ).encode()


def _send(h: HarnessThread, first: int, count: int, rcpts: Callable[[int], list[str]]) -> int:
    """Send ``count`` messages on one connection; how many were answered 250."""
    ok = 0
    with smtplib.SMTP(*h.smtp_address, timeout=30) as smtp:
        for i in range(first, first + count):
            refused = smtp.sendmail("noreply@lentrance.com", rcpts(i), _raw(i))
            ok += not refused
    return ok


def _wait(until: Callable[[], bool], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if until():
            return True
        time.sleep(0.05)
    return until()


def _count(path: Path) -> int:
    """Records in the store so far (0 while the records thread is still making it)."""
    try:
        with EventStore(path, create=False) as store:
            return store.count()
    except EventStoreError:
        return 0


def _recorded(path: Path, address: str) -> bool:
    """Whether ``address`` has a record yet (False while the store is still being made)."""
    try:
        with EventStore(path, create=False) as store:
            return bool(store.timeline(address_key(address)))
    except EventStoreError:
        return False


def test_every_delivery_is_recorded_as_the_stored_row_gives_it(tmp_path: Path) -> None:
    """Six connections at once, delivered and refused recipients: the events store holds
    exactly what ``harness_events`` makes of each row read back, and its sources row
    counts them all."""
    events = tmp_path / "events.sqlite3"
    profiles = {"deny@example.jp": Profile(name="deny", deny_list=("lentrance.com",))}

    def rcpts(i: int) -> list[str]:
        return [f"u{i}@docomo.ne.jp"] + (["deny@example.jp"] if i % 3 == 0 else [])

    config = WebConfig(nameservers=None, events_db=events)
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config, profiles=profiles) as h:
        threads = [threading.Thread(target=_send, args=(h, k * 20, 20, rcpts)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        store = h.harness.store
        assert store is not None
        stored = store.all()
        assert len(stored) == 120
        expected = [e for m in stored for e in harness_events(m, origin=str(store.path))]
        assert len(expected) == 160  # 120 delivered, 40 refused
        assert _wait(lambda: _count(events) == len(expected))
        with EventStore(events, create=False) as es:
            recorded = [e for a in sorted({e.address for e in expected}) for e in es.timeline(a)]
            (source,) = es.sources()
        assert sorted(recorded, key=lambda e: e.key) == sorted(expected, key=lambda e: e.key)
        assert {e.status for e in recorded} == {"sent", "bounced"}
        assert (source.source, source.origin, source.events) == ("harness", str(store.path), 160)
        assert h.harness.log.counts == {}


def test_a_broken_events_store_never_stops_the_harness(tmp_path: Path) -> None:
    """The events store's path is a directory: every message is still stored and
    answered 250, the log says why there are no records; once the path can be used
    again, the records thread opens it anew and the next deliveries are recorded."""
    events = tmp_path / "events.sqlite3"
    events.mkdir()
    config = WebConfig(nameservers=None, events_db=events)
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        assert _send(h, 0, 5, lambda i: [f"u{i}@docomo.ne.jp"]) == 5
        assert _wait(lambda: h.harness.log.counts.get("events-store", 0) >= 2)
        events.rmdir()
        assert _send(h, 5, 3, lambda i: [f"u{i}@docomo.ne.jp"]) == 3
        # The next deliveries are recorded. (The writer may hand the first five over in
        # more than one commit: those still waiting when the path came back are
        # recorded too, so only the three new ones are certain.)
        assert _wait(lambda: all(_recorded(events, f"u{i}@docomo.ne.jp") for i in (5, 6, 7)))
        assert h.harness.store is not None and h.harness.store.count() == 8
        with EventStore(events) as es:
            assert [e.message_id for e in es.timeline(address_key("u6@docomo.ne.jp"))] == [
                "rec-6@lentrance.com"
            ]
            before = es.count()
            assert 3 <= before < 8  # at least the first batch was skipped
            # What was skipped comes from the harness's file later, without doubles.
            report = ingest_source(es, str(tmp_path / "h.sqlite3"))
            assert (report.events, report.added, es.count()) == (8, 8 - before, 8)


def test_a_locked_events_store_does_not_hold_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the events store's write lock: the harness goes on taking
    and storing mail, the records waiting stay bounded (the rest skipped and logged),
    and those kept are written once the lock is gone."""
    monkeypatch.setattr(web_events, "MAX_PENDING_RECORDS", 5)
    events = tmp_path / "events.sqlite3"
    config = WebConfig(nameservers=None, events_db=events)
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        other = sqlite3.connect(events, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            assert _send(h, 0, 20, lambda i: [f"u{i}@docomo.ne.jp"]) == 20
            assert h.harness.store is not None and h.harness.store.count() == 20
            assert _wait(lambda: h.harness.log.counts.get("events-full", 0) >= 1)
        finally:
            other.execute("ROLLBACK")
            other.close()
        # The batch the thread had taken when it met the lock, and those waiting behind.
        assert _wait(lambda: _count(events) >= 5)
        time.sleep(0.3)
        assert 5 <= _count(events) <= 10


def test_the_writer_hands_its_listeners_what_a_read_gives(tmp_path: Path) -> None:
    """``subscribe_stored``: each commit's messages, equal to their summaries read back."""
    store = Store(tmp_path / "s.sqlite3", max_messages=0)
    got: list[StoredMessage] = []

    def listener(messages: Sequence[StoredMessage]) -> None:
        got.extend(messages)

    store.subscribe_stored(listener)

    async def add_all() -> list[int]:
        return list(
            await asyncio.gather(
                *(
                    store.add(
                        NewMessage(
                            mail_from="noreply@lentrance.com",
                            rcpt_tos=(f"u{i}@docomo.ne.jp",),
                            raw=_raw(i),
                            deliveries=(),
                            subject=f"通知 {i}",
                            message_id=f"<rec-{i}@lentrance.com>",
                            peer="127.0.0.1:2525",
                            helo="sender.example",
                            reply="250 OK",
                        )
                    )
                    for i in range(30)
                )
            )
        )

    try:
        ids = asyncio.run(add_all())
    finally:
        # A message's future is settled before its commit is announced: closing joins
        # the writer, so every announcement has been made before we look.
        store.close()
    assert store.stopped
    assert sorted(m.id for m in got) == sorted(ids)
    assert sorted(got, key=lambda m: m.id) == list(reversed(store.recent(limit=30)))


def test_what_was_stored_is_recorded_before_the_harness_stops(tmp_path: Path) -> None:
    """Stopping the harness writes the records of its last messages first (they may
    still be gathering when it stops), then ends the records thread."""
    events = tmp_path / "events.sqlite3"
    before = set(threading.enumerate())
    config = WebConfig(nameservers=None, events_db=events)
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        assert _send(h, 0, 30, lambda i: [f"u{i}@docomo.ne.jp"]) == 30
    assert _count(events) == 30
    started = [t for t in set(threading.enumerate()) - before if t.name == "maildoctor-events"]
    assert started == []
