"""Plain-text layouts named after Sisimai's Lhost modules (ApacheJames, mFILTER,
X1, X2, X3, X4, X6, Exchange2003, Notes, OpenSMTPD) and Sisimai::Rhost::Mimecast.

Each message here is written from the module's markers, not copied from Sisimai's
samples (those stay unseen, for evaluation)."""

from __future__ import annotations

import pytest

from maildoctor.bounce import explain, parse_bounces


def _mail(headers: str, body: str) -> bytes:
    head = "Date: Mon, 2 Nov 2026 10:00:00 +0900\nTo: shop@sender.example\n" + headers
    return (head.strip() + "\nMIME-Version: 1.0\nContent-Type: text/plain\n\n" + body).encode()


JAMES = _mail(
    "From: postmaster@mx.sender.example\nSubject: [BOUNCE]\n"
    "Message-ID: <1234.5678.JavaMail.root@mx.sender.example>",
    "Hi. This is the James mail server at mx.sender.example.\n"
    "I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
    "Failed recipient(s):\nreader@books.example\n\n"
    "Error message below:\n550 - Requested action not taken: no such user here\n\n"
    "Message details:\n  Subject: Your order\n  MAIL FROM: shop@sender.example\n"
    "  RCPT TO: reader@books.example\n",
)

MFILTER = _mail(
    "From: mailer-daemon@gw.sender.example\nSubject: failure notice\nX-Mailer: m-FILTER",
    "このメールは「m-FILTER」が自動的に生成して送信しています。\n\n"
    "以下のメールアドレスへの送信に失敗しました。\nreader@books.example\n\n"
    "-------server message\n550 5.1.1 unknown user <reader@books.example>\n\n"
    "-------SMTP command\nRCPT\n\n-------original message\nTo: reader@books.example\n",
)

X1 = _mail(
    'From: "Mail Deliver System" <postmaster@mx.sender.example>\n'
    "Subject: Returned Mail: User unknown",
    "The original message was received at Mon, 2 Nov 2026 09:59:00 +0900\n"
    "from shop@sender.example\n\n---The following addresses had delivery errors---\n\n"
    "reader@books.example [User unknown]\n",
)

X2 = _mail(
    "From: MAILER-DAEMON@mx.sender.example\nSubject: Delivery failure",
    "Message from books.example.\n"
    "Unable to deliver message to the following address(es).\n\n"
    "<reader@books.example>:\n"
    "This user doesn't have a books.example account (reader@books.example) [0]\n\n"
    "--- Original message follows.\n",
)

X3 = _mail(
    'From: "Mail Delivery System" <postmaster@mx.sender.example>\n'
    "Subject: Delivery status notification",
    "=" * 60 + "\n      This is an automatically generated Delivery Status Notification.\n\n"
    "Delivery to the following recipients failed permanently:\n\n"
    "  * reader@books.example\n\n" + "=" * 60 + "\n"
    "                        Technical details:\n\n"
    "SMTP:RCPT host 192.0.2.8: 550 5.1.1 <reader@books.example>... User unknown\n\n"
    + "=" * 60
    + "\n",
)

X6 = _mail(
    "From: mailer@sender.example\nSubject: There was an error sending your mail",
    "We had trouble delivering your message. Full details follow:\n\n"
    "Subject: 'Your order'\n\n1 error(s):\n\n"
    "SMTP Server <mx.books.example> rejected recipient <reader@books.example> "
    "(Error following RCPT command). It responded as follows: [550 5.1.1 User unknown]\n\n"
    "The attachment contains the original mail headers\n",
)

EXCHANGE2003 = _mail(
    "From: System Administrator <postmaster@corp.sender.example>\nSubject: Undeliverable: order",
    "Your message\n\n  To:      reader@books.example\n  Subject: order\n\n"
    "did not reach the following recipient(s):\n\n"
    "reader@books.example on Mon, 2 Nov 2026 10:00:00 +0900\n"
    "    The recipient name is not recognized\n"
    "    MSEXCH:IMS:SenderCorp:HQ:MAIL01 0 (000C05A6) Unknown Recipient\n",
)

NOTES = _mail(
    "From: Postmaster@notes.books.example\nSubject: Undeliverable message",
    "------- Failure Reasons  --------\n\n"
    "User not listed in public Name & Address Book\nreader@books.example\n\n"
    "------- Returned Message --------\nTo: reader@books.example\n",
)

