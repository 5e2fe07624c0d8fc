"""The harness's one decoder (Japanese fallbacks), its query language, true totals and
paging, the search in bodies and the trials kept apart: over real SMTP and HTTP, with a
real SQLite file."""

from __future__ import annotations

import base64
import datetime as dt
import json
import smtplib
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from maildoctor.harness.query import QueryError, Term, parse_query
from maildoctor.harness.server import HarnessThread
from maildoctor.harness.store import TRIAL_HELO
from maildoctor.mail.decode import decode_bytes, decode_header
from maildoctor.web.app import run_in_thread

NEC_IBM = "①髙㈱のお知らせ"  # NEC row 13, an IBM extension, a NEC special


def _sjis_to_jis(data: bytes) -> bytes:
    """CP932 double bytes as JIS X 0208 row/cell pairs (the reverse of what CP50220
    reading does), written out here the textbook way to check the decoder against."""
    out = bytearray()
    for i in range(0, len(data), 2):
        s1, s2 = data[i], data[i + 1]
        row = (s1 - 0x81 if s1 < 0xE0 else s1 - 0xC1) * 2 + 0x21
        if s2 >= 0x9F:
            out += bytes((row + 1, s2 - 0x7E))
        else:
            out += bytes((row, s2 - 0x1F - (1 if s2 >= 0x80 else 0)))
    return bytes(out)


def iso2022jp_ms(text: str) -> bytes:
    return b"\x1b$B" + _sjis_to_jis(text.encode("cp932")) + b"\x1b(B"


def test_shift_jis_word_with_nec_and_ibm_characters() -> None:
    word = base64.b64encode(NEC_IBM.encode("cp932")).decode()
    assert decode_header(f"=?Shift_JIS?B?{word}?=") == NEC_IBM
    assert decode_header(f"=?shift_jis?B?{word}?= <info@example.jp>") == (
        f"{NEC_IBM} <info@example.jp>"
    )


def test_iso_2022_jp_with_microsoft_extensions() -> None:
    for text in ("①②③㈱髙島屋", "仮登録のお知らせ"):
        data = iso2022jp_ms(text)
        assert decode_bytes(data, "ISO-2022-JP") == text
        word = base64.b64encode(data).decode()
        assert decode_header(f"=?ISO-2022-JP?B?{word}?=") == text
    kana = b"\x1b(I" + bytes(b & 0x7F for b in "ﾃｽﾄ".encode("cp932")) + b"\x1b(B"
    assert decode_bytes(b"a " + kana + b" b", "iso-2022-jp") == "a ﾃｽﾄ b"
    assert decode_bytes("こんにちは".encode("iso2022_jp"), None) == "こんにちは"


def test_raw_8bit_headers_and_bodies_without_a_charset() -> None:
    assert decode_bytes("㈱テスト".encode("cp932")) == "㈱テスト"
    assert decode_bytes("日本語".encode("euc_jp")) == "日本語"
    assert decode_bytes("日本語".encode()) == "日本語"
    raw8 = NEC_IBM.encode("cp932").decode("ascii", "surrogateescape")
    assert decode_header(raw8) == NEC_IBM
    assert decode_header("plain\r\n folded") == "plain folded"
    assert decode_header("=?utf-8?B?broken") == "=?utf-8?B?broken"  # shown as sent


def test_query_parser() -> None:
    assert parse_query('taro -junk to:docomo.ne.jp subject:"仮登録 完了" has:attachment') == [
        Term("", "taro"),
        Term("", "junk", negated=True),
        Term("to", "docomo.ne.jp"),
        Term("subject", "仮登録 完了"),
        Term("has", "attachment"),
    ]
    assert parse_query("-tag:trial FROM:x 10:00 http://a") == [
        Term("tag", "trial", negated=True),
        Term("from", "x"),
        Term("", "10:00"),
        Term("", "http://a"),
    ]
    assert parse_query("after:2026-12-01 before:2026-12-07T10:30") == [
        Term("after", "2026-12-01"),
        Term("before", "2026-12-07T10:30"),
    ]
    assert parse_query("  ") == []
    assert parse_query("-") == [Term("", "-")]
    for bad, says in (
        ("before:yesterday", "not a date"),
        ("has:pdf", "has:attachment"),
        ("tag:x", "tag:trial"),
        ("to:", "needs a value"),
        ("a " * 21, "at most 20"),
    ):
        with pytest.raises(QueryError, match=says):
            parse_query(bad)


# -- over SMTP and HTTP -----------------------------------------------------------------


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[HarnessThread]:
    with run_in_thread(tmp_path / "h.sqlite3") as h:
        yield h


def send(h: HarnessThread, raw: bytes, to: str, helo: str = "client.example") -> None:
    with smtplib.SMTP(*h.smtp_address, timeout=10) as smtp:
        smtp.ehlo(helo)
        smtp.sendmail("dev@lentrance.com", [to], raw)


