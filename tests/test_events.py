"""Delivery records: Postfix log lines, SES and SendGrid events, bounces, the store.

The Postfix log here is one a real Postfix wrote (tests/data/events/README.md);
tests/test_events_postfix.py makes a fresh one with a live instance.
"""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from maildoctor.bounce import explain
from maildoctor.events import Event, EventStore, address_key
from maildoctor.events.esp import UnknownShape, events_from_json
from maildoctor.events.ingest import MAX_LINE, ingest_source
from maildoctor.events.postfix import PostfixParser
from maildoctor.events.reply import read_reply
from maildoctor.events.timeline import suppression

DATA = Path(__file__).parent / "data" / "events"
LOG = DATA / "postfix-maillog.log"
REFERENCE = datetime(2026, 12, 8, tzinfo=UTC)


def parse(lines: list[str], reference: datetime = REFERENCE) -> list[Event]:
    p = PostfixParser(origin="test", reference=reference, zone=UTC)
    out = [e for line in lines for e in p.feed(line)]
    return out + list(p.flush())


def by_address(events: list[Event]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in events:
        out.setdefault(e.address, []).append(e.status)
    return out


def test_a_real_postfix_log_gives_each_recipient_its_story() -> None:
    events = parse(LOG.read_text().splitlines())
    story = by_address(events)
    assert story["accept@docomo.ne.jp"] == ["sent"]
    assert story["reject@ezweb.ne.jp"] == ["bounced"]
    assert story["defer@softbank.ne.jp"] == ["deferred"] * 3 + ["expired"]
    rejected = next(e for e in events if e.status == "bounced")
    # Joined by queue id within the message's life: cleanup's Message-ID, qmgr's sender,
    # and the queue id of the DSN the bounce daemon wrote.
    assert rejected.message_id == "m1@lentrance.test"
    assert rejected.detail["sender"] == "noreply@lentrance.test"
    assert rejected.detail["dsn_queue_id"]
    assert rejected.dsn == "5.7.1" and rejected.relay.startswith("127.0.0.1[127.0.0.1]")
    assert "in reply to end of DATA command" in rejected.reply
    expired = next(e for e in events if e.status == "expired")
    assert expired.message_id == "m2@lentrance.test" and expired.detail["returned_to_sender"]
    assert expired.reply.startswith("host 127.0.0.1[127.0.0.1] said: 451 4.7.1")
    assert all(e.time.year == 2026 and e.time.month == 12 for e in events)


def _iso(line: str) -> str:
    """The line as rsyslog's RSYSLOG_FileFormat writes it (ISO time, same message)."""
    stamp, rest = line[:15], line[16:]
    when = datetime.strptime(f"2026 {stamp}", "%Y %b %d %H:%M:%S")
    return f"{when.isoformat()}.000000+00:00 {rest}"


def _rfc5424(line: str) -> str:
    """The line as an RFC 5424 syslog message (``<PRI>1 TIME HOST APP PID - - MSG``)."""
    stamp, rest = line[:15], line[16:]
    when = datetime.strptime(f"2026 {stamp}", "%Y %b %d %H:%M:%S")
    host, prog_pid, msg = rest.split(" ", 2)
    prog, _, pid = prog_pid.rstrip(":").partition("[")
    return f"<22>1 {when.isoformat()}.123Z {host} {prog} {pid.rstrip(']')} - - {msg}"


@pytest.mark.parametrize("shape", [_iso, _rfc5424])
def test_iso_and_rfc5424_lines_read_the_same(shape: object) -> None:
    lines = LOG.read_text().splitlines()
    classic = parse(lines)
    other = parse([shape(line) for line in lines])  # type: ignore[operator]
    assert [(e.address, e.status, e.message_id, e.reason) for e in other] == [
        (e.address, e.status, e.message_id, e.reason) for e in classic
    ]
    assert [e.time.replace(microsecond=0) for e in other] == [e.time for e in classic]


def test_a_year_less_date_after_the_reference_is_last_years() -> None:
    lines = LOG.read_text().splitlines()
    events = parse(lines, reference=datetime(2027, 1, 3, tzinfo=UTC))
    assert {e.time.year for e in events} == {2026}
    events = parse(lines, reference=datetime(2027, 12, 31, tzinfo=UTC))
    assert {e.time.year for e in events} == {2027}


def test_a_reused_queue_id_starts_a_new_life() -> None:
    lines = LOG.read_text().splitlines()
    # The same file twice in a row: every queue id comes back after its 'removed'.
    events = parse(lines + lines)
    assert len(events) == 2 * len(parse(lines))
    assert {e.message_id for e in events if e.address == "reject@ezweb.ne.jp"} == {
        "m1@lentrance.test"
    }


def test_other_programs_are_counted_not_fatal() -> None:
    p = PostfixParser(reference=REFERENCE, zone=UTC)
    lines = [
        "Dec  7 09:42:40 mta sshd[99]: Accepted publickey for root",
        "Dec  7 09:42:40 mta CRON[100]: (root) CMD (true)",
        "garbage that is no syslog line",
        *LOG.read_text().splitlines(),
    ]
    for line in lines:
        list(p.feed(line))
    assert p.counts.other == 2 and p.counts.unreadable == 1
    assert p.counts.postfix == len(lines) - 3


def test_a_log_reply_is_classified_like_the_dsn_with_the_same_words() -> None:
    events = parse(LOG.read_text().splitlines())
    for name, status in (("rejected", "bounced"), ("expired", "expired")):
        (dsn,) = explain((DATA / f"postfix-dsn-{name}.eml").read_bytes())
        logged = next(e for e in events if e.status == status)
        assert logged.address == dsn.recipient
        if status == "bounced":
            assert (logged.reason, logged.hard) == (dsn.reason, dsn.hard_bounce)
    said = "host mx.example.jp[192.0.2.1] said: 550 5.1.1 <a@example.jp>: User unknown"
    reading = read_reply(f"{said} (in reply to RCPT TO command)", "a@example.jp")
    assert (reading.reason, reading.hard) == ("userunknown", True)
    # A connection failure has no reply code: never a hard bounce.
    refused = read_reply("connect to mx.example.jp[192.0.2.1]:25: Connection refused", "a@x.jp")
    assert not refused.hard


def test_addresses_meet_in_the_checkers_form() -> None:
    assert address_key("<Taro@Docomo.NE.JP>") == "taro@docomo.ne.jp"
    assert address_key("user@ドメイン.jp") == address_key("user@xn--eckwd4c7c.jp")


def test_ses_in_its_sns_envelope() -> None:
    (e,) = events_from_json(json.loads((DATA / "ses-bounce-sns.json").read_text()), origin="t")
    assert (e.address, e.status, e.reason, e.hard) == (
        "hanako@example.jp",
        "bounced",
        "userunknown",
        True,
    )
    assert e.message_id == "reg-20261130-1@lentrance.com" and e.subject == "仮登録のお知らせ"
    assert e.source == "ses" and e.dsn == "5.1.1"


def test_ses_event_publishing_records() -> None:
    events = [
        e
        for line in (DATA / "ses-events.jsonl").read_text().splitlines()
        for e in events_from_json(json.loads(line), origin="t")
    ]
    assert [(e.address, e.status) for e in events] == [
        ("jiro@docomo.ne.jp", "queued"),
        ("jiro@docomo.ne.jp", "deferred"),
        ("jiro@docomo.ne.jp", "sent"),
        ("jiro@docomo.ne.jp", "complaint"),
        ("saburo@example.jp", "dropped"),
    ]
    delayed = events[1]
    assert delayed.reply.startswith("421 4.4.1") and not delayed.hard and delayed.reason
    assert events[4].reply == "Bad content"


def test_sendgrid_webhook_body() -> None:
    events = events_from_json(json.loads((DATA / "sendgrid-events.json").read_text()), origin="t")
    assert [(e.address, e.status) for e in events] == [
        ("taro@ezweb.ne.jp", "queued"),
        ("taro@ezweb.ne.jp", "deferred"),
        ("taro@ezweb.ne.jp", "sent"),
        ("gone@example.jp", "bounced"),
        ("blocked@example.jp", "bounced"),
        ("gone@example.jp", "dropped"),
        ("angry@example.jp", "complaint"),
    ]  # 'open' is engagement, not delivery
    bounce, blocked = events[3], events[4]
    # Sisimai's rule: "unknown recipient" with no SMTP command named reads as a filter
    # (the mailbox took RCPT TO), so the documented sample is not a hard bounce.
    assert (bounce.reason, bounce.hard) == ("filtered", False)
    assert not blocked.hard and blocked.reason == "blocked"
    assert events[5].reply == "Bounced Address"


def test_unknown_json_is_named() -> None:
    with pytest.raises(UnknownShape, match="unknown shape"):
        events_from_json({"hello": "world"}, origin="t")
    with pytest.raises(UnknownShape, match="SubscribeURL"):
        events_from_json({"Type": "SubscriptionConfirmation"}, origin="t")


# -- the store and ingest ------------------------------------------------------


def test_ingest_is_idempotent_and_durable(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite3"
    with EventStore(db) as store:
        first = ingest_source(store, str(LOG), zone=UTC)
        again = ingest_source(store, str(LOG), zone=UTC)
        assert first.kind == "postfix" and first.added == first.events == 8
        assert again.events == 8 and again.added == 0
        assert store.count() == 8
        (source,) = store.sources()
        assert source.origin == str(LOG) and source.first and source.last
    mode = sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    with EventStore(db, create=False) as store:
        timeline = store.timeline("defer@softbank.ne.jp")
        assert [e.status for e in timeline] == ["expired", "deferred", "deferred", "deferred"]


def test_every_source_kind_by_its_first_bytes(tmp_path: Path) -> None:
    with EventStore(tmp_path / "e.sqlite3") as store:
        kinds = {
            name: ingest_source(store, str(DATA / name), zone=UTC)
            for name in (
                "postfix-maillog.log",
                "ses-bounce-sns.json",
                "ses-events.jsonl",
                "sendgrid-events.json",
                "postfix-dsn-rejected.eml",
            )
        }
        assert {n: r.kind for n, r in kinds.items()} == {
            "postfix-maillog.log": "postfix",
            "ses-bounce-sns.json": "ses",
            "ses-events.jsonl": "ses",
            "sendgrid-events.json": "sendgrid",
            "postfix-dsn-rejected.eml": "bounce",
        }
        assert all(not r.error for r in kinds.values())
        (bounce,) = store.timeline("reject@ezweb.ne.jp", limit=10)[:1]
        from_dsn = [e for e in store.timeline("reject@ezweb.ne.jp") if e.source == "bounce"]
        assert from_dsn and from_dsn[0].status == "bounced" and bounce.status == "bounced"


def test_bad_input_is_one_line_and_the_rest_goes_in(tmp_path: Path) -> None:
    binary = tmp_path / "core.bin"
    binary.write_bytes(b"\x7fELF\x00\x00\x01" * 100)
    long_line = tmp_path / "long.log"
    lines = LOG.read_bytes().splitlines(keepends=True)
    long_line.write_bytes(b"".join(lines[:5]) + b"x" * (1024 * 1024) + b"\n" + b"".join(lines[5:]))
    truncated = tmp_path / "truncated.log"
    truncated.write_bytes(LOG.read_bytes()[:-40])
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(
        (DATA / "ses-events.jsonl").read_text().splitlines()[0] + '\n{not json\n{"some": "thing"}\n'
    )
    with EventStore(tmp_path / "e.sqlite3") as store:
        b = ingest_source(store, str(binary))
        assert b.error.startswith("a binary file") and b.events == 0
        long = ingest_source(store, str(long_line), zone=UTC)
        assert long.unreadable == 1 and f"longer than {MAX_LINE} bytes" in long.notes[0]
        assert long.events == 8
        cut = ingest_source(store, str(truncated), zone=UTC)
        assert cut.events >= 7 and not cut.error
        m = ingest_source(store, str(mixed))
        assert m.events == 1 and m.unreadable == 2
        assert any("not JSON" in n for n in m.notes)
        assert any("unknown shape" in n for n in m.notes)
        missing = ingest_source(store, str(tmp_path / "nope.log"))
        assert "No such file" in missing.error


def test_stdin_and_gzip(tmp_path: Path) -> None:
    import gzip

    packed = tmp_path / "maillog.1.gz"
    packed.write_bytes(gzip.compress(LOG.read_bytes()))
    with EventStore(tmp_path / "e.sqlite3") as store:
        r = ingest_source(store, "-", stdin=io.BufferedReader(io.BytesIO(LOG.read_bytes())))
        assert r.events == 8 and "the ingest time" in r.notes[0]
        g = ingest_source(store, str(packed), zone=UTC)
        assert g.kind == "postfix" and g.events == 8 and g.added == 0


# A read-only and a full events store: tests/test_faults_matrix.py, on a real
# read-only and a real full filesystem.


def test_retention_prunes_old_records(tmp_path: Path) -> None:
    now = datetime(2026, 12, 8, tzinfo=UTC)
    old = Event(
        time=now - timedelta(days=100), address="a@x.jp", status="sent", source="api", key="1"
    )
    new = Event(
        time=now - timedelta(days=10), address="a@x.jp", status="sent", source="api", key="2"
    )
    with EventStore(tmp_path / "e.sqlite3") as store:
        assert store.add([old, new]) == 2
        assert store.prune(90, now=now) == 1
        assert [e.key for e in store.timeline("a@x.jp")] == ["2"]


def _ev(status: str, day: int, *, hard: bool = False, reason: str = "") -> Event:
    return Event(
        time=datetime(2026, 12, day, tzinfo=UTC),
        address="a@example.jp",
        status=status,
        source="api",
        key=f"{status}{day}",
        hard=hard,
        reason=reason,
    )


def test_suppression_follows_the_bounce_rule() -> None:
    hard = suppression([_ev("sent", 1), _ev("bounced", 2, hard=True, reason="userunknown")])
    assert hard is not None and hard.why == "hard_bounce" and hard.since.day == 2
    assert hard.reason == "userunknown"
    # Mail accepted after the bounce: the address takes mail again.
    assert suppression([_ev("bounced", 2, hard=True, reason="userunknown"), _ev("sent", 3)]) is None
    soft = [_ev("deferred", 1)] + [_ev("expired", d, reason="expired") for d in (2, 3, 4)]
    found = suppression(soft)
    assert found is not None and found.why == "soft_bounces" and found.decided_by == "soft:3/7d"
    assert suppression(soft[:3]) is None
    complaint = suppression([_ev("sent", 1), _ev("complaint", 5)])
    assert complaint is not None and complaint.why == "complaint"