OPENSMTPD = _mail(
    "From: MAILER-DAEMON@mx.sender.example\nSubject: Delivery status notification: error",
    "Hi!\n\nThis is the MAILER-DAEMON, please DO NOT REPLY to this email.\n\n"
    "An error has occurred while attempting to deliver a message for\n"
    "the following list of recipients:\n\n"
    "reader@books.example: 550 5.2.2 <reader@books.example>... Mailbox Full\n\n"
    "    Below is a copy of the original message:\n\nTo: reader@books.example\n",
)


X4 = _mail(
    "Received: (qmail 4321 invoked for bounce); 2 Nov 2026 01:00:00 -0000\n"
    "From: MAILER-DAEMON@mx.sender.example\nSubject: Permanent Delivery Failure",
    "Unfortunately, your mail was not delivered to the following address:\n\n"
    "<reader@books.example>:\n192.0.2.7 does not like recipient.\n"
    "Remote host said: 550 5.1.1 <reader@books.example>... User Unknown\n"
    "Giving up on 192.0.2.7.\n\n--- Below this line is a copy of the message.\n",
)


# "User unknown" with no status code and no SMTP command named is *filtered* (the
# rule Sisimai::Reason::Filtered applies; see maildoctor/bounce/reasons.py): James,
# X1 and X2 name neither, so that is what Sisimai reports for them too.
@pytest.mark.parametrize(
    ("raw", "mta", "command", "reason"),
    [
        (JAMES, "Apache James", "", "filtered"),
        (MFILTER, "m-FILTER", "RCPT", "userunknown"),
        (X1, "Unknown MTA X1", "", "filtered"),
        (X2, "Unknown MTA X2", "", "filtered"),
        (X3, "Unknown MTA X3", "RCPT", "userunknown"),
        (X6, "Unknown MTA X6", "RCPT", "userunknown"),
        (EXCHANGE2003, "Exchange 2003", "", "userunknown"),
        (NOTES, "IBM Notes", "", "userunknown"),
        (OPENSMTPD, "OpenSMTPD", "", "mailboxfull"),
        (X4, "qmail clone", "RCPT", "userunknown"),
    ],
    ids=[
        "ApacheJames",
        "mFILTER",
        "X1",
        "X2",
        "X3",
        "X6",
        "Exchange2003",
        "Notes",
        "OpenSMTPD",
        "X4",
    ],
)
def test_layout_names_writer_recipient_and_reason(
    raw: bytes, mta: str, command: str, reason: str
) -> None:
    (parsed,) = parse_bounces(raw)
    assert parsed.mta == mta
    (found,) = explain(raw)
    assert found.recipient == "reader@books.example"
    assert found.reason == reason, found.diagnostic
    assert "original message" not in found.diagnostic.lower()  # the quoted copy is cut off
    if command:
        assert parsed.recipients[0].command == command


def test_reason_given_once_apart_from_recipients_reaches_each_of_them() -> None:
    """James writes one "Error message below:" for all; both recipients carry it."""
    raw = JAMES.replace(
        b"reader@books.example\n\nError", b"reader@books.example\nother@books.example\n\nError"
    )
    found = explain(raw)
    assert [e.recipient for e in found] == ["reader@books.example", "other@books.example"]
    assert all("no such user here" in e.diagnostic for e in found)


def _postfix(host: str, reply: str) -> bytes:
    return _mail(
        "From: MAILER-DAEMON@mx.sender.example (Mail Delivery System)\n"
        "Subject: Undelivered Mail Returned to Sender",
        "This is the mail system at host mx.sender.example.\n\n"
        f"<reader@corp.example>: host {host}[192.0.2.1] said: {reply} "
        "(in reply to end of DATA command)\n",
    )


def test_mimecast_words_mean_what_mimecast_documents() -> None:
    """Sisimai::Rhost::Mimecast: Mimecast's own reply texts, read only from its hosts."""
    said = "550 Local CT IP Reputation - (Reject) https://community.mimecast.com/"
    (found,) = explain(_postfix("eu-smtp-inbound-1.mimecast.com", said))
    assert (found.reason, found.decided_by) == ("badreputation", "rhost:Mimecast")
    (elsewhere,) = explain(_postfix("mx.corp.example", said))
    assert elsewhere.decided_by != "rhost:Mimecast"


