"""``maildoctor lint`` through the real click group: CI's exit status and outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.mail.render import render_message
from maildoctor.mail.templating import ENV_VAR

REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SHIPPED = [
    "password_reset/default",
    "provisional_registration/email",
    "provisional_registration/sso",
    "registration_complete/default",
    "withdrawal_complete/default",
]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv(ENV_VAR, raising=False)
    return CliRunner()


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A copy of the templates with password_reset broken on purpose."""
    copy = Path(shutil.copytree(REPO_TEMPLATES, tmp_path / "templates"))
    html = copy / "password_reset" / "body.html.j2"
    html.write_text(
        html.read_text("utf-8").replace(
            "{% endblock %}",
            '<script>track()</script>\n<a href="https://bit.ly/x">x</a>\n{% endblock %}',
        ),
        "utf-8",
    )
    return copy


@pytest.mark.parametrize("charset", ["utf-8", "iso-2022-jp"])
def test_shipped_templates_pass(runner: CliRunner, charset: str) -> None:
    result = runner.invoke(main, ["lint", "--charset", charset])
    assert result.exit_code == 0, result.output
    assert result.stdout == "".join(f"{source}: OK\n" for source in SHIPPED)
    assert (
        result.stderr
        == "lint: メッセージ 5件、エラー 0件、警告 0件。スパム判定は未実行(--spamd なし)\n"
    )


def test_broken_copy_fails(runner: CliRunner, broken: Path) -> None:
    result = runner.invoke(main, ["lint", "--templates", str(broken), "--lang", "en"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "password_reset/default: 3 error(s), 0 warning(s)" in lines
    assert "  error: html_script: The HTML part has a <script> element." in lines
    assert (
        "  error: url_shortener: The link 'https://bit.ly/x' in the text/html part uses the URL "
        "shortener 'bit.ly'." in lines
    )
    assert "  error: links_differ: Links only in the text/html part: https://bit.ly/x." in lines
    assert "provisional_registration/email: ok" in lines
    assert result.stderr == (
        "lint: 5 message(s), 3 error(s), 0 warning(s); spam score not run (no --spamd)\n"
    )


def test_broken_copy_via_env_var_and_json(
    runner: CliRunner, broken: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(broken))
    result = runner.invoke(main, ["lint", "password_reset", "--format", "json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["errors"] == 3 and doc["warnings"] == 0
    (only,) = doc["results"]
    assert only["source"] == "password_reset/default"
    assert only["template"] == "password_reset" and only["variant"] == "default"
    assert {f["code"] for f in only["findings"]} == {"html_script", "url_shortener", "links_differ"}
    assert set(only["findings"][0]) == {
        "code",
        "rule",
        "severity",
        "carrier",
        "message",
        "fix",
        "source",
        "feature",
        "allowed",
    }


def test_a_template_that_does_not_render_is_an_error(runner: CliRunner, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(REPO_TEMPLATES, tmp_path / "templates"))
    meta = copy / "registration_complete" / "template.toml"
    meta.write_text(meta.read_text("utf-8").replace('customer_number = "1024', 'x = "1'), "utf-8")
    result = runner.invoke(
        main, ["lint", "registration_complete", "--templates", str(copy), "--lang", "en"]
    )
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        "registration_complete/default: 1 error(s), 0 warning(s)",
        "  error: render_failed: The template could not be rendered: The template "
        "'registration_complete' uses the variable 'customer_number', but no value was given; "
        "pass it with --var customer_number=VALUE or in the --context file.",
    ]


def test_eml_files(runner: CliRunner, tmp_path: Path) -> None:
    good = tmp_path / "good.eml"
    good.write_bytes(render_message("password_reset", to="taro@au.com").as_bytes())
    bad_msg = render_message("password_reset", to="taro@au.com")
    bad_msg.replace_header("From", "Lentrance <noreply@lentrance-mail.net>")
    bad = tmp_path / "bad.eml"
    bad.write_bytes(bad_msg.as_bytes())
    result = runner.invoke(main, ["lint", "--eml", str(good), str(bad), "--lang", "en"])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"{good}: ok"
    assert result.stdout.splitlines()[1] == f"{bad}: 1 error(s), 0 warning(s)"
    assert "from_domain: The From address is 'noreply@lentrance-mail.net'" in result.stdout
    only_good = runner.invoke(main, ["lint", "--eml", str(good)])
    assert only_good.exit_code == 0


def test_lang_words_one_finding_in_either_language(runner: CliRunner, tmp_path: Path) -> None:
    """``--lang`` (default ja, as every command) picks the words from data/lint_words.toml;
    the rule, severity and evidence stay the same."""
    msg = render_message("password_reset", to="taro@au.com")
    msg.replace_header("From", "Lentrance <noreply@lentrance-mail.net>")
    bad = tmp_path / "bad.eml"
    bad.write_bytes(msg.as_bytes())
    ja = runner.invoke(main, ["lint", "--eml", str(bad)])
    en = runner.invoke(main, ["lint", "--eml", str(bad), "--lang", "en"])
    assert ja.exit_code == en.exit_code == 1
    # The report's own labels follow --lang too: one language per output.
    assert ja.stdout.splitlines() == [
        f"{bad}: エラー 1件、警告 0件",
        "  エラー: from_domain: 送信元アドレスが 'noreply@lentrance-mail.net' で、"
        "lentrance.com のアドレスではありません。",
        "    修正: no-reply@lentrance.com から送ってください。FAQ はお客様に、ドメイン指定受信で"
        " @lentrance.com を許可するよう案内しています。",
    ]
    assert en.stdout.splitlines()[1] == (
        "  error: from_domain: The From address is 'noreply@lentrance-mail.net', not an "
        "address at lentrance.com."
    )
    as_json = runner.invoke(main, ["lint", "--eml", str(bad), "--format", "json", "--lang", "ja"])
    (finding,) = json.loads(as_json.stdout)["results"][0]["findings"]
    assert finding["code"] == "from_domain" and finding["message"].startswith("送信元アドレスが")


def test_eml_from_stdin(runner: CliRunner) -> None:
    raw = render_message("withdrawal_complete", to="taro@au.com", charset="iso-2022-jp")
    result = runner.invoke(main, ["lint", "--eml", "-"], input=raw.as_bytes())
    assert result.exit_code == 0, result.output
    assert result.stdout == "-: OK\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["lint", "welcome"], "There is no template 'welcome'", id="unknown"),
        pytest.param(["lint", "--eml"], "--eml needs at least one message file.", id="no-files"),
        pytest.param(
            ["lint", "--eml", "/nonexistent.eml"],
            "Cannot read '/nonexistent.eml': No such file or directory.",
            id="missing-file",
        ),
        pytest.param(
            ["lint", "--templates", "/nonexistent"], "does not exist", id="missing-folder"
        ),
    ],
)
def test_usage_errors(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr
