"""Bad input to the web app as clients really send it, over real TCP: a lone surrogate
escaped in JSON, a BOM from a Windows tool, NaN, a century too many days, the first and
last days a calendar has, a query word that is not one of the API's. Each is the right
4xx with a one-line JSON error, never a 500; and one mistake gets one answer from every
JSON API (the sign-up check's and the desk's bodies are read by one function)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maildoctor.events.store import MAX_DAYS
from maildoctor.harness.server import HarnessThread
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig
from tests.webcall import call

EVENTS = Path(__file__).parent / "data" / "events"
TOKEN = "bad-input-events-token"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HarnessThread]:
    """One app for the module: no DNS (nothing here is about it), events open to TOKEN."""
    tmp = tmp_path_factory.mktemp("bad-input-web")
    config = WebConfig(
        nameservers=None,
        check_nameservers=None,
        check_rate=0,
        events_token=TOKEN,
        events_db=tmp / "events.sqlite3",
        history_db=tmp / "history.sqlite3",
    )
    with run_in_thread(tmp / "h.sqlite3", web_config=config, auth_nameservers=None) as h:
        yield h


def error_of(answer: Any) -> str:
    """The contract's error: one sentence on one line."""
    error = answer["error"]
    assert "\n" not in error and error.endswith("."), error
    return str(error)


#: Bodies each JSON API reads with web.http.read_json_object, and what they are.
BAD_BODIES = [
    (b"{", "application/json", 400, "The body is not valid JSON: "),
    (b"\xff\xfe{}", "application/json", 400, "it is not UTF-8 text (byte 0)"),
    (b"[" * 10_000, "application/json", 400, "it is nested too deeply"),
    (b'{"address": NaN}', "application/json", 400, "NaN is not a JSON number"),
    (b'{"address": -Infinity}', "application/json", 400, "-Infinity is not a JSON number"),
    (b'["a@b.jp"]', "application/json", 400, "The body must be a JSON object"),
    (b'{"address": "\\ud800@b.jp"}', "application/json", 400, "(U+D800): a lone surrogate"),
    (b'{"address": "a@b.jp"}', "text/plain", 415, "Send JSON with 'Content-Type: application"),
]


@pytest.mark.parametrize(("body", "ctype", "status", "said"), BAD_BODIES)
def test_one_mistake_gets_one_answer_from_every_json_api(
    server: HarnessThread, body: bytes, ctype: str, status: int, said: str
) -> None:
    """The sign-up check, the desk's diagnosis and its CSV download: the same status
    and the same sentence (they had three readers and as many wordings)."""
    answers = {
        path: call(server, "POST", path, body, **{"Content-Type": ctype})
        for path in ("/api/check", "/api/diagnose", "/api/csv")
    }
    texts = {error_of(answer) for _, answer in answers.values()}
    assert {code for code, _ in answers.values()} == {status}, answers
    assert len(texts) == 1, answers
    assert said in texts.pop()


@pytest.mark.parametrize("path", ["/api/check", "/api/diagnose"])
def test_a_body_with_a_bom_is_read(server: HarnessThread, path: str) -> None:
    """PowerShell and Notepad write a UTF-8 BOM; RFC 8259 lets a reader ignore it."""
    body = b"\xef\xbb\xbf" + json.dumps({"address": "taro@docomo.ne.jp"}).encode()
    status, answer = call(server, "POST", path, body, **JSON)
    assert status == 200, answer


def test_the_csv_download_refuses_a_name_no_text_can_hold(server: HarnessThread) -> None:
    """A lone surrogate in a column name reached the CSV writer: a 500."""
    body = b'{"header": ["\\udc80"], "rows": [["x"]]}'
    status, answer = call(server, "POST", "/api/csv", body, **JSON)
    assert status == 400
    assert "lone surrogate" in error_of(answer)
    ok = json.dumps({"header": ["メール"], "rows": [["=1+1"]]}).encode()
    status, answer = call(server, "POST", "/api/csv", ok, **JSON)
    assert status == 200 and answer["csv"] == "\ufeffメール\r\n'=1+1\r\n"


