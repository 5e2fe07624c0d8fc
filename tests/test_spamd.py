"""The spam score through a real SpamAssassin spamd started by the tests on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.mail.render import render_message
from maildoctor.mail.spamd import SpamdError, parse_address, parse_report, score
from maildoctor.mail.templating import ENV_VAR
from tests.spamdproc import private_spamd

SPAMMY = (
    b"From: winner@example.com\r\nTo: you@example.com\r\n"
    b"Subject: FREE VIAGRA!!! WIN MONEY NOW\r\n\r\n"
    b"Click here to claim your FREE prize!!! 100% GUARANTEED. Buy viagra cheap.\r\n"
)


@pytest.fixture(scope="module")
def spamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with private_spamd(tmp_path_factory.mktemp("spamd")) as (host, port):
        yield f"{host}:{port}"


@pytest.fixture(autouse=True)
def _shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_a_shipped_mail_is_scored_with_each_rule(spamd: str) -> None:
    raw = render_message("password_reset", to="taro@docomo.ne.jp").as_bytes()
    result = score(raw, *parse_address(spamd))
    assert not result.is_spam and result.required == 5.0
    names = {r.name for r in result.rules}
    assert "HTML_MESSAGE" in names  # a rule SpamAssassin always fires on an HTML part
    assert abs(sum(r.points for r in result.rules) - result.score) < 0.15
    assert result.findings() == []


def test_spam_fails_with_the_rules_that_fired(spamd: str) -> None:
    result = score(SPAMMY, *parse_address(spamd))
    assert result.is_spam and result.score >= result.required
    [finding] = result.findings()
    assert finding.code == "spam_score"
    top = max(result.rules, key=lambda r: r.points)
    assert f"{top.name} +{top.points:.1f}" in finding.message


def test_lint_spamd_lists_rules_and_exits_1_on_spam(spamd: str, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["lint", "password_reset", "--spamd", spamd])
    assert ok.exit_code == 0, ok.output
    assert f"spamd {spamd}: " in ok.output and "HTML_MESSAGE" in ok.output
    eml = tmp_path / "spam.eml"
    eml.write_bytes(SPAMMY)
    bad = runner.invoke(main, ["lint", "--eml", str(eml), "--spamd", spamd, "--format", "json"])
    assert bad.exit_code == 1
    spam = json.loads(bad.stdout)["results"][0]["spam"]
    assert spam["ran"] and spam["is_spam"] and spam["rules"]


def test_without_spamd_the_check_says_it_did_not_run() -> None:
    result = CliRunner().invoke(main, ["lint", "password_reset", "--format", "json"])
    assert json.loads(result.stdout)["spam"] == {"ran": False, "why": "no --spamd HOST:PORT given"}
    assert "スパム判定は未実行(--spamd なし)" in result.stderr


def test_an_unreachable_spamd_is_reported_as_could_not_run() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connection refused
        result = CliRunner().invoke(
            main, ["lint", "password_reset", "--spamd", f"127.0.0.1:{port}"]
        )
    assert result.exit_code == 4
    assert "spamd: 実行されませんでした: spamd at 127.0.0.1" in result.output
    assert "could not be reached" in result.output and "Traceback" not in result.output


def test_a_server_that_is_not_spamd() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)

        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

        threading.Thread(target=answer, daemon=True).start()
        with pytest.raises(SpamdError, match="did not answer as spamd does"):
            score(b"Subject: x\r\n\r\nx\r\n", "127.0.0.1", server.getsockname()[1], timeout=3)


@pytest.mark.parametrize("value", ["localhost", "127.0.0.1:", ":783", "h:99999", "h:x"])
def test_bad_addresses(value: str) -> None:
    with pytest.raises(ValueError, match="is not HOST:PORT"):
        parse_address(value)
    result = CliRunner().invoke(main, ["lint", "password_reset", "--spamd", value])
    assert result.exit_code == 2 and "is not HOST:PORT" in result.output


def test_report_rows_with_continuation_lines() -> None:
    report = (
        "Content analysis details:   (2.1 points, 5.0 required)\n\n"
        " pts rule name              description\n"
        "---- ---------------------- --------------------------------------------------\n"
        " 1.5 SOME_RULE              BODY: a long description\n"
        "                            that goes on\n"
        "-0.1 DKIM_VALID             Message has at least one valid DKIM signature\n\n"
        "footer 9.9 NOT_A_RULE x\n"
    )
    rules = parse_report(report)
    assert [(r.name, r.points) for r in rules] == [("SOME_RULE", 1.5), ("DKIM_VALID", -0.1)]
    assert rules[0].description == "BODY: a long description that goes on"
