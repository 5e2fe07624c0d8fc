"""``maildoctor templates`` and ``maildoctor render`` through the real click group."""

from __future__ import annotations

import json
import shutil
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.mail.render import CONTRACT_SUBJECTS
from maildoctor.mail.templating import ENV_VAR

REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
RESET_URL = "https://lentrance.com/password/reset"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv(ENV_VAR, raising=False)
    return CliRunner()


@pytest.fixture
def templates_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO_TEMPLATES, tmp_path / "templates"))


def parse(data: bytes) -> EmailMessage:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def body(msg: EmailMessage, kind: str) -> str:
    part = msg.get_body(preferencelist=(kind,))
    assert part is not None
    return str(part.get_content())


def test_done_when_render_eml_reads_back(runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["render", "provisional_registration", "--to", "taro@docomo.ne.jp", "--format", "eml"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    msg = parse(result.stdout_bytes)
    assert msg["Subject"] == "[Lentrance]仮登録完了のお知らせ"
    assert str(msg["To"]) == "taro@docomo.ne.jp"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert "パスワードを設定してください" in body(msg, "plain")
    assert "パスワードを設定する</a>" in body(msg, "html")


@pytest.mark.parametrize("name", sorted(CONTRACT_SUBJECTS))
def test_render_every_template_in_iso_2022_jp(runner: CliRunner, name: str) -> None:
    result = runner.invoke(main, ["render", name, "--charset", "iso-2022-jp"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.isascii()
    msg = parse(result.stdout_bytes)
    assert msg["Subject"] == CONTRACT_SUBJECTS[name]
    assert all(p.get_content_charset() == "iso-2022-jp" for p in msg.iter_parts())
    assert "送信専用" in body(msg, "plain")


@pytest.mark.parametrize(
    ("fmt", "start", "needle"),
    [
        pytest.param(
            "text", "Lentranceをご利用いただき", "https://lentrance.com/password/reset?", id="text"
        ),
        pytest.param(
            "html", "<!DOCTYPE html>", 'href="https://lentrance.com/password/reset?', id="html"
        ),
    ],
)
def test_render_one_part(runner: CliRunner, fmt: str, start: str, needle: str) -> None:
    result = runner.invoke(main, ["render", "password_reset", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(start)
    assert needle in result.stdout


def test_render_json_has_headers_parts_and_lint(runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["render", "registration_complete", "--to", "hanako@au.com", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["template"] == "registration_complete"
    assert doc["variant"] == "default"
    assert doc["charset"] == "utf-8"
    assert doc["subject"] == "[Lentrance]会員登録完了のお知らせ"
    assert doc["headers"]["From"] == "Lentrance <no-reply@lentrance.com>"
    assert doc["headers"]["To"] == "hanako@au.com"
    assert doc["headers"]["Subject"] == "[Lentrance]会員登録完了のお知らせ"
    assert "1024-5839-6617" in doc["text"] and "1024-5839-6617" in doc["html"]
    assert doc["lint"] == []


def test_var_and_variant_override_the_sample(runner: CliRunner) -> None:
    result = runner.invoke(
        main,
        [
            "render", "provisional_registration", "--variant", "sso", "--format", "text",
            "--var", "provider=Apple", "--var", "registration_url=https://lentrance.com/r?a=b=c",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "AppleのIDでの会員登録" in result.stdout
    assert "https://lentrance.com/r?a=b=c" in result.stdout  # only the first '=' splits
    assert "2026年11月25日(水) 21:30" in result.stdout  # unset: the sample's value


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        pytest.param("ctx.json", '{"customer_number": "9999-0000-1111"}', id="json"),
        pytest.param("ctx.toml", 'customer_number = "9999-0000-1111"\n', id="toml"),
    ],
)
def test_context_file(runner: CliRunner, tmp_path: Path, filename: str, content: str) -> None:
    path = tmp_path / filename
    path.write_text(content, "utf-8")
    result = runner.invoke(
        main, ["render", "registration_complete", "--format", "text", "--context", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert "9999-0000-1111" in result.stdout


def test_context_from_stdin_and_var_wins(runner: CliRunner) -> None:
    result = runner.invoke(
        main,
        ["render", "registration_complete", "--format", "text", "--context", "-",
         "--var", "customer_number=2222"],
        input='{"customer_number": "1111"}',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "\n2222\n" in result.stdout and "1111" not in result.stdout


def test_out_writes_the_file(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "reset.eml"
    result = runner.invoke(main, ["render", "password_reset", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"Wrote {out} (")
    assert parse(out.read_bytes())["Subject"] == "[Lentrance]パスワード再設定のお知らせ"


def test_templates_option_and_env_var_use_a_copy(
    runner: CliRunner, templates_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = templates_copy / "password_reset" / "body.txt.j2"
    text.write_text(text.read_text("utf-8").replace("受け付けました", "承りました"), "utf-8")
    by_option = runner.invoke(
        main, ["render", "password_reset", "--format", "text", "--templates", str(templates_copy)]
    )
    assert by_option.exit_code == 0, by_option.output
    assert "承りました" in by_option.stdout
    monkeypatch.setenv(ENV_VAR, str(templates_copy))
    by_env = runner.invoke(main, ["render", "password_reset", "--format", "text"])
    assert by_env.stdout == by_option.stdout


ERRORS = [
    pytest.param(
        ["render", "password_reset", "--no-samples"],
        2,
        "Error: The template 'password_reset' uses the variable 'reset_url', but no value was "
        "given; pass it with --var reset_url=VALUE or in the --context file.\n",
        id="missing-variable",
    ),
    pytest.param(
        ["render", "registration_complete", "--charset", "iso-2022-jp", "--var",
         "customer_number=①23"],
        2,
        "Error: The character '①' (U+2460) in the text part (line 7) cannot be encoded in "
        "iso-2022-jp; replace it (for example with a JIS X 0208 equivalent) or send the "
        "message as utf-8.\n",
        id="unencodable",
    ),
    pytest.param(
        ["render", "password_reset", "--to", "a@b.jp\r\nBcc: c@d.jp"],
        2,
        "Error: The recipient 'a@b.jp\\r\\nBcc: c@d.jp' contains a line break or control "
        "character; give one plain address.\n",
        id="recipient-crlf",
    ),
    pytest.param(
        ["render", "password_reset", "--var", "reset_url"],
        2,
        "Error: --var 'reset_url' is not of the form KEY=VALUE.\n",
        id="bad-var",
    ),
    pytest.param(
        ["render", "password_reset", "--context", "/nonexistent/ctx.json"],
        2,
        "Error: Cannot read the context file '/nonexistent/ctx.json': No such file or "
        "directory.\n",
        id="missing-context",
    ),
    pytest.param(
        ["render", "welcome"],
        2,
        "There is no template 'welcome' in",
        id="unknown-template",
    ),
    pytest.param(
        ["render", "password_reset", "--variant", "sso"],
        2,
        "The template 'password_reset' has no variant 'sso'; its variants are: default.",
        id="unknown-variant",
    ),
    pytest.param(
        ["render", "password_reset", "--templates", "/nonexistent/templates"],
        2,
        "The templates folder '/nonexistent/templates' (from --templates) does not exist",
        id="missing-templates-dir",
    ),
    pytest.param(
        ["render", "password_reset", "--charset", "shift_jis"],
        2,
        "Invalid value for '--charset'",
        id="bad-charset",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("args", "code", "message"), ERRORS)
def test_errors_are_one_clear_line(
    runner: CliRunner, args: list[str], code: int, message: str
) -> None:
    result = runner.invoke(main, args)
    assert result.exit_code == code
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    if message.endswith("\n"):
        assert result.stderr == message
    else:
        assert message in result.stderr


def test_bad_context_json(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "ctx.json"
    path.write_text("{customer_number: 1}", "utf-8")
    result = runner.invoke(main, ["render", "registration_complete", "--context", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: The context file '{path}' is not valid JSON:")


def test_templates_lists_names_variants_and_variables(runner: CliRunner) -> None:
    result = runner.invoke(main, ["templates"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for name, subject in CONTRACT_SUBJECTS.items():
        assert f"{name}  {subject}\n" in out
    assert "      email (default)  Email sign-up" in out
    assert "      provider          (sso) The ID service" in out
    assert "customer_number  The customer number" in out
    assert "Every template also gets:" in out


def test_templates_json(runner: CliRunner) -> None:
    result = runner.invoke(main, ["templates", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["templates_dir"] == str(REPO_TEMPLATES)
    by_name = {t["name"]: t for t in doc["templates"]}
    assert set(CONTRACT_SUBJECTS) <= set(by_name)
    pr = by_name["provisional_registration"]
    assert [v["name"] for v in pr["variants"]] == ["email", "sso"]
    assert pr["variants"][1]["variables"] == {
        "provider": "The ID service the customer chose: Apple, Google or Microsoft."
    }
    assert pr["variants"][1]["sample"]["provider"] == "Google"
    assert "site" in doc["builtin_variables"]


def test_broken_template_toml_is_an_error_not_a_traceback(
    runner: CliRunner, templates_copy: Path
) -> None:
    toml = templates_copy / "password_reset" / "template.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "subject = \n", encoding="utf-8")
    result = runner.invoke(main, ["render", "password_reset", "--templates", str(templates_copy)])
    assert result.exit_code == 2  # a template error (README "Exit status")
    assert result.stderr.startswith("Error: ")
    assert "template.toml' is not valid UTF-8 TOML" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
