"""Receivers' own tables (``[rhost_*]`` in bounce_reasons.toml), through ``maildoctor bounce``.

Each case is a delivery report built as the sending MTA (Postfix here, or the
receiver's own MTA where the receiver writes the notice) writes it for that
receiver's reply: the reply words and status are the receiver's published ones
(the source of each table is named in the data file). The table must decide
(``decided_by``), and the reason and hard/soft must be the receiver's meaning,
which often differs from what the status alone says (a 5.1.1 that is a filter).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main


@dataclass(frozen=True)
class Reply:
    table: str
    recipient: str
    status: str
    diagnostic: str
    remote: str = ""
    """The refusing host ("" when the notice's writer is the receiver itself)."""
    reporting: str = "mail.lentrance.com"
    action: str = "failed"
    command: str = "RCPT TO"


def _dsn(r: Reply) -> bytes:
    """A Postfix-shaped delivery report (notice, delivery-status, returned headers)."""
    said = (
        f"host {r.remote}[192.0.2.77] said: {r.diagnostic} (in reply to {r.command} command)"
        if r.remote
        else r.diagnostic
    )
    remote = f"Remote-MTA: dns; {r.remote}\n" if r.remote else ""
    subject = (
        "Delayed Mail (still being retried)"
        if r.action == "delayed"
        else ("Undelivered Mail Returned to Sender")
    )
    return f"""Return-Path: <>
Received: by {r.reporting} (Postfix) id 4XyZ1k2Lm3z9q; Mon,  7 Dec 2026 10:00:02 +0900 (JST)
Date: Mon,  7 Dec 2026 10:00:02 +0900 (JST)
From: MAILER-DAEMON@{r.reporting} (Mail Delivery System)
Subject: {subject}
To: bounce@lentrance.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4XyZ1k2Lm3z9q.1796432402/{r.reporting}"
Message-Id: <20261207010002.4XyZ1k2Lm3z9q@{r.reporting}>

This is a MIME-encapsulated message.

--4XyZ1k2Lm3z9q.1796432402/{r.reporting}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host {r.reporting}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<{r.recipient}>: {said}

--4XyZ1k2Lm3z9q.1796432402/{r.reporting}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; {r.reporting}
X-Postfix-Queue-ID: 4XyZ1k2Lm3z9q
X-Postfix-Sender: rfc822; bounce@lentrance.com
Arrival-Date: Mon,  7 Dec 2026 10:00:01 +0900 (JST)

Final-Recipient: rfc822; {r.recipient}
Original-Recipient: rfc822;{r.recipient}
Action: {r.action}
Status: {r.status}
{remote}Diagnostic-Code: smtp; {r.diagnostic}

--4XyZ1k2Lm3z9q.1796432402/{r.reporting}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Lentrance <info@lentrance.com>
To: {r.recipient}
Subject: =?UTF-8?B?5Luu55m76Yyy44Gu44GK55+l44KJ44Gb?=
Message-ID: <reg-20261207-1@lentrance.com>
Date: Mon, 7 Dec 2026 10:00:00 +0900

--4XyZ1k2Lm3z9q.1796432402/{r.reporting}--
""".replace("\n", "\r\n").encode()


CASES = {
    # postmaster.facebook.com/response_codes: RCP-P2 is the recipient's preferences, not
    # a missing user, though the status says 5.1.1
    "facebook-preferences": (
        Reply(
            "Facebook",
            "taro.lentrance@facebook.com",
            "5.1.1",
            "550 5.1.1 RCP-P2 http://postmaster.facebook.com/response_codes?ip=192.0.2.25#rcp"
            " Refused due to recipient preferences",
            remote="msgin.vvv.facebook.com",
        ),
        "filtered",
        False,
    ),
    "facebook-deactivated": (
        Reply(
            "Facebook",
            "hanako.lentrance@facebook.com",
            "4.2.1",
            "450 4.2.1 RCP-T4 http://postmaster.facebook.com/response_codes?ip=192.0.2.25#rcp"
            " Recipient address is currently deactivated",
            remote="msgin.vvv.facebook.com",
        ),
        "suspend",
        False,
    ),
    # Aol's own MTA writes about a domain whose MX answer is broken: no remote host
    "aol-malformed-mx": (
        Reply(
            "Aol",
            "taro@example.co.jp",
            "5.4.4",
            "Host or domain name not found. Name service error for name=example.co.jp"
            " type=MX: Malformed or unexpected name server reply",
            reporting="omr-a015e.mx.aol.com",
        ),
        "notaccept",
        True,
    ),
    # Outlook.com, for a forwarding address whose domain it cannot reach
    "outlook-domain-unreachable": (
        Reply(
            "Outlook",
            "hanako@outlook.com",
            "5.5.0",
            "554 5.5.0 The mail could not be delivered to the recipient because the domain"
            " is not reachable. Please check the domain and try again",
            remote="outlook-com.olc.protection.outlook.com",
        ),
        "hostunknown",
        True,
    ),
    # Broadcom Email Security.cloud refuses a relay without SMTP AUTH: our setup, not the
    # recipient
    "messagelabs-auth": (
        Reply(
            "MessageLabs",
            "taro@example.com",
            "5.0.0",
            "553-you are trying to use me [server-5.tower-426.messagelabs.com] as a relay,"
            " but I have not been configured to let you (192.0.2.25) do this. Please turn"
            " on SMTP Authentication in your mail client.",
            remote="cluster8.eu.messagelabs.com",
        ),
        "securityerror",
        False,
    ),
    # Google Workspace (its DSNs say "Reporting-MTA: dns; googlemail.com"): a domain
    # that does not exist is hard only with a permanent status; the same words while
    # retrying are a DNS trouble
    "gsuite-nxdomain-permanent": (
        Reply(
            "GSuite",
            "taro@example.net",
            "5.1.2",
            "DNS Error: 27622991 DNS type 'mx' lookup of example.net responded with code"
            " NXDOMAIN Domain name not found: example.net",
            reporting="googlemail.com",
        ),
        "hostunknown",
        True,
    ),
    "gsuite-nxdomain-delayed": (
        Reply(
            "GSuite",
            "taro@example.net",
            "4.4.3",
            "DNS Error: 27622991 DNS type 'mx' lookup of example.net responded with code"
            " NXDOMAIN Domain name not found: example.net",
            reporting="googlemail.com",
            action="delayed",
        ),
        "networkerror",
        False,
    ),
    # Zoho's content policy refuses the message after DATA: a live mailbox
    "zoho-policy": (
        Reply(
            "Zoho",
            "hanako@zoho.com",
            "5.7.7",
            "554 5.7.7 Email policy violation detected",
            remote="mx.zoho.com",
            command="end of DATA",
        ),
        "policyviolation",
        False,
    ),
    # Mimecast's own codes (Sisimai 5.2): a route that needs TLS 1.2 is the sending MTA's
    # TLS, not a security policy against the sender
    "mimecast-tls": (
        Reply(
            "Mimecast",
            "taro@example.co.uk",
            "5.0.0",
            "553 This route requires TLS version 1.2 or greater -"
            " https://community.mimecast.com/docs/DOC-1369#553 [ZxYwVuTsRqPoNmLk.uk123]",
            remote="eu-smtp-inbound-1.mimecast.com",
        ),
        "failedstarttls",
        False,
    ),
    # Cloudflare Email Routing names the sending IP's DNSBL listing
    "cloudflare-dnsbl": (
        Reply(
            "Cloudflare",
            "info@example.org",
            "5.7.1",
            "554 5.7.1 192.0.2.25 found on one or more DNSBLs, see"
            " https://developers.cloudflare.com/email-routing/postmaster/#spam-and-abusive-traffic",
            remote="route1.mx.cloudflare.net",
        ),
        "blocked",
        False,
    ),
    # Proofpoint's reputation block points to its IP lookup: the sender's IP, never the
    # recipient's mailbox, even under a 5.1.x status
    "proofpoint-pdr": (
        Reply(
            "Proofpoint",
            "taro@example.com",
            "5.1.0",
            "550 5.1.0 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.25",
            remote="mx0a-00123456.pphosted.com",
        ),
        "blocked",
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_receivers_table_decides(case: str, tmp_path: Path) -> None:
    reply, reason, hard = CASES[case]
    eml = tmp_path / f"{case}.eml"
    eml.write_bytes(_dsn(reply))
    result = CliRunner().invoke(main, ["bounce", "--format", "json", "--lang", "en", str(eml)])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["recipient"] == reply.recipient
    assert row["status"] == reply.status
    assert (row["reason"], row["hard_bounce"]) == (reason, hard)
    assert row["decided_by"] == f"rhost:{reply.table}"
