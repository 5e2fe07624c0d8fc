"""Delivery records over real HTTP: webhooks posting events with a token, an address's
timeline, the desk's diagnosis opening with it, and the harness's own deliveries."""

from __future__ import annotations

import base64
import json
import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from maildoctor.harness.server import HarnessThread
from maildoctor.web.access import hash_password
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig
from maildoctor.web.events import MAX_EVENTS_BODY
from tests.webcall import call

DATA = Path(__file__).parent / "data" / "events"
TOKEN = "s3cret-events-token"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HarnessThread]:
    config = WebConfig(nameservers=None, events_token=TOKEN, events_db=tmp_path / "events.sqlite3")
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config, auth_nameservers=None) as h:
        yield h


def test_webhook_bodies_as_posted(server: HarnessThread) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    sns = (DATA / "ses-bounce-sns.json").read_bytes()
    status, answer = call(server, "POST", "/api/events", sns, **bearer)
    assert status == 200 and answer["records"] == answer["added"] == 1
    status, answer = call(server, "POST", "/api/events", sns, **bearer)
    assert status == 200 and answer["added"] == 0  # the same notification twice: nothing new
    # SendGrid, with the token in the URL as its webhook settings allow.
    body = (DATA / "sendgrid-events.json").read_bytes()
    status, answer = call(server, "POST", f"/api/events?token={TOKEN}", body)
    assert status == 200 and answer["records"] == 7
    # SNS with HTTP Basic credentials in the subscription URL.
    basic = base64.b64encode(f"sns:{TOKEN}".encode()).decode()
    lines = (DATA / "ses-events.jsonl").read_bytes()
    status, answer = call(server, "POST", "/api/events", lines, Authorization=f"Basic {basic}")
    assert status == 200 and answer["records"] == 5

    status, timeline = call(server, "GET", "/api/addresses/HANAKO@example.jp/events?days=0")
    assert status == 200
    assert timeline["address"] == "hanako@example.jp"
    (record,) = timeline["records"]
    assert (record["status"], record["reason"], record["hard"]) == ("bounced", "userunknown", True)
    assert timeline["suppressed"]["why"] == "hard_bounce"
    assert {s["source"] for s in timeline["searched"]["sources"]} == {"api"}


def test_the_token_and_the_limits(server: HarnessThread) -> None:
    body = (DATA / "ses-bounce-sns.json").read_bytes()
    assert call(server, "POST", "/api/events", body)[0] == 401
    assert call(server, "POST", "/api/events", body, Authorization="Bearer wrong")[0] == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, answer = call(server, "POST", "/api/events", b'{"some": "thing"}', **auth)
    assert status == 422 and "unknown shape" in answer["error"]
    status, answer = call(server, "POST", "/api/events", b"\x00\x01 not json", **auth)
    assert status == 422 and "not JSON" in answer["error"]
    deep = b"[" * 100_000 + b"]" * 100_000  # deeper than Python's recursion limit
    status, answer = call(server, "POST", "/api/events", deep, **auth)
    assert status == 422 and "not JSON" in answer["error"]
    big = b"[" + b" " * MAX_EVENTS_BODY + b"]"
    assert call(server, "POST", "/api/events", big, **auth)[0] == 413
    assert call(server, "POST", "/api/events", b"  ", **auth)[0] == 400
    status, answer = call(server, "GET", "/api/addresses/no-at-sign/events")
    assert status == 400


def test_without_a_token_posting_is_off(tmp_path: Path) -> None:
    with run_in_thread(tmp_path / "h.sqlite3", web_config=WebConfig(nameservers=None)) as h:
        status, answer = call(h, "POST", "/api/events", b"[]", Authorization="Bearer x")
        assert status == 403 and "--events-token" in answer["error"]
        status, answer = call(h, "GET", "/api/addresses/a@example.jp/events")
        assert status == 200 and answer["records"] == []
        assert answer["searched"]["sources"] == []  # nothing ingested: nothing claimed


def test_reading_follows_the_desks_login_and_posting_the_token(tmp_path: Path) -> None:
    config = WebConfig(
        nameservers=None,
        allow_remote=True,
        password_hash=hash_password("correct horse"),
        events_token=TOKEN,
        events_db=tmp_path / "events.sqlite3",
    )
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        assert call(h, "GET", "/api/addresses/a@example.jp/events")[0] == 401
        ok = call(
            h, "GET", "/api/addresses/a@example.jp/events", Authorization="Bearer correct horse"
        )
        assert ok[0] == 200
        body = (DATA / "ses-bounce-sns.json").read_bytes()
        assert call(h, "POST", "/api/events", body, Authorization=f"Bearer {TOKEN}")[0] == 200
        # The desk's password is not the events token.
        assert call(h, "POST", "/api/events", body, Authorization="Bearer correct horse")[0] == 401


def test_the_harness_records_its_own_deliveries_but_not_trials(
    server: HarnessThread, tmp_path: Path
) -> None:
    def deliver(to: str, message_id: str) -> dict[str, Any]:
        """Send one mail; its address's timeline once the records thread has written it."""
        msg = EmailMessage()
        msg["From"] = "noreply@lentrance.com"
        msg["To"] = to
        msg["Subject"] = "hello"
        msg["Message-ID"] = f"<{message_id}>"
        msg.set_content("hello")
        with smtplib.SMTP(*server.smtp_address) as s:
            s.send_message(msg)
        deadline = time.monotonic() + 10
        while True:
            status, timeline = call(server, "GET", f"/api/addresses/{to}/events")
            assert status == 200, timeline
            if any(r["message_id"] == message_id for r in timeline["records"]):
                return timeline
            assert time.monotonic() < deadline, f"no record of {message_id}: {timeline}"
            time.sleep(0.1)

    timeline = deliver("hanako@gmail.com", "own-1@lentrance.com")
    (record,) = timeline["records"]
    assert record["source"] == "harness" and record["status"] == "sent"
    assert record["message_id"] == "own-1@lentrance.com"
    # The desk's diagnosis opens with it; its trial mails are not delivery records.
    status, data = call(
        server,
        "POST",
        "/api/diagnose",
        json.dumps({"address": "hanako@gmail.com"}).encode(),
        **{"Content-Type": "application/json"},
    )
    assert status == 200, data
    assert data["delivery"]["verdict"] == "accepted"
    assert data["advice"][0] == "check_spam_folder"
    # The records thread takes commits in order: once a later delivery is recorded, the
    # trials stored before it have been looked at (a fixed pause could look too early).
    deliver("after@gmail.com", "own-2@lentrance.com")
    status, timeline = call(server, "GET", "/api/addresses/hanako@gmail.com/events")
    assert len(timeline["records"]) == 1