def mail(subject_header: str, body: bytes, charset: str, to: str, extra: str = "") -> bytes:
    return (
        f"From: Dev <dev@lentrance.com>\r\nTo: {to}\r\nSubject: {subject_header}\r\n"
        f"Message-ID: <{abs(hash((subject_header, to)))}@lentrance.com>\r\n{extra}"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + body


def listing(h: HarnessThread, **params: str) -> tuple[int, int, Any]:
    url = f"{h.http_url}/api/messages?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, int(r.headers["X-Total-Count"]), json.loads(r.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, -1, json.loads(e.read())


def test_decoded_in_the_list_the_view_and_the_search(harness: HarnessThread) -> None:
    word = base64.b64encode(NEC_IBM.encode("cp932")).decode()
    body = "本文に①と髙橋様と㈱を含みます。".encode("cp932")
    send(
        harness, mail(f"=?Shift_JIS?B?{word}?=", body, "Shift_JIS", "a@example.jp"), "a@example.jp"
    )
    jis_word = base64.b64encode(b"ISO" + iso2022jp_ms("②版")).decode()
    jis_body = b"ISO" + iso2022jp_ms("の本文③")
    send(
        harness,
        mail(f"=?ISO-2022-JP?B?{jis_word}?=", jis_body, "ISO-2022-JP", "b@example.jp"),
        "b@example.jp",
    )
    status, total, rows = listing(harness)
    assert status == 200 and total == 2
    assert [r["subject"] for r in rows] == ["ISO②版", NEC_IBM]
    with urllib.request.urlopen(f"{harness.http_url}/api/messages/{rows[1]['id']}") as r:
        detail = json.loads(r.read())
    assert detail["subject"] == NEC_IBM
    assert ["Subject", NEC_IBM] in detail["headers"]
    assert "①と髙橋様と㈱" in detail["text"]
    # The search finds words of the decoded subject and of the decoded body.
    assert [r["subject"] for r in listing(harness, q="髙橋様")[2]] == [NEC_IBM]
    assert [r["subject"] for r in listing(harness, q="本文③")[2]] == ["ISO②版"]
    assert [r["subject"] for r in listing(harness, q="subject:㈱")[2]] == [NEC_IBM]


def test_rows_stored_with_raw_words_are_decoded_when_read(
    harness: HarnessThread, tmp_path: Path
) -> None:
    """A store written before the Japanese fallbacks keeps raw MIME words: shown decoded."""
    send(harness, mail("old", b"x", "utf-8", "a@example.jp"), "a@example.jp")
    word = base64.b64encode(NEC_IBM.encode("cp932")).decode()
    with sqlite3.connect(tmp_path / "h.sqlite3") as conn:
        conn.execute("UPDATE messages SET subject = ?", (f"=?Shift_JIS?B?{word}?=",))
    assert listing(harness)[2][0]["subject"] == NEC_IBM


def test_true_total_paging_and_the_query_language(harness: HarnessThread) -> None:
    for i in range(7):
        to = "taro@docomo.ne.jp" if i % 2 else f"user{i}@example.jp"
        send(harness, mail(f"notice {i}", f"body number {i}".encode(), "utf-8", to), to)
    attached = EmailMessage()
    attached["From"], attached["To"], attached["Subject"] = "x@lentrance.com", "z@ex.jp", "pdf"
    attached.set_content("see the file")
    attached.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="a.pdf")
    send(harness, attached.as_bytes(), "z@ex.jp")
    status, total, rows = listing(harness, limit="3")
    assert status == 200 and total == 8 and len(rows) == 3
    _, total2, page2 = listing(harness, limit="3", offset="3")
    assert total2 == 8 and [r["id"] for r in page2] == [r["id"] - 3 for r in rows]
    assert listing(harness, q="to:docomo.ne.jp")[1] == 3
    assert listing(harness, q="-to:docomo.ne.jp")[1] == 5
    assert listing(harness, q='"body number 4"')[1] == 1  # the body text
    assert listing(harness, q="has:attachment")[2][0]["subject"] == "pdf"
    assert listing(harness, q="-has:attachment")[1] == 7
    assert listing(harness, q="from:lentrance subject:notice")[1] == 7
    assert listing(harness, q="rule:default")[1] == 8
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    assert listing(harness, q=f"before:{tomorrow}")[1] == 8
    assert listing(harness, q=f"after:{tomorrow}")[1] == 0
    status, _, error = listing(harness, q="before:someday")
    assert status == 400 and "not a date" in error["error"]


def test_trials_are_kept_apart(harness: HarnessThread) -> None:
    send(harness, mail("dev mail", b"x", "utf-8", "a@example.jp"), "a@example.jp")
    send(harness, mail("trial", b"x", "utf-8", "t@docomo.ne.jp"), "t@docomo.ne.jp", TRIAL_HELO)
    assert [r["subject"] for r in listing(harness, trials="0")[2]] == ["dev mail"]
    assert listing(harness, trials="1")[1] == 2
    assert [r["subject"] for r in listing(harness, trials="0", q="tag:trial")[2]] == ["trial"]
    assert listing(harness, trials="2")[0] == 400
