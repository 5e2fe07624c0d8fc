"""Delivery records from a real Postfix: its own log and its own DSNs.

A private Postfix (tests/postfixproc.py) relays the Lentrance notification mails to
the harness, whose profiles accept, file as junk, refuse (5xx) and defer (4xx) them;
the short queue lifetime turns the deferral into ``status=expired``. The log Postfix
wrote and the DSNs it sent back are ingested, and every timeline must say what the
harness recorded for the same Message-ID.
"""

from __future__ import annotations

import smtplib
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.events import EventStore
from maildoctor.events.ingest import ingest_source
from maildoctor.events.timeline import suppression
from maildoctor.harness.profiles import parse_profile
from maildoctor.harness.server import run_in_thread
from maildoctor.mail.render import render_message

pytestmark = pytest.mark.slow

SENDER = "noreply@lentrance.com"
PROFILES = {
    "ok@docomo.ne.jp": {"defaults": False},
    "junk@docomo.ne.jp": {"refuse_url": True},
    "gone@ezweb.ne.jp": {
        "refuse_url": True,
        "outcome": "rejected",
        "reply": "550 5.1.1 <gone@ezweb.ne.jp>: Recipient address rejected: User unknown",
    },
    "busy@softbank.ne.jp": {
        "refuse_url": True,
        "outcome": "rejected",
        "reply": "451 4.7.1 Service temporarily unavailable, try again later",
    },
}


def _settled(log: str) -> bool:
    """Every mail and both DSNs have reached their end in the log."""
    return (
        "status=expired" in log
        and log.count("non-delivery notification") == 2
        and log.count("status=sent") == 4
    )


def test_timelines_from_postfixs_log_and_dsns_match_the_harness(
    tmp_path: Path, postfix_relay: Any
) -> None:
    with run_in_thread(tmp_path / "h.sqlite3", http_port=None, auth_nameservers=None) as harness:
        for address, table in PROFILES.items():
            harness.set_profile(address, parse_profile(address, table))
        mta = postfix_relay(harness.smtp_address)
        with smtplib.SMTP(*mta.smtp_address) as s:
            for address in PROFILES:
                msg = render_message("provisional_registration", to=address)
                s.sendmail(SENDER, [address], msg.as_bytes())
        mta.wait_for(_settled, timeout=60)
        stored = harness.messages()

    dsn_dir = tmp_path / "dsns"
    dsn_dir.mkdir()
    sent = [m for m in stored if m.mail_from == SENDER]
    for m in stored:
        if m.mail_from in ("", "<>"):
            (dsn_dir / f"{m.id}.eml").write_bytes(m.raw)
    assert len(list(dsn_dir.iterdir())) == 2

    # The command an operator runs on the log Postfix wrote.
    done = CliRunner().invoke(
        main,
        [
            "events",
            "ingest",
            "--events-db",
            str(tmp_path / "cli.sqlite3"),
            "--log-zone",
            "UTC",
            str(mta.log_path),
        ],
    )
    assert done.exit_code == 0, done.output
    assert "postfix," in done.stdout and " 0 unreadable" in done.stdout
    with EventStore(tmp_path / "events.sqlite3") as store:
        log = ingest_source(store, str(mta.log_path), zone=UTC)
        dsns = ingest_source(store, str(dsn_dir))
        own = ingest_source(store, str(tmp_path / "h.sqlite3"))
        assert (log.kind, dsns.kind, own.kind) == ("postfix", "bounce", "harness")
        assert not (log.error or dsns.error or own.error) and log.unreadable == 0
        timelines = {a: store.timeline(a) for a in PROFILES}

    for address, timeline in timelines.items():
        from_log = [e for e in reversed(timeline) if e.source == "postfix"]
        attempts = [m for m in sent if address in m.rcpt_tos]
        assert attempts, address
        message_id = attempts[0].message_id.strip("<>")
        # One log record per SMTP transaction the harness saw, in order, same words.
        tries = [e for e in from_log if e.status != "expired"]
        assert len(tries) == len(attempts), (address, tries, attempts)
        for record, attempt in zip(tries, attempts, strict=True):
            decision = attempt.decision_for(address).decision
            expected = {"2": "sent", "4": "deferred", "5": "bounced"}[str(decision.reply_code)[0]]
            assert record.status == expected, (address, record)
            assert record.message_id == message_id
            # The reply the harness gave to DATA, as Postfix logged it.
            if expected == "sent":
                assert f"stored as message {attempt.id}," in record.reply
            else:
                assert attempt.reply in record.reply, (attempt.reply, record.reply)
        harness_view = [e for e in reversed(timeline) if e.source == "harness"]
        assert [e.status for e in harness_view] == [e.status for e in tries]

    gone = timelines["gone@ezweb.ne.jp"]
    logged = next(e for e in gone if e.source == "postfix")
    from_dsn = next(e for e in gone if e.source == "bounce")
    assert logged.status == from_dsn.status == "bounced"
    assert (logged.reason, logged.hard) == (from_dsn.reason, from_dsn.hard) == ("userunknown", True)
    assert logged.detail["dsn_queue_id"]
    busy = timelines["busy@softbank.ne.jp"]
    newest = next(e for e in busy if e.source == "postfix")
    assert newest.status == "expired" and not newest.hard and newest.detail["dsn_queue_id"]
    # The DSN Postfix returned to the sender says the same: failed, not a hard bounce.
    (returned,) = [e for e in busy if e.source == "bounce"]
    assert returned.status == "bounced" and not returned.hard and returned.dsn == "4.7.1"
    assert [e.status for e in timelines["junk@docomo.ne.jp"] if e.source == "postfix"] == ["sent"]
    hard = suppression(gone)
    assert hard is not None and hard.why == "hard_bounce"
    assert suppression(timelines["ok@docomo.ne.jp"]) is None


