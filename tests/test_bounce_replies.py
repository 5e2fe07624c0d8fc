"""Common replies of today's big receivers, each in a minimal RFC 3464 report.

The corpus in tests/data/bounces is old; these are the wordings support agents meet
now (Gmail, Outlook, Yahoo, iCloud, au, docomo), with the reason maildoctor gives.
"""

from __future__ import annotations

import pytest

from maildoctor.bounce import explain


def _dsn(recipient: str, status: str, diagnostic: str, remote: str = "mx.example.net") -> bytes:
    return (
        "From: MAILER-DAEMON@mail.lentrance.com (Mail Delivery System)\n"
        "To: no-reply@lentrance.com\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0900\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n'
        "\n--b\nContent-Type: text/plain\n\nThis is the mail system at host mail.lentrance.com.\n"
        "\n--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mail.lentrance.com\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: {status}\n"
        f"Remote-MTA: dns; {remote}\nDiagnostic-Code: smtp; {diagnostic}\n"
        "\n--b--\n"
    ).encode()


CASES = [
    (
        "gmail-nouser",
        "taro@gmail.com",
        "5.1.1",
        "550-5.1.1 The email account that you tried to reach does not exist.",
        "userunknown",
    ),
    (
        "gmail-full",
        "taro@gmail.com",
        "4.2.2",
        "452-4.2.2 The email account that you tried to reach is over quota.",
        "mailboxfull",
    ),
    (
        "gmail-unauth",
        "taro@gmail.com",
        "5.7.26",
        "550-5.7.26 This mail is unauthenticated, which poses a security risk.",
        "authfailure",
    ),
    (
        "gmail-spam",
        "taro@gmail.com",
        "5.7.1",
        "550-5.7.1 Gmail has detected that this message is likely unsolicited mail.",
        "spamdetected",
    ),
    (
        "gmail-ptr",
        "taro@gmail.com",
        "5.7.25",
        "550-5.7.25 The IP address sending this message does not have a PTR record setup.",
        "requireptr",
    ),
    (
        "outlook-nouser",
        "taro@outlook.jp",
        "5.5.0",
        "550 5.5.0 Requested action not taken: mailbox unavailable",
        "userunknown",
    ),
    (
        "o365-nouser",
        "taro@corp.example",
        "5.1.10",
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        "userunknown",
    ),
    (
        "outlook-blocked",
        "taro@hotmail.com",
        "5.7.1",
        "550 5.7.1 Unfortunately, messages from [192.0.2.25] weren't sent. Please contact your "
        "Internet service provider since part of their network is on our block list (S3150).",
        "blocked",
    ),
    (
        "yahoo-nouser",
        "taro@yahoo.com",
        "5.0.0",
        "554 delivery error: dd This user doesn't have a yahoo.com account",
        "userunknown",
    ),
    (
        "yahoo-deferred",
        "taro@yahoo.com",
        "4.7.0",
        "421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected "
        "volume or user complaints",
        # Sisimai::Rhost::YahooInc reads Yahoo's TSS04 deferral as rejected.
        "rejected",
    ),
    (
        "icloud-nouser",
        "taro@icloud.com",
        "5.1.1",
        "550 5.1.1 <taro@icloud.com>: user does not exist",
        "userunknown",
    ),
    (
        "no-domain",
        "taro@no-such-domain.example",
        "5.4.4",
        "Host or domain name not found. Name service error for name=no-such-domain.example "
        "type=A: Host not found",
        "hostunknown",
    ),
    (
        "domain-does-not-exist",
        "taro@gone.example",
        "5.0.0",
        "550 Domain does not exist",
        "hostunknown",
    ),
    (
        "relay",
        "taro@other.example",
        "5.7.1",
        "554 5.7.1 <taro@other.example>: Relay access denied",
        "norelaying",
    ),
    (
        "too-big",
        "taro@example.jp",
        "5.3.4",
        "552 5.3.4 Message size exceeds fixed maximum message size",
        "emailtoolarge",
    ),
]


@pytest.mark.parametrize(
    ("recipient", "status", "diagnostic", "reason"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_reply(recipient: str, status: str, diagnostic: str, reason: str) -> None:
    (e,) = explain(_dsn(recipient, status, diagnostic))
    assert (e.recipient, e.reason) == (recipient, reason)


@pytest.mark.parametrize(
    ("recipient", "remote", "diagnostic", "status", "reason"),
    [
        ("taro@au.com", "msmx.au.com", "550 : User unknown", "5.0.0", "filtered"),
        ("taro@au.com", "msmx.au.com", "550 <taro@au.com>: User unknown", "5.1.1", "userunknown"),
        ("taro@ezweb.ne.jp", "lsean.ezweb.ne.jp", "550 : User unknown", "5.0.0", "filtered"),
        ("taro@docomo.ne.jp", "mfsmax.docomo.ne.jp", "550 Unknown user taro@docomo.ne.jp",
         "5.1.1", "userunknown"),
    ],
    ids=["au-filter", "au-nouser", "ezweb-filter", "docomo-nouser-2026"],
)  # fmt: skip
def test_carrier_reply(
    recipient: str, remote: str, diagnostic: str, status: str, reason: str
) -> None:
    (e,) = explain(_dsn(recipient, status, diagnostic, remote))
    assert e.reason == reason
