"""`maildoctor send` and `maildoctor serve` through click's CliRunner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.harness.policy import Profile
from maildoctor.harness.server import HarnessThread
from maildoctor.web.app import run_in_thread
from tests.ports import free_port


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[HarnessThread]:
    with run_in_thread(tmp_path / "h.sqlite3", http_port=None) as h:
        yield h


def smtp_opt(h: HarnessThread) -> list[str]:
    host, port = h.smtp_address
    return ["--smtp", f"{host}:{port}"]


def test_send_provisional_registration(harness: HarnessThread) -> None:
    result = CliRunner().invoke(
        main, ["send", "provisional_registration", "--to", "taro@docomo.ne.jp", *smtp_opt(harness)]
    )
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "taro@docomo.ne.jp\t250 2.0.0 OK: stored as message 1, never relayed"
        "\tdelivered (rule default)\n"
    )
    [stored] = harness.messages()
    assert stored.subject == "[Lentrance]仮登録完了のお知らせ"


def test_send_reports_a_carrier_rejection(harness: HarnessThread) -> None:
    harness.set_profile("au.com", Profile.for_carrier("au", refuse_url=True))
    result = CliRunner().invoke(
        main,
        [
            "send",
            "password_reset",
            "--to",
            "hanako@au.com",
            "--to",
            "x@gmail.com",
            "--charset",
            "iso-2022-jp",
            "--format",
            "json",
            *smtp_opt(harness),
        ],
    )
    # One DATA reply (250) covers both; the harness says au's filter refused hanako.
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["harness"] is True
    assert [(r["code"], r["outcome"], r["rule"]) for r in doc["replies"]] == [
        (250, "rejected", "refuse_url"),
        (250, "delivered", "default"),
    ]
    assert harness.messages()[0].decision_for("hanako@au.com").decision.reply == "550 User unknown"

    result = CliRunner().invoke(
        main, ["send", "password_reset", "--to", "hanako@au.com", *smtp_opt(harness)]
    )
    assert result.exit_code == 1
    assert result.stdout == "hanako@au.com\t550 User unknown\trejected (rule refuse_url)\n"


def test_send_rcpt_refusal_exits_1(harness: HarnessThread) -> None:
    harness.set_faults("user_unknown")
    result = CliRunner().invoke(
        main, ["send", "password_reset", "--to", "ghost@docomo.ne.jp", *smtp_opt(harness)]
    )
    assert result.exit_code == 1
    assert result.stdout == "ghost@docomo.ne.jp\t550 5.1.1 User unknown\n"


def test_send_with_starttls_and_auth(tmp_path: Path) -> None:
    with run_in_thread(tmp_path / "h.sqlite3", http_port=None, tls=True, users={"u": "p"}) as h:
        args = ["send", "password_reset", "--to", "taro@docomo.ne.jp", *smtp_opt(h), "--starttls"]
        ok = CliRunner().invoke(main, [*args, "--user", "u", "--password", "p"])
        assert ok.exit_code == 0, ok.output
        bad = CliRunner().invoke(main, [*args, "--user", "u", "--password", "wrong"])
        assert bad.exit_code == 4  # nothing was sent: not a recipient refusal
        assert bad.stderr.startswith("Error: The server refused the login for 'u': 535")
        assert len(h.messages()) == 1


@pytest.mark.parametrize(
    ("args", "code", "stderr"),
    [
        (
            ["send", "nosuch", "--to", "a@b.jp"],
            2,
            "Error: There is no template 'nosuch' in",
        ),
        (
            ["send", "password_reset", "--to", "a@b.jp", "--smtp", "127.0.0.1:{free}"],
            4,
            "Error: Cannot connect to the SMTP server at 127.0.0.1:{free}",
        ),
        (
            ["send", "password_reset", "--to", "a@b.jp", "--smtp", "127.0.0.1:99999"],
            2,
            "'127.0.0.1:99999' is not HOST:PORT with a port from 0 to 65535",
        ),
        (
            ["serve", "--smtp", "0.0.0.0:1025"],
            2,
            "Error: --smtp 0.0.0.0 is not a loopback address: captured mail would be readable",
        ),
        (
            ["serve", "--faults", "rcpt=5 x"],
            2,
            "Error: Fault 'rcpt=5 x': the reply must start with a 3-digit SMTP code.",
        ),
        (
            ["serve", "--profiles", "{tmp}/missing.toml"],
            2,
            "Error: Cannot read the profiles file",
        ),
    ],
    ids=["unknown-template", "refused", "bad-port", "non-loopback", "bad-faults", "no-profiles"],
)
def test_cli_errors(tmp_path: Path, args: list[str], code: int, stderr: str) -> None:
    free = free_port()
    args = [a.format(free=free, tmp=tmp_path) for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, result.output
    assert stderr.format(free=free) in result.stderr.replace("\n", " ").replace("  ", " ")
    assert "Traceback" not in result.output


def test_serve_port_in_use(tmp_path: Path, harness: HarnessThread) -> None:
    host, port = harness.smtp_address
    result = CliRunner().invoke(
        main, ["serve", "--smtp", f"{host}:{port}", "--no-http", "--db", str(tmp_path / "x.db")]
    )
    assert result.exit_code == 4  # the harness cannot run here: README "Exit status"
    assert result.stderr.startswith("Error: Cannot listen:")


@pytest.mark.parametrize(
    ("faults", "stdout"),
    [
        (
            "data=451 4.3.0 Try later",
            "taro@docomo.ne.jp\t451 4.3.0 Try later\njiro@docomo.ne.jp\t451 4.3.0 Try later\n",
        ),
        (
            "rcpt=421 4.7.0 Rate limited,to=taro@docomo.ne.jp",
            "taro@docomo.ne.jp\t421 4.7.0 Rate limited\n"
            "jiro@docomo.ne.jp\t421 4.7.0 Rate limited\n",
        ),
        (
            "after_data,drop",
            "taro@docomo.ne.jp\t0 the server closed the connection without a reply\n"
            "jiro@docomo.ne.jp\t0 the server closed the connection without a reply\n",
        ),
    ],
    ids=["data-refused", "rcpt-421-closes", "dropped-after-data"],
)
def test_send_reports_each_recipient_when_the_server_gives_up(
    harness: HarnessThread, faults: str, stdout: str
) -> None:
    harness.set_faults(faults)
    result = CliRunner().invoke(
        main,
        [
            "send",
            "password_reset",
            "--to",
            "taro@docomo.ne.jp",
            "--to",
            "jiro@docomo.ne.jp",
            *smtp_opt(harness),
        ],
    )
    assert (result.exit_code, result.stdout, result.stderr) == (1, stdout, "")