def test_help_desk_address_in_the_notice_is_not_a_recipient() -> None:
    """An ISP's Postfix notice names its help desk ("please contact <support@...>") twice;
    only the address with the remote server's words failed."""
    raw = _mail(
        "From: MAILER-DAEMON@mx.sender.example (Mail Delivery System)\n"
        "Subject: Undelivered Mail Returned to Sender",
        "This is the Postfix program at host mx.sender.example.\n\n"
        "For further assistance, please contact <help@isp.example>\n\n"
        "Japanese text here, then again: <help@isp.example>\n\n"
        "<reader@books.example>: host mx.books.example[192.0.2.1] said: 550 5.1.1 "
        "<reader@books.example>: User unknown (in reply to RCPT TO command)\n",
    )
    assert [(e.recipient, e.reason) for e in explain(raw)] == [
        ("reader@books.example", "userunknown")
    ]


def test_reason_written_once_above_the_recipient_line_decides() -> None:
    """Sisimai::Lhost::EZweb: au's notice says "The user(s) account is disabled." above
    "<addr>: 550 user unknown"; the mailbox is suspended (soft), not unknown."""
    raw = _mail(
        "From: Mail Delivery Subsystem <MAILER-DAEMON@ezweb.ne.jp>\n"
        "Subject: Mail System Error - Returned Mail\n"
        "Received: from mx.sender.example by lsean.ezweb.ne.jp (EZweb Mail) with SMTP",
        "The user(s) account is disabled.\n\n\n"
        "<reader@ezweb.ne.jp>: 550 user unknown (in reply to RCPT TO command)\n",
    )
    (found,) = explain(raw)
    assert (found.reason, found.hard_bounce) == ("suspend", False)


@pytest.mark.parametrize(
    ("code", "reason", "hard"),
    [("RCP-P1", "userunknown", True), ("RCP-P2", "filtered", False), ("RCP-T4", "suspend", False)],
)
def test_facebook_response_codes(code: str, reason: str, hard: bool) -> None:
    """Sisimai::Lhost::Facebook: the code in the reply, from Facebook's published list."""
    raw = _mail(
        "From: Facebook <mailer-daemon@mx.facebook.com>\n"
        "Subject: Sorry, your message could not be delivered",
        "This message was created automatically by Facebook.\n\n"
        f"<reader@facebook.com>: 550 5.1.1 {code} "
        "http://postmaster.facebook.com/response_codes#rcp Refused\n",
    )
    (found,) = explain(raw)
    assert (found.reason, found.hard_bounce) == (reason, hard)


@pytest.mark.parametrize(("reply", "hard"), [("421 4.3.2", False), ("554 5.3.2", True)])
def test_host_not_accepting_mail_is_hard_only_when_permanent(reply: str, hard: bool) -> None:
    """Sisimai::SMTP::Failure->is_hardbounce: notaccept is hard for 5xx, soft for 4xx."""
    raw = _postfix("mx.corp.example", f"{reply} System not accepting network messages")
    (found,) = explain(raw)
    assert (found.reason, found.hard_bounce) == ("notaccept", hard)


@pytest.mark.parametrize(
    ("host", "reply", "reason", "hard"),
    [
        # Sisimai::Rhost::FrancePTT: Orange's and La Poste's codes decide
        (
            "smtp-in.orange.fr",
            "552 5.1.1 Boite du destinataire pleine. OFR_417",
            "mailboxfull",
            False,
        ),
        ("smtpz4.laposte.net", "550 5.5.0 Compte bloque. LPN007_426", "suspend", False),
        ("smtpz4.laposte.net", "550 5.1.1 Invalid recipient. LPN007_416", "userunknown", True),
        # Sisimai::Rhost::Google: the account exists but is disabled (soft, not unknown)
        (
            "gmail-smtp-in.l.google.com",
            "550 5.2.1 The email account that you tried to reach is disabled.",
            "suspend",
            False,
        ),
        # Sisimai::Rhost::Spectrum and ::GoDaddy: the provider's own numbers
        ("mx.charter.net", "554 5.7.1 AUP#1260 network problem", "networkerror", False),
        ("smtp.secureserver.net", "552 5.7.0 IB212 content rejected", "spamdetected", False),
        # Sisimai::Rhost::Cox: the AUP# code
        ("cxr.mx.a.cloudfilter.net", "550 5.1.0 sender rejected. AUP#CXBL", "blocked", False),
        # Sisimai::Rhost::Tencent
        ("mx3.qq.com", "550 Mailbox unavailable: is a deactivated mailbox", "suspend", False),
    ],
)
def test_provider_tables_decide(host: str, reply: str, reason: str, hard: bool) -> None:
    raw = _postfix(host, reply)
    if "cloudfilter" in host:  # Cox's filter host: the recipient's domain names Cox
        raw = raw.replace(b"reader@corp.example", b"reader@cox.net")
    (found,) = explain(raw)
    assert (found.reason, found.hard_bounce) == (reason, hard), found.decided_by
    assert found.decided_by.startswith("rhost:")