@pytest.mark.parametrize("days", ["100000000000", str(MAX_DAYS + 1), "-1", "x", "1e3", ""])
def test_an_address_timeline_refuses_days_no_calendar_has(server: HarnessThread, days: str) -> None:
    """?days=10**11 was an OverflowError (a 500); -1 was taken as 0 without a word."""
    path = f"/api/addresses/taro@docomo.ne.jp/events?days={urllib.request.quote(days)}"
    status, answer = call(server, "GET", path)
    assert status == 400
    assert error_of(answer) == "days must be a whole number from 0 (all kept) to 36,500."


@pytest.mark.parametrize("days", ["0", "90", str(MAX_DAYS)])
def test_an_address_timeline_takes_the_days_it_says(server: HarnessThread, days: str) -> None:
    status, answer = call(server, "GET", f"/api/addresses/taro@docomo.ne.jp/events?days={days}")
    assert status == 200 and answer["address"] == "taro@docomo.ne.jp"


@pytest.mark.parametrize(
    "query", ["to=9999-12-31", "from=0001-01-01", "from=0001-01-01&to=9999-12-31"]
)
def test_the_history_takes_the_first_and_last_days_of_the_calendar(
    server: HarnessThread, query: str
) -> None:
    """9999-12-31 + one day was an OverflowError, 0001-01-01's timestamp a ValueError:
    500s. They are no bound at all: every diagnosis is after the first, before the last."""
    status, diagnosed = call(server, "POST", "/api/diagnose", b'{"address": "a@b.jp"}', **JSON)
    assert status == 200, diagnosed
    status, answer = call(server, "GET", f"/api/diagnoses?{query}")
    assert status == 200
    assert any(entry["address"] == "a@b.jp" for entry in answer)


def test_the_address_list_refuses_a_mode_it_does_not_have(server: HarnessThread) -> None:
    """?mode=nope was read as a list without a word: a typo of ?mode=text lost the prose."""
    body = json.dumps({"text": "taro@docomo.ne.jp で登録しました"}).encode()
    status, answer = call(server, "POST", "/api/addresses?mode=txt", body, **JSON)
    assert status == 400
    assert error_of(answer) == 'mode is "list" or "text", not \'txt\'.'
    status, answer = call(server, "POST", "/api/addresses?mode=text", body, **JSON)
    assert status == 200 and answer["rows"] == [{"address": "taro@docomo.ne.jp"}]


def test_posted_events_with_a_lone_surrogate_keep_the_others(server: HarnessThread) -> None:
    """One SendGrid event whose address escapes a lone surrogate was a UnicodeEncodeError
    in the store (a 500, and `events ingest` a traceback): it is named, the rest kept."""
    events = json.loads((EVENTS / "sendgrid-events.json").read_text())
    bad = {**events[0], "email": "\udc80@example.jp"}
    body = json.dumps([bad, *events]).encode()
    status, answer = call(server, "POST", "/api/events", body, Authorization=f"Bearer {TOKEN}")
    assert status == 200, answer
    assert answer["records"] == 7  # what the file gives alone (test_events_api)
    assert answer["errors"] == ["a value holds an invalid character (a lone surrogate)"]


def test_posted_events_with_a_bom_are_read(server: HarnessThread) -> None:
    """A BOM before a SendGrid batch made every line 'not JSON' (87 lines unreadable)."""
    body = b"\xef\xbb\xbf" + (EVENTS / "ses-events.jsonl").read_bytes()
    status, answer = call(server, "POST", "/api/events", body, Authorization=f"Bearer {TOKEN}")
    assert status == 200, answer
    assert answer["records"] == 5 and answer["errors"] == []


def test_an_address_timeline_takes_an_address_typed_in_full_width(server: HarnessThread) -> None:
    """``＠`` typed through an IME was "not an address" (a 400)."""
    path = (
        "/api/addresses/" + urllib.request.quote("ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ") + "/events"
    )
    status, answer = call(server, "GET", path)
    assert status == 200, answer
    assert answer["address"] == "taro@docomo.ne.jp"
