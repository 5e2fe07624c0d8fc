"""The reason rules (after Sisimai::Reason), on the misreadings the held-out corpus showed."""

from __future__ import annotations

from pathlib import Path

from maildoctor.bounce import explain
from maildoctor.bounce.reasons import Facts, current_name, decide
from maildoctor.bounce.vocabulary import lhost_reason

DATA = Path(__file__).parent / "data"


def test_user_unknown_after_data_is_a_filter() -> None:
    words = "550 5.0.0 unknown user"
    assert decide(Facts(diagnostic=words, status="5.0.0", command="DATA")) == "filtered"
    assert decide(Facts(diagnostic=words, status="5.0.0", command="RCPT")) == "userunknown"


def test_words_beat_a_contradicting_status() -> None:
    words = "550 5.1.1 IP address blacklisted by recipient"
    assert decide(Facts(diagnostic=words, status="5.1.1", command="RCPT")) == "blocked"
    plain = "550 5.1.1 <taro@example.jp>: Recipient address rejected: User unknown"
    assert decide(Facts(diagnostic=plain, status="5.1.1", command="RCPT")) == "userunknown"


def test_an_mta_s_own_words_for_giving_up() -> None:
    assert lhost_reason("OpenSMTPD", "Envelope expired") == "expired"
    assert lhost_reason("DragonFly", "Could not deliver for the last 432000 seconds") == "expired"
    gmail = "The recipient server did not accept our requests to connect."
    assert lhost_reason("Gmail GSuite", gmail) == "expired"


def test_a_delayed_action_with_nothing_else_is_expired() -> None:
    assert decide(Facts(diagnostic="", status="4.0.0", action="delayed")) == "expired"


def test_old_reason_names_are_read_and_current_ones_written() -> None:
    assert current_name("toomanyconn") == current_name("speeding") == "ratelimited"
    assert current_name("mesgtoobig") == current_name("exceedlimit") == "emailtoolarge"
    words = "552 5.3.4 Message size exceeds fixed maximum message size"
    assert current_name(decide(Facts(diagnostic=words, status="5.3.4"))) == "emailtoolarge"


def test_exchange_2003_layout_is_a_bounce() -> None:
    found = explain((DATA / "bounces-more" / "exchange2003-03.eml").read_bytes())
    assert [(e.recipient, e.reason, e.mta) for e in found] == [
        ("kijitora@example.jp", "userunknown", "Exchange 2003")
    ]


def test_auto_submitted_on_a_real_bounce_is_not_a_vacation_reply() -> None:
    found = explain((DATA / "bounces-more" / "x6-02.eml").read_bytes())
    assert [(e.kind, e.reason) for e in found] == [("bounce", "userunknown")]


def test_a_resolver_failure_is_never_a_missing_domain() -> None:
    # Postfix's words when the MX lookup failed (SERVFAIL/timeout), not NXDOMAIN.
    again = (
        "Host or domain name not found. Name service error for name=example.jp "
        "type=MX: Host not found, try again"
    )
    temp = Facts(diagnostic=again, status="4.4.3", diagnostic_type="X-Postfix")
    assert decide(temp) == "networkerror"
    assert decide(Facts(diagnostic=again, status="4.4.3")) == "networkerror"
    # NXDOMAIN stays a missing domain.
    gone = again.removesuffix(", try again")
    assert decide(Facts(diagnostic=gone, status="5.4.4")) == "hostunknown"


def test_a_generic_temporary_status_of_a_delayed_mail_is_expired() -> None:
    """Sisimai::SMTP::Status leaves 4.3.0, 4.4.0, 4.5.0 and 4.7.0 unnamed: a delayed mail
    with one of them and no words is expired, not a network error."""
    for status in ("4.4.0", "4.5.0"):
        assert decide(Facts(diagnostic="", status=status, action="delayed")) == "expired"


def test_access_denied_at_mail_from_is_a_rejected_sender() -> None:
    """Sisimai::Reason::Rejected: "access denied (in reply to mail from command)"."""
    facts = Facts(diagnostic="550 5.7.1 Access denied", status="5.7.1", command="MAIL")
    assert decide(facts) == "rejected"


def test_words_are_read_with_the_command_postfix_names() -> None:
    """Sisimai's vocabulary keeps Postfix's "(in reply to RCPT TO command)": a bare
    "Recipient address rejected." refused at RCPT is an unknown user."""
    words = "550 <taro@example.jp>: Recipient address rejected."
    assert decide(Facts(diagnostic=words, status="5.0.0", command="RCPT")) == "userunknown"
    assert decide(Facts(diagnostic=words, status="5.0.0", command="")) != "userunknown"


def test_powermta_bounce_category_is_its_reason() -> None:
    """Sisimai::Lhost::PowerMTA: the X-PowerMTA-BounceCategory field of the DSN."""
    for category, reason in (("quota-issues", "mailboxfull"), ("bad-mailbox", "userunknown")):
        raw = (
            "From: postmaster@mta.sender.example\nTo: shop@sender.example\n"
            "Subject: Delivery report\nMIME-Version: 1.0\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
            "--b\nContent-Type: text/plain\n\nDelivery failed.\n\n"
            "--b\nContent-Type: message/delivery-status\n\n"
            "Reporting-MTA: dns; mta.sender.example\nX-PowerMTA-VirtualMTA: pool1\n\n"
            "Final-Recipient: rfc822; reader@books.example\nAction: failed\nStatus: 5.0.0\n"
            "Diagnostic-Code: smtp; 554 delivery error\n"
            f"X-PowerMTA-BounceCategory: {category}\n\n--b--\n"
        ).encode()
        (found,) = explain(raw)
        assert found.reason == reason


def test_sisimai_5_2_reasons_failedstarttls_and_suppressed() -> None:
    """go-sisimai: a refusal at STARTTLS (or its words) is failedstarttls; SES's own
    suppression list is suppressed. Both soft: nothing wrong with the address."""
    facts = Facts(diagnostic="530 5.7.0 Must issue a STARTTLS command first", command="STARTTLS")
    assert decide(facts) == "failedstarttls"
    words = Facts(diagnostic="554 5.7.1 TLS required but not supported", status="5.7.1")
    assert decide(words) == "failedstarttls"
    notice = (
        '{"notificationType":"Bounce","bounce":{"bounceType":"Permanent",'
        '"bounceSubType":"OnAccountSuppressionList","bouncedRecipients":[{"emailAddress":'
        '"reader@books.example","diagnosticCode":"Amazon SES did not send the message to '
        'this address because it is on the suppression list for your account."}]},'
        '"mail":{"destination":["reader@books.example"]}}'
    )
    raw = (
        "From: no-reply@sns.amazonaws.com\nTo: shop@sender.example\n"
        "Subject: AWS Notification Message\nContent-Type: text/plain\n\n" + notice + "\n"
    ).encode()
    (found,) = explain(raw)
    assert (found.reason, found.hard_bounce) == ("suppressed", False)
