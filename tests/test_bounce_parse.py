"""Bounce parsing and classification rules beyond the corpus: carriers, dates, bad input."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maildoctor.bounce import NotABounce, explain, parse_bounces

DATA = Path(__file__).parent / "data" / "bounces"


def _with_date(name: str, date: str) -> bytes:
    raw = (DATA / name).read_bytes()
    head, sep, body = raw.partition(b"\n\n")
    lines = [ln for ln in head.split(b"\n") if not ln.lower().startswith(b"date:")]
    return b"\n".join([*lines, b"Date: " + date.encode()]) + sep + body


_BEFORE = ("allow_sender_domain", "carrier_settings")
_AFTER = ("reregister", "check_spam_folder", "allow_sender_domain")


@pytest.mark.parametrize(
    ("date", "reason", "advice"),
    [
        ("Wed, 2 Nov 2022 01:09:18 +0900", "rejected", _BEFORE),
        ("Wed, 12 Mar 2025 23:00:00 +0900", "rejected", _BEFORE),
        ("Thu, 13 Mar 2025 09:00:00 +0900", "userunknown", _AFTER),
        ("Mon, 1 Sep 2025 10:00:00 +0900", "userunknown", _AFTER),
    ],
    ids=["2022", "day-before-change", "day-of-change", "after-change"],
)
def test_docomo_unknown_user_after_data_changed_meaning_on_2025_03_13(
    date: str, reason: str, advice: tuple[str, ...]
) -> None:
    """Until 2025-03-13 docomo refused filtered mail with '550 Unknown user' after DATA;
    since then filtered mail goes to the spam folder, so the reply means no mailbox."""
    (e,) = explain(_with_date("rhost-nttdocomo-02.eml", date))
    assert e.reason == reason
    assert e.carrier == "docomo"  # from the MX host mfsmax.docomo.ne.jp
    assert e.decided_by == "rhost:NTT docomo"
    assert e.advice == advice


_FILTER = ("allow_sender_domain", "carrier_settings")
_NOUSER = ("reregister", "allow_sender_domain", "carrier_settings")


@pytest.mark.parametrize(
    ("name", "reason", "advice"),
    [
        ("rhost-kddi-01.eml", "filtered", _FILTER),  # "550 : User unknown": au's receive filter
        ("rhost-kddi-02.eml", "userunknown", _NOUSER),  # "550 <addr>: User unknown"
        ("messagingserver-08.eml", "filtered", _FILTER),
        ("messagingserver-09.eml", "userunknown", _NOUSER),
        ("office365-04.eml", "filtered", _FILTER),  # relayed by Office 365, same au reply
    ],
    ids=["kddi-filter", "kddi-nouser", "via-apple-filter", "via-apple-nouser", "via-o365"],
)
def test_au_filter_rejections_read_user_unknown(
    name: str, reason: str, advice: tuple[str, ...]
) -> None:
    """au's filter answers "550 User unknown": even a real "no such user" from au gets
    the receive-settings advice after the check of the address."""
    (e,) = explain((DATA / name).read_bytes())
    assert e.reason == reason
    assert e.carrier == "au"
    assert e.advice == advice


def test_carrier_reading_replaces_the_summary() -> None:
    from maildoctor.bounce.report import summary

    assert summary("userunknown", "en", "au").startswith("au says the mailbox does not exist")
    assert summary("userunknown", "en", "").startswith("The recipient's mailbox does not exist")


def test_dsn_fields_are_reported() -> None:
    first, second = explain((DATA / "postfix-13.eml").read_bytes())
    assert (first.recipient, first.status, first.reply_code) == (
        "kijitora@example.jp",
        "5.2.1",
        "550",
    )
    assert (second.reason, second.status) == ("mailboxfull", "5.2.2")
    assert first.mta == "Postfix"
    assert "User Unknown" in first.diagnostic


def test_gmail_text_bounce_takes_the_remote_servers_words() -> None:
    (e,) = explain((DATA / "gmail-04.eml").read_bytes())
    assert e.mta == "Gmail"
    assert e.reason == "blocked"
    assert not e.diagnostic.startswith("Technical details")


def test_mbox_with_two_reports_gives_both() -> None:
    found = explain((DATA / "rfc3464-28.eml").read_bytes())
    assert [e.reason for e in found] == ["delivered", "delivered"]
    assert len(parse_bounces((DATA / "rfc3464-28.eml").read_bytes())) == 2


def test_broken_mime_boundary_still_reads_the_report() -> None:
    """rhost-google-02's boundary parameter matches no boundary line."""
    (e,) = explain((DATA / "rhost-google-02.eml").read_bytes())
    assert (e.recipient, e.status, e.reason) == ("neko-nyaan@example.org", "5.1.1", "userunknown")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "empty"),
        (b"just some words\nno headers here\n", "not_an_email"),
        (b"\x00\xff\xfe binary \x89PNG\r\n", "not_an_email"),
        (
            b"From: taro@example.jp\nTo: hanako@example.jp\nSubject: hello\n\nSee you tomorrow.\n",
            "no_failure",
        ),
    ],
    ids=["empty", "plain-text", "binary", "ordinary-mail"],
)
def test_not_a_bounce_is_a_clear_error(raw: bytes, code: str) -> None:
    with pytest.raises(NotABounce) as info:
        explain(raw)
    assert info.value.code == code


def test_vacation_reply_is_not_a_failure() -> None:
    (e,) = explain((DATA / "rfc3834-01.eml").read_bytes())
    assert e.reason == "vacation"
    assert e.hard_bounce is False


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_an_answer_or_not_a_bounce(raw: bytes) -> None:
    with contextlib.suppress(NotABounce):
        explain(raw)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=4000), st.binary(max_size=50))
def test_corrupted_real_bounce_never_raises_anything_else(cut: int, junk: bytes) -> None:
    raw = (DATA / "postfix-02.eml").read_bytes()
    with contextlib.suppress(NotABounce):
        explain(raw[:cut] + junk + raw[cut + len(junk) :])
