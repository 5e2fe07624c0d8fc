"""``maildoctor bounce``: output, formats, languages and bad input, through click."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from maildoctor.cli import main

DATA = Path(__file__).parent / "data" / "bounces"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["bounce", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_text_report_in_japanese() -> None:
    code, out, err = _run(str(DATA / "rhost-kddi-01.eml"))
    assert code == 0 and err == ""
    assert "宛先: otsu-sakaba-hunter-neko-nyaaaaaaan@ezweb.ne.jp" in out
    assert "理由: 受信設定による拒否 [filtered]" in out
    assert "ステータス 5.2.0, 応答コード 550" in out
    assert "サーバーの応答: 550 : User unknown" in out
    assert "キャリア: au(KDDI)" in out
    assert "ドメイン受信設定(受信拒否設定)を確認する" in out


def test_text_report_in_english() -> None:
    code, out, _ = _run("--lang", "en", str(DATA / "postfix-63.eml"))
    assert code == 0
    assert "Reason: mailbox full [mailboxfull]" in out
    assert "The recipient's mailbox is full." in out
    assert "Free up space in the mailbox" in out


def test_json_is_one_object_per_recipient() -> None:
    code, out, err = _run(
        "--format", "json", "--lang", "en", str(DATA / "postfix-02.eml"), str(DATA / "qmail-10.eml")
    )
    assert code == 0 and err == ""
    rows = json.loads(out)
    assert [(r["recipient"], r["reason"]) for r in rows] == [
        ("filtered@example.co.jp", "userunknown"),
        ("userunknown@example.co.jp", "userunknown"),
        ("kijitora@neko2.example.co.jp", "suspend"),
    ]
    first = rows[0]
    assert first["status"] == "5.2.1" and first["reply_code"] == "550"
    assert first["mta"] == "Postfix" and first["hard_bounce"] is True
    assert first["advice"] == ["reregister", "use_other_address"]
    assert set(first) >= {"file", "summary", "diagnostic", "remote_mta", "reporting_mta", "carrier"}


def test_not_a_bounce_says_so_without_traceback(tmp_path: Path) -> None:
    note = tmp_path / "note.eml"
    note.write_bytes(b"From: a@example.jp\nTo: b@example.jp\nSubject: lunch\n\nnoon?\n")
    code, out, err = _run("--lang", "en", str(note), str(DATA / "sendmail-01.eml"))
    assert code == 1
    assert (
        err == f"{note}: not a bounce (no delivery status report and no delivery-failure text).\n"
    )
    assert "Reason: unknown recipient [userunknown]" in out  # the other file is still explained
    assert "Traceback" not in out + err


def test_binary_file_in_json_mode(tmp_path: Path) -> None:
    blob = tmp_path / "photo.jpg"
    blob.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)))
    code, out, err = _run("--format", "json", str(blob))
    assert code == 1
    assert json.loads(out) == [{"file": str(blob), "error": "not_an_email"}]
    assert "メールのファイルではありません" in err


def test_missing_file(tmp_path: Path) -> None:
    code, out, err = _run("--lang", "en", str(tmp_path / "nope.eml"))
    assert code == 1
    assert out == ""
    assert err.startswith(f"{tmp_path / 'nope.eml'}: the file could not be read")


def test_no_file_is_a_usage_error() -> None:
    code, _, err = _run()
    assert code == 2
    assert "Missing argument" in err


def test_lentrances_own_mail_is_not_a_bounce(tmp_path: Path) -> None:
    """An agent who saves the notification itself instead of the bounce gets told so."""
    mail = tmp_path / "provisional.eml"
    rendered = CliRunner().invoke(
        main,
        ["render", "provisional_registration", "--to", "taro@docomo.ne.jp", "--out", str(mail)],
    )
    assert rendered.exit_code == 0, rendered.output
    code, out, err = _run("--lang", "en", str(mail))
    assert code == 1 and out == ""
    assert err == (
        f"{mail}: not a bounce (no delivery status report and no delivery-failure text).\n"
    )


def test_reply_templates_folder_without_or_with_a_broken_bounce_template(tmp_path: Path) -> None:
    # Checked before any bounce is read, by the same helper as check and diagnose.
    code, out, err = _run("--reply", "--templates", str(tmp_path), str(DATA / "postfix-63.eml"))
    assert code == 2 and out == ""
    assert "--templates" in err and "replies/bounce.txt.j2" in err
    assert "Traceback" not in err
    (tmp_path / "replies").mkdir()
    (tmp_path / "replies" / "bounce.txt.j2").write_text("{% if %}", encoding="utf-8")
    code, out, err = _run("--reply", "--templates", str(tmp_path), str(DATA / "postfix-63.eml"))
    assert code == 2 and out == ""
    assert "is broken" in err and "Traceback" not in err
