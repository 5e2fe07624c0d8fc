"""``maildoctor diagnose``: the check, a real SMTP delivery trial per carrier setting, advice.

The trial runs against the real harness (aiosmtpd over TCP, a SQLite file in
tmp_path); DNS against the loopback server of conftest.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from maildoctor.cli import main

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def run(*args: str, db: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["diagnose", *args, "--db", str(db)])
    return result.exit_code, result.stdout, result.stderr


def diagnose_json(*args: str, db: Path) -> tuple[int, dict]:
    code, out, _ = run(*args, "--format", "json", db=db)
    return code, json.loads(out)


def test_docomo_offline_trial_table_and_advice(tmp_path: Path) -> None:
    code, data = diagnose_json("taro@docomo.ne.jp", "--offline", db=tmp_path / "h.sqlite3")
    assert code == 1
    assert data["check"]["verdict"] == "risky"
    assert data["check"]["carrier"]["id"] == "docomo"
    assert data["check"]["dns_checked"] is False
    trial = data["trial"]
    assert trial["ran"] is True
    assert trial["recipient"] == "taro@docomo.ne.jp"
    assert trial["template"] == "provisional_registration"
    outcomes = {s["scenario"]: (s["outcome"], s["rule"]) for s in trial["scenarios"]}
    assert outcomes == {
        "defaults": ("delivered", "default"),
        "refuse_pc": ("junk", "refuse_pc"),
        "refuse_url": ("junk", "refuse_url"),
        # Offline, lentrance.com's authentication (which decides this row) is unknown.
        "spoofing": ("unknown", "spoofing"),
        "receive_list": ("delivered", "receive_list"),
    }
    [spoofing] = [s for s in trial["scenarios"] if s["scenario"] == "spoofing"]
    assert spoofing["authentication"] == {
        "if_authenticated": "delivered",
        "if_not_authenticated": "junk",
        "sender_domain": "lentrance.com",
        "published": "unknown",
        "why": "DNSを照会していません(--offline)",
    }
    # docomo files filtered mail as junk since 2025: the spam folder comes first.
    assert data["advice"][:3] == ["check_spam_folder", "allow_sender_domain", "carrier_settings"]
    assert "受信リスト設定" in data["reply_draft"]
    assert data["web"].startswith("maildoctor serve --db ")


def test_trial_messages_are_stored_with_their_scenario(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    _, data = diagnose_json("hanako@au.com", "--offline", db=db)
    ids = [s["stored_id"] for s in data["trial"]["scenarios"]]
    assert all(isinstance(i, int) for i in ids)
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("select count(*) from messages").fetchone()
    blocked = [s for s in data["trial"]["scenarios"] if s["outcome"] != "delivered"]
    # Five scenarios, each with au's spoofing filter on (by default) tried authenticated
    # and not (one more each), plus a receive-list retry for each one not delivered,
    # tried the same two ways (so that an unknown retry stays unknown).
    assert len(ids) == 5
    assert count == 2 * len(ids) + 2 * len(blocked)
    rejected = [s for s in data["trial"]["scenarios"] if s["outcome"] == "rejected"]
    assert {s["scenario"] for s in rejected} == {"refuse_pc", "refuse_url"}
    # au's filter rejections read like an unknown user.
    assert all(s["smtp_replies"][-1] == "550 User unknown" for s in rejected)


def test_text_report_has_every_section(tmp_path: Path) -> None:
    code, out, err = run("taro@docomo.ne.jp", "--offline", db=tmp_path / "h.sqlite3")
    assert code == 1
    assert err == ""
    for heading in ("1. アドレスの確認", "2. 配信テスト", "3. 対処方法", "4. 返信文案", "5. 証拠"):
        assert heading in out
    assert "特定URL付メール拒否設定" in out
    assert "迷惑メールフォルダに入る" in out
    assert "DNS: 確認していません(--offline)" in out
    assert "Message-ID: <" in out


def test_typo_against_loopback_dns(tmp_path: Path, nameserver: str) -> None:
    code, data = diagnose_json("taro@gmial.com", "--nameserver", nameserver, db=tmp_path / "h")
    assert code == 1
    check = data["check"]
    assert check["verdict"] == "undeliverable"
    assert check["suggestion"] == "taro@gmail.com"
    assert {"typo_suspected", "domain_not_found"} <= {f["code"] for f in check["findings"]}
    assert data["advice"][0] == "reregister"
    draft = data["reply_draft"]
    assert "taro@gmail.com" in draft
    assert "新規会員登録ページから" in draft


def test_typo_markdown_is_ready_for_a_ticket(tmp_path: Path) -> None:
    code, out, _ = run("taro@gmial.com", "--offline", "--format", "markdown", db=tmp_path / "h")
    assert code == 1
    assert out.startswith("## maildoctor 診断: `taro@gmial.com`")
    assert "- **修正候補**: `taro@gmail.com`" in out
    assert "| 受信設定 | 結果 | 判定したルール | SMTP応答 |" in out
    assert "```text\nお客様" in out


def test_untrustworthy_dns_says_unknown_never_not_found(tmp_path: Path) -> None:
    # Nothing answers on port 9: every query times out, so nothing is known.
    code, data = diagnose_json(
        "taro@example.jp",
        "--nameserver",
        "127.0.0.1:9",
        "--dns-timeout",
        "0.2",
        db=tmp_path / "h",
    )
    assert code == 3
    codes = [f["code"] for f in data["check"]["findings"]]
    assert "dns_unavailable" in codes
    assert "domain_not_found" not in codes
    assert data["check"]["verdict"] == "unknown"


@pytest.mark.parametrize(
    "address",
    [
        "no-at-sign",
        "a\r\nBcc: evil",  # a header line in the address (with an address in it, it is
        # pasted text: the paste reader's tests)
        "taro@@docomo.ne.jp",
        "x" * 400 + "@gmail.com",
    ],
    ids=["no-at", "crlf", "double-at", "too-long"],
)
def test_unusable_address_is_a_finding_and_no_trial(tmp_path: Path, address: str) -> None:
    code, data = diagnose_json(address, "--offline", db=tmp_path / "h")
    assert code == 1
    assert data["check"]["verdict"] == "undeliverable"
    assert "syntax_invalid" in [f["code"] for f in data["check"]["findings"]]
    if data["check"]["normalized"] is None:
        assert data["trial"]["ran"] is False
        assert data["trial"]["skipped_reason"]


def test_fullwidth_input_suggests_and_trials_nothing(tmp_path: Path) -> None:
    code, data = diagnose_json("ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ", "--offline", db=tmp_path / "h")
    assert code == 1
    assert data["check"]["suggestion"] == "taro@docomo.ne.jp"
    assert data["advice"][0] == "reregister_halfwidth"
    assert "taro@docomo.ne.jp" in data["reply_draft"]


def test_tickets_csv_keeps_other_columns(tmp_path: Path) -> None:
    tickets = tmp_path / "tickets.csv"
    tickets.write_text(
        "ticket,メールアドレス,note\n"
        "T-1,taro@docomo.ne.jp,届かない\n"
        "T-2,taro@gmial.com,\n"
        "T-3,hanako@example.jp,x\n",
        encoding="utf-8",
    )
    code, out, _ = run("--file", str(tickets), "--offline", "--format", "json", db=tmp_path / "h")
    rows = json.loads(out)
    assert [r["check"]["address"] for r in rows] == [
        "taro@docomo.ne.jp",
        "taro@gmial.com",
        "hanako@example.jp",
    ]
    assert rows[0]["row"] == {"ticket": "T-1", "note": "届かない"}
    assert rows[1]["check"]["suggestion"] == "taro@gmail.com"
    assert code == 1


def test_english_report(tmp_path: Path) -> None:
    code, out, _ = run("taro@i.softbank.jp", "--offline", "--lang", "en", db=tmp_path / "h")
    assert code == 1
    assert "2. Delivery trial" in out
    assert "dropped silently" in out
    assert "救済リスト" in out  # SoftBank's own setting names stay in Japanese


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Give one ADDRESS or --file PATH"),
        (("a@b.jp", "--template", "nope"), "nope"),
        (("a@b.jp", "--nameserver", "not-an-ip"), "not-an-ip"),
    ],
    ids=["nothing", "unknown-template", "bad-nameserver"],
)
def test_usage_errors_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    code, _, err = run(*args, db=tmp_path / "h")
    assert code == 2
    assert message in err


def test_diagnose_does_not_import_heavy_modules(tmp_path: Path) -> None:
    """A support agent runs diagnose many times a day: it must not pay for serve or lint."""
    import subprocess
    import sys

    code = (
        "import sys, runpy; sys.argv = ['maildoctor', 'diagnose', 'taro@docomo.ne.jp',"
        f" '--offline', '--db', {str(tmp_path / 'h.sqlite3')!r}];"
        "import maildoctor.cli as c\n"
        "try: c.main()\n"
        "except SystemExit: pass\n"
        "heavy = sorted(m for m in ('aiohttp', 'playwright', 'dkim', 'spf', 'hypothesis',"
        " 'maildoctor.mail.lint', 'maildoctor.web.app', 'maildoctor.bounce', 'dns')"
        " if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in done.stderr
    assert "2. 配信テスト" in done.stdout


def test_templates_folder_problems_are_usage_errors(tmp_path: Path) -> None:
    code, _, err = run(
        "x@example.com", "--offline", "--templates", str(tmp_path / "no"), db=tmp_path / "h"
    )
    assert code == 2
    assert "does not exist" in err
    partial = tmp_path / "partial"
    shutil.copytree(TEMPLATES / "provisional_registration", partial / "provisional_registration")
    for shared in TEMPLATES.glob("_*"):
        shutil.copy(shared, partial / shared.name)
    code, _, err = run("x@example.com", "--offline", "--templates", str(partial), db=tmp_path / "h")
    assert code == 2
    assert "has no replies/check.txt.j2" in err


def test_tickets_file_that_is_not_text_exits_2(tmp_path: Path) -> None:
    tickets = tmp_path / "t.csv"
    tickets.write_bytes(b"address\n\x81\x7f@x.jp\n")  # neither UTF-8 nor CP932
    code, _, err = run("--file", str(tickets), "--offline", db=tmp_path / "h")
    assert code == 2
    assert err == (
        f"Error: {tickets}: the input is neither UTF-8 nor CP932 (Shift_JIS) text "
        "(invalid start byte at byte 8)\n"
    )


def test_harness_that_cannot_start_exits_4(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, out, err = run("x@example.com", "--offline", db=blocker / "h.sqlite3")
    assert code == 4
    assert out == ""
    assert err.startswith("Error: the delivery-trial harness could not start:")


def test_a_line_break_in_the_address_never_reaches_the_report(tmp_path: Path) -> None:
    # No address the paste reader would take in it (text around one is pasted text,
    # read by tests/test_paste.py): diagnosed as given.
    code, out, _ = run("a\n@example", "--offline", db=tmp_path / "h")
    assert code == 1
    assert "a\\u000a@example" in out
    assert "\na\n" not in out and "\n@example" not in out


@pytest.mark.parametrize("fault", ["rcpt=451 4.3.0 Try later", "greylist"])
def test_a_temporary_error_from_the_harness_is_no_carrier_decision(
    tmp_path: Path, fault: str
) -> None:
    """A 4xx from the trial harness (a fault, an internal error) fails the trial
    (exit 4 in the CLI), never a row saying the carrier refused the mail."""
    import asyncio

    from maildoctor.address.check import check_address
    from maildoctor.diagnose.diagnosis import TrialFailed, run_trial, start_harness

    result = asyncio.run(check_address("taro@docomo.ne.jp", probe=None))
    with start_harness(tmp_path / "h.sqlite3") as running:
        running.set_faults(fault)
        with pytest.raises(TrialFailed, match="temporary error"):
            run_trial(result, running)


def test_a_message_accepted_without_an_outcome_is_no_carrier_decision(tmp_path: Path) -> None:
    """250 from a server that cannot say what the mailbox did (a plain SMTP sink on the
    trial's address, not a maildoctor harness) is the trial's failure, not "delivered"."""
    import asyncio
    import socket

    from aiosmtpd.controller import Controller

    from maildoctor.address.check import check_address
    from maildoctor.diagnose.diagnosis import TrialFailed, run_trial, start_harness

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 2.0.0 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Controller(Sink(), hostname="127.0.0.1", port=port)

    class ElsewhereHarness:  # the real harness's store and profiles, another server's SMTP
        def __init__(self, running: Any) -> None:
            self.running = running
            self.smtp_address = ("127.0.0.1", port)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.running, name)

    result = asyncio.run(check_address("taro@gmail.com", probe=None))
    sink.start()
    try:
        with (
            start_harness(tmp_path / "h.sqlite3") as running,
            pytest.raises(TrialFailed, match="did not say what the mailbox did"),
        ):
            run_trial(result, ElsewhereHarness(running))
    finally:
        sink.stop()


# -- pasted text (issue 19) -------------------------------------------------------------


def test_pasted_prose_is_read_for_the_address_name_and_ticket(tmp_path: Path) -> None:
    text = "山田と申します。お客様番号がわかりません。登録したアドレスはtaro@docomo.ne.jpです。"
    code, data = diagnose_json(text, "--offline", db=tmp_path / "h")
    assert code == 1  # docomo: risky
    assert data["check"]["address"] == "taro@docomo.ne.jp"
    assert data["ticket"] == "customer_number"  # guessed: no --ticket given
    assert data["intake"]["salutation"] == "山田様"
    assert data["reply_draft"].startswith("山田様\n")
    # --ticket wins over the guess; the text report says what was read.
    code, out, _ = run(text, "--offline", "--ticket", "login_trouble", db=tmp_path / "h")
    assert out.startswith("貼り付けた文のアドレス: taro@docomo.ne.jp")
    assert "返信の宛名: 山田様" in out
    assert "問い合わせ種別: ログインできない・パスワードを忘れた\n" in out  # not "guessed"


def test_pasted_text_from_stdin(tmp_path: Path) -> None:
    forwarded = (
        "From: 佐藤花子 <hanako@au.com>\nTo: support@lentrance.com\nSubject: help\n\n"
        "I forgot my password."
    ).encode("cp932")
    result = CliRunner().invoke(
        main,
        ["diagnose", "-", "--offline", "--format", "json", "--db", str(tmp_path / "h")],
        input=forwarded,
    )
    data = json.loads(result.stdout)
    assert data["intake"]["kind"] == "forwarded"
    assert data["intake"]["name"] == "佐藤花子"
    assert data["ticket"] == "login_trouble"
    result = CliRunner().invoke(
        main, ["diagnose", "-", "--offline", "--db", str(tmp_path / "h")], input="届きません"
    )
    assert result.exit_code == 2
    assert "No email address was found in the text on stdin." in result.stderr


def test_a_pasted_bounce_puts_its_own_advice_first(tmp_path: Path) -> None:
    """The draft answers from a pasted bounce; the advice list follows it too (it began
    with "check the junk folder" beside a draft saying the address takes no mail)."""
    bounce = (
        "Hi. This is the qmail-send program at mx.lentrance.com.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        "<hanako@example.jp>:\nRemote host said: 550 5.1.1 <hanako@example.jp>: "
        "Recipient address rejected: User unknown\n"
    )
    _, data = diagnose_json(bounce, "--offline", db=tmp_path / "h.sqlite3")
    explained = data["intake"]["bounce"][0]
    assert explained["reason"] == "userunknown"
    assert data["advice"][: len(explained["advice"])] == explained["advice"]
    assert "check_spam_folder" not in data["advice"]
