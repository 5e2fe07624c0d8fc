"""``diagnose --file`` reads tickets with check --file's reader (maildoctor/address/intake.py).

What support exports from a ticket system or Excel: UTF-8 with or without a BOM,
CP932, a CSV whose header names the address column (other columns kept), or one
address a line. A lone CR stays in its address; an empty input is said on stderr.
The trial runs against the real harness (a SQLite file in tmp_path), offline.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main


def diagnose_file(data: bytes, tmp_path: Path, *args: str) -> tuple[int, list[dict], str]:
    """Run diagnose --file on data; (exit code, the jsonl rows, stderr)."""
    tickets = tmp_path / "tickets.csv"
    tickets.write_bytes(data)
    result = CliRunner().invoke(
        main,
        ["diagnose", "--file", str(tickets), "--offline", "--format", "jsonl", *args,
         "--db", str(tmp_path / "h.sqlite3")],
    )  # fmt: skip
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, rows, result.stderr


TICKETS = (
    "問い合わせ番号,メールアドレス,内容\nT-1,taro@docomo.ne.jp,届かない\nT-2,hanako@gmial.com,\n"
)


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (TICKETS.encode(), "UTF-8"),
        (b"\xef\xbb\xbf" + TICKETS.encode(), "UTF-8 (BOM)"),
        (TICKETS.replace("\n", "\r\n").encode("cp932"), "CP932 (Shift_JIS)"),  # Excel in Japan
    ],
    ids=["utf-8", "utf-8-bom", "cp932"],
)
def test_tickets_in_the_encodings_excel_saves(tmp_path: Path, data: bytes, label: str) -> None:
    code, rows, err = diagnose_file(data, tmp_path)
    assert err == (
        f"Reading {tmp_path / 'tickets.csv'} as {label} (CSV, address column 'メールアドレス').\n"
    )
    assert [r["check"]["address"] for r in rows] == ["taro@docomo.ne.jp", "hanako@gmial.com"]
    assert [r["row"] for r in rows] == [
        {"問い合わせ番号": "T-1", "内容": "届かない"},
        {"問い合わせ番号": "T-2", "内容": ""},
    ]
    assert rows[1]["check"]["suggestion"] == "hanako@gmail.com"
    assert code == 1


def test_a_plain_list_is_one_address_a_line(tmp_path: Path) -> None:
    # No header names an address column: the whole line is the address, its comma a slip.
    code, rows, err = diagnose_file(b"taro@docomo,ne.jp\r\n\r\nhanako@example.jp\n", tmp_path)
    assert "(one address a line)" in err
    assert [r["check"]["address"] for r in rows] == ["taro@docomo,ne.jp", "hanako@example.jp"]
    assert rows[0]["check"]["suggestion"] == "taro@docomo.ne.jp"
    assert code == 1


def test_a_lone_cr_is_not_a_line_break(tmp_path: Path) -> None:
    code, rows, _ = diagnose_file(b"email,ticket\r\na@example.jp\rb@example.jp,T-9\r\n", tmp_path)
    [row] = rows  # one line in, one diagnosis out
    assert row["check"]["address"] == "a@example.jp\rb@example.jp"
    assert row["check"]["verdict"] == "undeliverable"
    assert row["row"] == {"ticket": "T-9"}
    assert row["trial"]["ran"] is False  # a line break never reaches SMTP
    assert code == 1


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"email,ticket\r\n", b"\n\n"])
def test_an_empty_input_is_said_on_stderr(tmp_path: Path, data: bytes) -> None:
    code, rows, err = diagnose_file(data, tmp_path)
    assert rows == []
    assert err.endswith("No addresses to diagnose: the file is empty.\n")
    assert code == 0


def test_stdin_is_read_the_same_way(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["diagnose", "--file", "-", "--offline", "--format", "jsonl",
         "--db", str(tmp_path / "h.sqlite3")],
        input="メールアドレス\nｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ\n".encode("cp932"),
    )  # fmt: skip
    assert (
        result.stderr
        == "Reading stdin as CP932 (Shift_JIS) (CSV, address column 'メールアドレス').\n"
    )
    [row] = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["check"]["suggestion"] == "taro@docomo.ne.jp"
    assert result.exit_code == 1
