"""``maildoctor bounce`` in bulk: folders, Maildir, mbox, stdin, formats, summary,
suppression list, reply drafts, and bad files that must not stop a run."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from maildoctor.cli import main

DATA = Path(__file__).parent / "data"


def _run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["bounce", *args], input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _dsn(recipient: str, status: str, words: str, date: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mail.lentrance.com (Mail Delivery System)\n"
        "To: no-reply@lentrance.com\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"Date: {date}\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n'
        "\n--b\nContent-Type: text/plain\n\nThis is the mail system at host mail.lentrance.com.\n"
        "\n--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mail.lentrance.com\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {words}\n"
        "\n--b--\n"
    ).encode()


FULL = "552 5.2.2 Mailbox full"
GONE = "550 5.1.1 <{}>: Recipient address rejected: User unknown in local recipient table"


def _maildir(tmp: Path) -> Path:
    box = tmp / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True)
    shutil.copy(DATA / "bounces" / "postfix-02.eml", box / "cur" / "1.eml")
    shutil.copy(DATA / "bounces" / "qmail-10.eml", box / "new" / "2.eml")
    shutil.copy(DATA / "bounces" / "exim-01.eml", box / "tmp" / "half-written")
    (box / "new" / "note").write_bytes(b"From: a@example.jp\nSubject: lunch\n\nnoon?\n")
    return box


def test_a_maildir_is_read_recursively_without_tmp(tmp_path: Path) -> None:
    code, out, err = _run("--format", "jsonl", "--lang", "en", str(_maildir(tmp_path)))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1  # the note is not a bounce
    assert [Path(r["file"]).name for r in rows] == ["1.eml", "1.eml", "2.eml", "note"]
    assert rows[-1]["error"] == "no_failure"
    assert err.count("\n") == 1 and "note: not a bounce" in err


def test_mbox_messages_are_explained_one_by_one(tmp_path: Path) -> None:
    box = tmp_path / "bounces.mbox"
    parts = [
        _dsn("a@example.jp", "5.2.2", FULL, "Mon, 2 Nov 2026 10:00:00 +0900"),
        b"From: a@example.jp\nSubject: hi\n\nFrom here on, a body line that starts with From.\n",
        _dsn(
            "b@example.jp", "5.1.1", GONE.format("b@example.jp"), "Tue, 3 Nov 2026 10:00:00 +0900"
        ),
    ]
    box.write_bytes(
        b"".join(b"From MAILER-DAEMON Mon Nov  2 10:00:00 2026\n" + p + b"\n" for p in parts)
    )
    code, out, err = _run("--format", "csv", str(box))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["file"], r["recipient"], r["reason"], r["error"]) for r in rows] == [
        (f"{box}#1", "a@example.jp", "mailboxfull", ""),
        (f"{box}#2", "", "", "no_failure"),
        (f"{box}#3", "b@example.jp", "userunknown", ""),
    ]
    assert code == 1 and err.count("\n") == 1


def test_stdin(tmp_path: Path) -> None:
    raw = (DATA / "bounces" / "rhost-kddi-01.eml").read_bytes()
    code, out, _ = _run("--format", "json", "-", stdin=raw)
    assert code == 0
    assert [(r["file"], r["reason"], r["carrier"]["id"]) for r in json.loads(out)] == [
        ("-", "filtered", "au")
    ]


def test_summary_counts_kinds_apart(tmp_path: Path) -> None:
    for name in ("postfix-02.eml", "rhost-kddi-01.eml", "sendmail-01.eml"):
        shutil.copy(DATA / "bounces" / name, tmp_path / name)
    for name in ("arf-11.eml", "rfc3834-03.eml"):
        shutil.copy(DATA / "bounces-more" / name, tmp_path / name)
    (tmp_path / "broken.eml").write_bytes(b"\x00\xff" * 50)
    code, out, _ = _run("--summary", "--format", "json", str(tmp_path))
    data = json.loads(out)
    assert code == 1
    assert data["messages_unreadable"] == 1
    assert data["by_kind"] == {"bounce": 4, "feedback": 1, "autoreply": 1}
    assert data["by_reason"] == {"userunknown": 3, "filtered": 1}
    assert data["by_carrier"] == {"-": 3, "au": 1}
    assert data["hard_soft"] == {"hard": 3, "soft": 1}
    assert sum(data["by_day"].values()) == 4


def test_summary_text_names_reasons_in_words_and_keeps_columns(tmp_path: Path) -> None:
    """An agent reads 宛先不明, not ``userunknown`` (kept in brackets for search), and
    the counts stay in one column however wide the Japanese names are."""
    from maildoctor.words import display_width

    for name in ("postfix-02.eml", "rhost-kddi-01.eml", "sendmail-01.eml"):
        shutil.copy(DATA / "bounces" / name, tmp_path / name)
    code, out, _ = _run("--summary", str(tmp_path))
    assert code == 0
    lines = out.splitlines()
    block = lines[lines.index("理由(バウンス):") + 1 : lines.index("キャリア(バウンス):")]
    assert [line.rsplit(None, 1)[0].strip() for line in block] == [
        "宛先不明 [userunknown]",
        "受信設定による拒否 [filtered]",
    ]
    assert len({display_width(line) for line in block}) == 1, block
    assert "  恒久的(再送しても届きません)" in out


def test_suppression_list_hard_at_once_soft_after_repeats(tmp_path: Path) -> None:
    days = ["Mon, 2 Nov 2026", "Wed, 4 Nov 2026", "Fri, 6 Nov 2026"]
    for i, day in enumerate(days):
        # full three times in 4 days: suppressed; slow: three times over a month, not
        (tmp_path / f"full{i}.eml").write_bytes(
            _dsn("full@example.jp", "5.2.2", FULL, f"{day} 10:00:00 +0900")
        )
        (tmp_path / f"slow{i}.eml").write_bytes(
            _dsn("slow@example.jp", "5.2.2", FULL, f"{1 + 12 * i} Dec 2026 10:00:00 +0900")
        )
    (tmp_path / "gone.eml").write_bytes(
        _dsn(
            "gone@example.jp", "5.1.1", GONE.format("gone@example.jp"), f"{days[0]} 09:00:00 +0900"
        )
    )
    shutil.copy(DATA / "bounces-more" / "arf-11.eml", tmp_path / "complaint.eml")
    target = tmp_path / "out" / "suppress.csv"
    target.parent.mkdir()
    code, _, err = _run("--lang", "en", "--suppress", str(target), str(tmp_path))
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(target.read_text("utf-8"))))
    assert [(r["address"], r["reason"], r["hard"], r["count"], r["decided_by"]) for r in rows] == [
        ("full@example.jp", "mailboxfull", "false", "3", "soft:3/7d"),
        ("gone@example.jp", "userunknown", "true", "1", "hard"),
    ]
    # why each address is listed: the deciding bounce's rule, status and words
    assert (rows[1]["status"], rows[1]["rule"]) == ("5.1.1", "sisimai-rules")
    assert "gone@example.jp" in rows[1]["words"]
    assert rows[0]["status"] == "5.2.2" and rows[0]["words"]
    assert rows[0]["first_seen"] == "2026-11-02T10:00:00+09:00"
    assert rows[0]["last_seen"] == "2026-11-06T10:00:00+09:00"
    assert err.endswith("wrote 2 addresses to the suppression list.\n")
    # A lower bar takes the slow one too.
    code, _, _ = _run("--suppress", str(target), "--soft-limit", "2", "--soft-days", "12",
                      str(tmp_path))  # fmt: skip
    assert [r["address"] for r in csv.DictReader(io.StringIO(target.read_text("utf-8")))] == [
        "full@example.jp", "gone@example.jp", "slow@example.jp",
    ]  # fmt: skip


def test_reply_for_a_carrier_filter_gives_that_carriers_steps() -> None:
    code, out, _ = _run("--reply", str(DATA / "bounces" / "rhost-kddi-01.eml"))
    assert code == 0
    assert "au(KDDI)の迷惑メールフィルターまたは受信設定" in out
    assert "受信リスト設定(必ず受信)" in out  # au's own steps from the advice catalog
    assert "Lentranceカスタマーサポート" in out
    code, out, _ = _run("--reply", "--lang", "en", str(DATA / "bounces" / "rhost-kddi-01.eml"))
    assert code == 0 and out.startswith("Dear customer,")
    assert "au (KDDI)'s spam filter or reception settings refused" in out
    assert "Lentrance Customer Support" in out and "お客様" not in out


def test_reply_for_a_full_mailbox_and_a_gone_address(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(_dsn("a@example.jp", "5.2.2", FULL, "Mon, 2 Nov 2026"))
    (tmp_path / "b.eml").write_bytes(
        _dsn("b@example.jp", "5.1.1", GONE.format("b@example.jp"), "Mon, 2 Nov 2026")
    )
    _, full, _ = _run("--reply", "--address", "A@example.jp", str(tmp_path))
    assert "メールボックスの容量がいっぱい" in full and "b@example.jp" not in full
    _, gone, _ = _run("--reply", "--address", "b@example.jp", str(tmp_path))
    assert "新規会員登録ページから、正しいメールアドレスで再度ご登録ください" in gone
    code, _, err = _run("--reply", "--address", "c@example.jp", "--lang", "en", str(tmp_path))
    assert code == 1 and err == "no reply draft: no bounce for c@example.jp in the input.\n"


def test_bad_files_are_one_line_each(tmp_path: Path) -> None:
    raw = (DATA / "bounces" / "sendmail-01.eml").read_bytes()
    (tmp_path / "1-truncated.eml").write_bytes(raw[:300])
    (tmp_path / "2-binary.bin").write_bytes(bytes(range(256)) * 4)
    nul = _dsn("n@example.jp", "5.1.1", GONE.format("n@example.jp"), "Mon, 2 Nov 2026")
    nul = nul.replace(b"Content-Type: text/plain", b'Content-Type: text/plain; charset="utf-\x008"')
    (tmp_path / "3-nul-charset.eml").write_bytes(nul.replace(b"mail system", b"mail\x00system"))
    (tmp_path / "4-ok.eml").write_bytes(raw)
    code, out, err = _run("--format", "jsonl", "--lang", "en", str(tmp_path))
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(Path(r["file"]).name, r.get("error"), r.get("reason")) for r in rows] == [
        ("1-truncated.eml", "no_failure", None),
        ("2-binary.bin", "not_an_email", None),
        ("3-nul-charset.eml", None, "userunknown"),
        ("4-ok.eml", None, "userunknown"),
    ]
    assert code == 1 and len(err.splitlines()) == 2 and "Traceback" not in err


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    """With stderr on a terminal the run shows a bar with the total; stdout stays clean."""
    for name in ("postfix-02.eml", "qmail-10.eml", "exim-01.eml"):
        shutil.copy(DATA / "bounces" / name, tmp_path / name)
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "maildoctor", "bounce", "--format", "jsonl", str(tmp_path)],
            stdout=subprocess.PIPE, stderr=follower, timeout=60, check=False,
        )  # fmt: skip
        os.close(follower)
        follower = -1
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 0
    assert b"3/3" in shown
    assert len(proc.stdout.decode().splitlines()) == 4  # 2 + 1 + 1 recipients, no bar


def test_reply_when_the_block_is_ours_asks_nothing_of_the_customer(tmp_path: Path) -> None:
    (tmp_path / "blocked.eml").write_bytes(
        _dsn(
            "taro@example.jp",
            "5.7.1",
            "554 5.7.1 Service unavailable; Client host [192.0.2.25] blocked using "
            "zen.spamhaus.org",
            "Mon, 2 Nov 2026 10:00:00 +0900",
        )
    )
    code, out, _ = _run("--reply", str(tmp_path / "blocked.eml"))
    assert code == 0
    assert "Lentrance側の送信環境に起因して" in out
    assert "■" not in out  # no settings for the customer to change


def test_an_empty_folder_says_so(tmp_path: Path) -> None:
    code, out, err = _run("--lang", "en", str(tmp_path))
    assert (code, out) == (1, "")
    assert err == f"{tmp_path}: no files to read (the folder is empty).\n"