def test_a_connection_failure_has_no_reply_code_and_expires(
    tmp_path: Path, postfix_relay: Any
) -> None:
    """Postfix's next hop refuses connections: deferred with Postfix's own words, then
    expired; never a hard bounce, never a reply code read into them."""
    from tests.ports import free_port

    mta = postfix_relay(("127.0.0.1", free_port()))  # nothing listens there
    with smtplib.SMTP(*mta.smtp_address) as s:
        s.sendmail(
            SENDER,
            ["taro@docomo.ne.jp"],
            render_message("password_reset", to="taro@docomo.ne.jp").as_bytes(),
        )
    mta.wait_for(lambda log: "status=expired" in log, timeout=60)
    with EventStore(tmp_path / "events.sqlite3") as store:
        report = ingest_source(store, str(mta.log_path), zone=UTC)
        assert not report.error
        timeline = store.timeline("taro@docomo.ne.jp")
    assert timeline[0].status == "expired"
    deferred = [e for e in timeline if e.status == "deferred"]
    assert deferred and all("Connection refused" in e.reply for e in deferred)
    assert not any(e.hard for e in timeline)
    assert all(e.dsn.startswith("4.") for e in deferred)


def test_long_queue_ids_and_another_syslog_name(tmp_path: Path, postfix_relay: Any) -> None:
    """``enable_long_queue_ids`` (ids like ``4dQbvD6Xhnz9tS3``) and a second instance's
    ``syslog_name`` (``postfix-out/smtp``): what Postfix writes then still joins."""
    with run_in_thread(tmp_path / "h.sqlite3", http_port=None, auth_nameservers=None) as harness:
        address = "gone@ezweb.ne.jp"
        harness.set_profile(address, parse_profile(address, PROFILES[address]))
        mta = postfix_relay(
            harness.smtp_address, enable_long_queue_ids="yes", syslog_name="postfix-out"
        )
        with smtplib.SMTP(*mta.smtp_address) as s:
            s.sendmail(SENDER, [address], render_message("password_reset", to=address).as_bytes())
            s.sendmail(
                SENDER,
                ["ok@gmail.com"],
                render_message("password_reset", to="ok@gmail.com").as_bytes(),
            )
        log = mta.wait_for(lambda t: t.count("status=sent") == 2 and "non-delivery" in t)
        stored = {m.rcpt_tos[0]: m for m in harness.messages() if m.mail_from == SENDER}
    assert "postfix-out/smtp[" in log
    with EventStore(tmp_path / "events.sqlite3") as store:
        report = ingest_source(store, str(mta.log_path), zone=UTC)
        assert report.unreadable == 0 and report.skipped == 0
        (bounced,) = store.timeline(address)
        (sent,) = store.timeline("ok@gmail.com")
    assert len(bounced.queue_id) > 11 and not bounced.queue_id.isupper()  # a long id
    assert bounced.status == "bounced" and bounced.hard
    assert bounced.message_id == stored[address].message_id.strip("<>")
    assert bounced.detail["dsn_queue_id"]
    assert sent.status == "sent" and sent.message_id == stored["ok@gmail.com"].message_id.strip(
        "<>"
    )