def test_qmail_refused_at_helo_is_blocked() -> None:
    """Sisimai::Lhost::qmail: "Connected to ... but my name was rejected." is blocked,
    whatever else the words say."""
    raw = _mail(
        "From: MAILER-DAEMON@mx.sender.example\nSubject: failure notice",
        "Hi. This is the qmail-send program at mx.sender.example.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        "<reader@books.example>:\nConnected to 192.0.2.1 but my name was rejected.\n"
        "Remote host said: 501 5.0.0 Invalid domain name\n"
        "I'm not going to try again; this message has been in the queue too long.\n",
    )
    (found,) = explain(raw)
    assert found.reason == "blocked"


def test_dragonfly_names_the_refused_command() -> None:
    """Sisimai::Lhost::DragonFly: "did not like our RCPT TO:" is a refusal at RCPT, so
    "User unknown" there is an unknown user, not a content filter."""
    raw = _mail(
        "From: MAILER-DAEMON@df.sender.example\nSubject: Mail delivery failed",
        "This is the DragonFly Mail Agent v0.13 at df.sender.example.\n\n"
        "There was an error delivering your mail to <reader@books.example>.\n\n"
        "mx.books.example [192.0.2.25] did not like our RCPT TO:\n"
        "550 5.2.1 <reader@books.example>: Recipient address rejected: User unknown\n",
    )
    (parsed,) = parse_bounces(raw)
    assert parsed.recipients[0].command == "RCPT"
    (found,) = explain(raw)
    assert found.reason == "userunknown"


def test_a_notice_repeated_after_the_last_recipient_does_not_lend_it_another_s_reason() -> None:
    """Mail.ru's notice says it all twice (Russian, then English): the last recipient's
    words end where another recipient comes up again."""
    raw = _mail(
        "From: Mail Delivery System <mailer-daemon@corp.mail.example>\n"
        "Subject: Mail delivery failed: returning message to sender",
        "first@books.example SMTP error from remote mail server after RCPT TO:"
        "<first@books.example>: 550 5.2.2 <first@books.example>... Mailbox Full\n"
        "second@books.example SMTP error from remote mail server after RCPT TO:"
        "<second@books.example>: 550 5.1.1 <second@books.example>... User Unknown\n\n"
        "This message was created automatically by mail delivery software.\n"
        "first@books.example SMTP error from remote mail server after RCPT TO:"
        "<first@books.example>: 550 5.2.2 <first@books.example>... Mailbox Full\n",
    )
    found = {e.recipient: e.reason for e in explain(raw)}
    assert found == {"first@books.example": "mailboxfull", "second@books.example": "userunknown"}


def test_a_local_delivery_agent_s_words_decide_when_no_mta_layout_is_known() -> None:
    """Sisimai::MDA (read in Sisimai's RFC 3464 fallback): maildrop's "maildir over
    quota." is a full mailbox, vdelivermail's "no mailbox here by that name" is gone."""
    for said, reason in (
        ("maildrop: maildir over quota.", "mailboxfull"),
        ("vdelivermail: Sorry, no mailbox here by that name.", "userunknown"),
    ):
        raw = _mail(
            "From: MAILER-DAEMON@box.books.example\nSubject: delivery problem",
            f"The mail to reader@books.example could not be delivered.\n\n{said}\n",
        )
        (parsed,) = parse_bounces(raw)
        assert parsed.mta == ""
        (found,) = explain(raw)
        assert found.reason == reason
