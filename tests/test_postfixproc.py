"""The private Postfix fixture itself: it relays to the harness and logs to its own file."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from maildoctor.harness.profiles import parse_profile
from maildoctor.harness.server import run_in_thread

pytestmark = pytest.mark.slow


def _mail(to: str, n: int) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "noreply@lentrance.test"
    m["To"] = to
    m["Subject"] = f"test {n}"
    m["Message-ID"] = f"<fixture{n}@lentrance.test>"
    m.set_content("hello")
    return m


def test_postfix_relays_to_the_harness_and_writes_its_log(
    tmp_path: Path, postfix_relay: Any
) -> None:
    refuse = parse_profile(
        "gone@example.com",
        {"deny_list": ["lentrance.test"], "outcome": "rejected", "reply": "550 5.1.1 User unknown"},
    )
    with run_in_thread(
        tmp_path / "h.sqlite3", http_port=None, auth_nameservers=None, profiles={}
    ) as harness:
        harness.set_profile("gone@example.com", refuse)
        mta = postfix_relay(harness.smtp_address)
        with smtplib.SMTP(*mta.smtp_address) as s:
            s.send_message(_mail("ok@example.com", 1))
            s.send_message(_mail("gone@example.com", 2))
        log = mta.wait_for(lambda t: t.count("status=sent") == 2 and "non-delivery" in t)
        stored = {m.message_id: m for m in harness.messages()}
    assert "<fixture1@lentrance.test>" in stored
    assert "to=<ok@example.com>, relay=127.0.0.1[127.0.0.1]" in log
    assert "dsn=5.1.1, status=bounced" in log
    # The DSN Postfix wrote went through the same relay to the envelope sender.
    dsns = [
        m
        for m in stored.values()
        if m.mail_from in ("", "<>") and "noreply@lentrance.test" in m.rcpt_tos
    ]
    assert dsns, stored
