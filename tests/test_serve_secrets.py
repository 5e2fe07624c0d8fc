"""Secrets kept out of argv: ``--user-file`` and ``$MAILDOCTOR_USERS`` (USER:PASSWORD
lines) beside ``$MAILDOCTOR_DESK_PASSWORD``; a password given in argv is warned about,
since ``ps`` shows it to every local user. ``serve`` runs as a child process."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from tests.serveproc import ServeProcess

WARNING = "warning: --user puts passwords in the command line"


def logs_in(address: tuple[str, int], user: str, password: str) -> bool:
    with smtplib.SMTP(*address, timeout=10) as smtp:
        smtp.ehlo()
        try:
            smtp.login(user, password)
        except smtplib.SMTPAuthenticationError:
            return False
        return True


def test_accounts_from_a_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "users.txt"
    users.write_text("# CI accounts\nci:s3cret\n\nbob:pa:ss word\n", encoding="utf-8")
    monkeypatch.setenv("MAILDOCTOR_USERS", "env-user:env pass\nci:overridden-by-the-file")
    args = ("--auth-dns", "off", "--auth-allow-insecure", "--user-file", str(users))
    with ServeProcess(*args, "--db", str(tmp_path / "h.sqlite3")) as serve:
        assert not any(WARNING in line for line in serve.banner)
        assert logs_in(serve.smtp_address, "ci", "s3cret")
        assert logs_in(serve.smtp_address, "bob", "pa:ss word")  # the first ':' splits
        assert logs_in(serve.smtp_address, "env-user", "env pass")
        assert not logs_in(serve.smtp_address, "ci", "overridden-by-the-file")


def test_a_password_in_argv_is_warned_about(tmp_path: Path) -> None:
    args = ("--auth-dns", "off", "--auth-allow-insecure", "--user", "ci:s3cret")
    desk = ("--desk-password", "desk-s3cret")
    with ServeProcess(*args, *desk, "--db", str(tmp_path / "h.sqlite3")) as serve:
        assert any(line.startswith(WARNING) for line in serve.banner)
        assert any(
            line.startswith("warning: --desk-password puts the password in the command line")
            and "$MAILDOCTOR_DESK_PASSWORD" in line
            for line in serve.banner
        )
        said = "\n".join(serve.banner) + "\n" + serve.stderr_now(1.0)
        assert "\nLimits SMTP 500 sessions (100 per client)" in said
        assert logs_in(serve.smtp_address, "ci", "s3cret")


def test_a_bad_user_file_line_is_a_usage_error_without_the_password(tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("ci:s3cret\nno-colon-s3cret2\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--user-file", str(users)])
    assert result.exit_code == 2
    assert f"{users} line 2 is not USER:PASSWORD." in result.stderr
    assert "s3cret2" not in result.stderr
    result = CliRunner().invoke(main, ["serve", "--user-file", str(tmp_path / "none.txt")])
    assert result.exit_code == 2
