"""Carrier limits in ``maildoctor lint``: named findings with their carrier and source,
``--allow`` and ``[tool.maildoctor.lint]``, and ``--diff BASE`` against a real git repo."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.findings import Severity
from maildoctor.mail.limits import carrier_limits
from maildoctor.mail.lint import lint_message
from maildoctor.mail.lint_rules import RULES
from maildoctor.mail.render import render_message
from maildoctor.mail.templating import ENV_VAR

REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)  # no pyproject.toml of this repository on the way up
    return CliRunner()


def _append(folder: Path, name: str, part: str, text: str) -> None:
    path = folder / name / part
    path.write_text(
        path.read_text("utf-8").replace("{% endblock %}", text + "\n{% endblock %}", 1), "utf-8"
    )


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO_TEMPLATES, tmp_path / "project" / "templates"))


@pytest.fixture
def many_links(templates: Path) -> Path:
    """password_reset with 40 extra links to lentrance.com, in both parts (so only the count)."""
    urls = [f"https://lentrance.com/books/{n}" for n in range(40)]
    _append(templates, "password_reset", "body.txt.j2", "\n".join(urls))
    _append(
        templates,
        "password_reset",
        "body.html.j2",
        "\n".join(f'<p><a href="{u}">{u}</a></p>' for u in urls),
    )
    return templates


@pytest.fixture
def huge(templates: Path) -> Path:
    """registration_complete with about 3.6 MB of text: a 4.9 MB message once base64."""
    line = "ご案内の本文です。" * 20  # 180 characters, 540 bytes of UTF-8
    _append(templates, "registration_complete", "body.txt.j2", "\n".join([line] * 6_800))
    return templates


def test_every_limit_has_a_rule_a_known_carrier_and_a_source() -> None:
    limits = carrier_limits()
    assert {limit.rule for limit in limits} == {
        "message_too_large",
        "too_many_links",
        "text_line_too_long",
        "not_jis_x0208",
        "remote_image",
    }
    for limit in limits:
        assert limit.rule in RULES
        assert limit.carrier in {"docomo", "au", "softbank", "ymobile", "rakuten", "uqmobile"}
        assert limit.sources and all(len(s) > 20 for s in limit.sources)
        assert limit.basis in {"carrier", "observed", "house"}


def test_forty_extra_links_name_softbank(runner: CliRunner, many_links: Path) -> None:
    result = runner.invoke(
        main,
        [
            "lint",
            "password_reset",
            "--templates",
            str(many_links),
            "--format",
            "json",
            "--lang",
            "en",
        ],
    )
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    (finding,) = doc["results"][0]["findings"]
    assert finding["rule"] == "too_many_links" and finding["code"] == "too_many_links"
    assert finding["carrier"] == "softbank" and finding["severity"] == "error"
    assert finding["message"].startswith("The message has 44 distinct links; above 10, SoftBank")
    assert "URLリンク付きメール拒否設定" in finding["source"]
    assert finding["allowed"] is False
    assert doc["errors"] == 1


def test_a_4_9_mb_message_breaks_softbanks_limit_only(runner: CliRunner, huge: Path) -> None:
    size = len(
        render_message("registration_complete", to="t@docomo.ne.jp", templates_dir=huge).as_bytes()
    )
    assert 4_700_000 < size < 5_100_000
    result = runner.invoke(
        main, ["lint", "registration_complete", "--templates", str(huge), "--lang", "en"]
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "registration_complete/default: 1 error(s), 0 warning(s)"
    assert lines[1].startswith("  error: message_too_large [softbank]: The message is ")
    assert lines[1].endswith("bytes; SoftBank refuses messages over 1048576 bytes.")
    assert lines[3].startswith("    source: SoftBank, 携帯電話宛メール送信時の注意")
    assert "[docomo]" not in result.stdout  # docomo's limit is 15 MB


@pytest.mark.parametrize(
    "allow", [["--allow", "too_many_links"], ["--allow", "too_many_links:softbank"]]
)
def test_allow_on_the_command_line(runner: CliRunner, many_links: Path, allow: list[str]) -> None:
    result = runner.invoke(main, ["lint", "password_reset", "--templates", str(many_links), *allow])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "password_reset/default: OK(許可 1件)"
    assert "  許可: too_many_links [softbank]: " in result.stdout
    assert result.stderr == (
        "lint: メッセージ 1件、エラー 0件、警告 0件、許可 1件。スパム判定は未実行(--spamd なし)\n"
    )


def test_allowing_another_carrier_or_rule_does_not(runner: CliRunner, many_links: Path) -> None:
    for allow in ("too_many_links:docomo", "message_too_large"):
        result = runner.invoke(
            main, ["lint", "password_reset", "--templates", str(many_links), "--allow", allow]
        )
        assert result.exit_code == 1


def test_allow_in_pyproject_found_upward(
    runner: CliRunner, huge: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = huge.parent
    (project / "pyproject.toml").write_text(
        '[project]\nname = "shop"\n\n'
        '[tool.maildoctor.lint]\nallow = ["message_too_large:softbank"]\n'
    )
    (project / "src" / "deep").mkdir(parents=True)
    monkeypatch.chdir(project / "src" / "deep")
    result = runner.invoke(
        main, ["lint", "registration_complete", "--templates", str(huge), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["config"] == str(project / "pyproject.toml")
    assert doc["allow"] == ["message_too_large:softbank"]
    assert doc["errors"] == 0 and doc["allowed"] == 1
    assert doc["results"][0]["findings"][0]["allowed"] is True


def test_a_bad_allow_table_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.maildoctor.lint]\nallow = "too_many_links"\n')
    result = runner.invoke(main, ["lint"])
    assert result.exit_code == 2
    assert "[tool.maildoctor.lint] allow must be a list of rule ids" in result.stderr
    assert "Traceback" not in result.output


def test_characters_outside_jis_x0208_warn_for_au(templates: Path) -> None:
    _append(templates, "withdrawal_complete", "body.txt.j2", "特典①をご確認ください。ｶﾀｶﾅ")
    msg = render_message("withdrawal_complete", to="t@au.com", templates_dir=templates)
    (finding,) = lint_message(msg, template="withdrawal_complete")
    assert (finding.code, finding.carrier, finding.severity) == (
        "not_jis_x0208",
        "au",
        Severity.WARNING,
    )
    assert "(①ｶﾀﾅ)" in finding.message  # each character once


def test_a_text_line_too_long_for_iso_2022_jp_names_docomo(templates: Path) -> None:
    _append(templates, "withdrawal_complete", "body.txt.j2", "長" * 500)
    msg = render_message("withdrawal_complete", to="t@docomo.ne.jp", templates_dir=templates)
    (finding,) = lint_message(msg, template="withdrawal_complete")
    assert (finding.code, finding.carrier) == ("text_line_too_long", "docomo")
    assert "is 1006 octets as ISO-2022-JP; NTT docomo refuses lines over 998" in finding.message


# --- --diff BASE -----------------------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=CI", "-c", "user.email=ci@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_diff_shows_a_changed_sentence(runner: CliRunner, templates: Path) -> None:
    repo = templates.parent
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    for part in ("body.txt.j2", "body.html.j2"):
        path = templates / "password_reset" / part
        path.write_text(
            path.read_text("utf-8").replace(
                "パスワード再設定のお申し込みを受け付けました",
                "パスワード再設定のご依頼を承りました",
            ),
            "utf-8",
        )
    result = runner.invoke(main, ["lint", "--templates", str(templates), "--diff", "main"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("== password_reset/default (changed)\n")
    assert "--- main/password_reset/default (text/plain)\n" in out
    assert "+++ working tree/password_reset/default (text/plain)\n" in out
    assert (
        "\n-パスワード再設定のお申し込みを受け付けました。\n+パスワード再設定のご依頼を承りました。\n"
        in out
    )
    assert "--- main/password_reset/default (text/html)\n" in out
    assert (
        "\n-パスワード再設定のお申し込みを受け付けました\n+パスワード再設定のご依頼を承りました\n"
        in out
    )
    assert "provisional_registration" not in out  # unchanged templates print nothing
    assert result.stderr == "diff main: 1 template variant(s) changed: password_reset/default\n"
    as_json = runner.invoke(
        main, ["lint", "--templates", str(templates), "--diff", "main", "--format", "json"]
    )
    doc = json.loads(as_json.stdout)
    assert doc["base"] == "main"
    assert [(c["source"], c["status"]) for c in doc["changed"]] == [
        ("password_reset/default", "changed")
    ]
    assert doc["changed"][0]["diff"] == out.split("\n", 1)[1]  # the text form, without its title


def test_diff_of_an_unknown_revision_is_a_usage_error(runner: CliRunner, templates: Path) -> None:
    _git(templates.parent, "init", "-q")
    result = runner.invoke(main, ["lint", "--templates", str(templates), "--diff", "v9"])
    assert result.exit_code == 2
    assert "There is no git revision 'v9'" in result.stderr


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("too_many_link", "--allow: 'too_many_link' is not a lint rule; the rules are: "),
        (
            "too_many_links:docomo2",
            "--allow: 'docomo2' in 'too_many_links:docomo2' is not a carrier",
        ),
    ],
)
def test_an_allow_entry_that_names_nothing_is_a_usage_error(
    runner: CliRunner, entry: str, said: str
) -> None:
    result = runner.invoke(main, ["lint", "--allow", entry])
    assert result.exit_code == 2
    assert said in result.stderr
    assert "Traceback" not in result.output
