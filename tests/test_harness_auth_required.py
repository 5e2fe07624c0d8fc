"""``serve --user``: mail needs AUTH, and AUTH needs STARTTLS unless allowed in clear.

Mailpit's rule (``--smtp-auth-allow-insecure``), after RFC 4954 §4: PLAIN and
LOGIN send the password in clear, so they are offered only over TLS.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.harness.server import AuthConfigError
from maildoctor.web.app import run_in_thread


def message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Lentrance <no-reply@lentrance.com>"
    msg["To"] = "taro@docomo.ne.jp"
    msg["Subject"] = "auth"
    msg.set_content("本文\n")
    return msg


def test_with_starttls_mail_without_auth_gets_530_and_auth_waits_for_tls(
    tmp_path: Path,
) -> None:
    with run_in_thread(tmp_path / "h.sqlite3", http_port=None, tls=True, users={"ci": "pw"}) as h:
        with smtplib.SMTP(*h.smtp_address, timeout=10) as smtp:
            smtp.ehlo()
            assert not smtp.has_extn("auth")
            assert smtp.docmd("AUTH", "PLAIN AGNpAHB3")[0] == 538  # not before STARTTLS
            code, text = smtp.mail("no-reply@lentrance.com")
            assert (code, text) == (530, b"5.7.0 Authentication required")
            context = ssl.create_default_context(cafile=str(tmp_path / "harness-cert.pem"))
            smtp.starttls(context=context)
            smtp.ehlo()
            assert smtp.mail("no-reply@lentrance.com")[0] == 530  # TLS alone is not enough
            smtp.rset()
            smtp.login("ci", "pw")
            assert smtp.send_message(message()) == {}
        assert len(h.messages()) == 1


def test_allow_insecure_offers_auth_in_clear_and_still_requires_it(tmp_path: Path) -> None:
    with run_in_thread(
        tmp_path / "h.sqlite3", http_port=None, users={"ci": "pw"}, auth_allow_insecure=True
    ) as h:
        with smtplib.SMTP(*h.smtp_address, timeout=10) as smtp:
            smtp.ehlo()
            assert "PLAIN" in smtp.esmtp_features["auth"]
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                smtp.send_message(message())
            assert refused.value.smtp_code == 530
            smtp.login("ci", "pw")
            assert smtp.send_message(message()) == {}
        [stored] = h.messages()
        assert not any("pw" in line.split() for line in stored.transcript)


def test_accounts_without_tls_or_permission_do_not_start(tmp_path: Path) -> None:
    with pytest.raises(AuthConfigError, match="need STARTTLS"):
        run_in_thread(tmp_path / "h.sqlite3", http_port=None, users={"ci": "pw"})


def test_without_accounts_no_auth_is_needed(tmp_path: Path) -> None:
    with (
        run_in_thread(tmp_path / "h.sqlite3", http_port=None) as h,
        smtplib.SMTP(*h.smtp_address, timeout=10) as smtp,
    ):
        assert smtp.send_message(message()) == {}


def test_serve_user_without_starttls_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["serve", "--user", "ci:pw", "--no-http"])
    assert result.exit_code == 2
    assert "--user needs --starttls" in result.stderr
    assert "--auth-allow-insecure" in result.stderr


def test_send_needs_the_login_the_harness_asks_for(tmp_path: Path) -> None:
    with run_in_thread(
        tmp_path / "h.sqlite3", http_port=None, users={"ci": "pw"}, auth_allow_insecure=True
    ) as h:
        host, port = h.smtp_address
        args = ["send", "password_reset", "--to", "taro@docomo.ne.jp", "--smtp", f"{host}:{port}"]
        anonymous = CliRunner().invoke(main, args)
        assert anonymous.exit_code == 1
        assert anonymous.stdout == "taro@docomo.ne.jp\t530 5.7.0 Authentication required\n"
        logged_in = CliRunner().invoke(main, [*args, "--user", "ci", "--password", "pw"])
        assert logged_in.exit_code == 0, logged_in.output
        assert logged_in.stdout.endswith("\tdelivered (rule default)\n")
