"""The desk for a team, over real HTTP with real SQLite files: the agent and ticket id
of each diagnosis in the history (an old history file gains the columns), the
history's filters, a re-diagnosis in the other language under the same id, and the
honest summary when DNS was not asked or cannot be trusted."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.diagnose.history import History, HistoryFilter
from maildoctor.harness.server import HarnessThread
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig
from tests.test_desk_api import call, post_json

OLD_SCHEMA = """
CREATE TABLE diagnoses (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL, address TEXT NOT NULL,
    normalized TEXT NOT NULL, ticket TEXT NOT NULL, verdict TEXT NOT NULL,
    advice TEXT NOT NULL, draft TEXT NOT NULL, lang TEXT NOT NULL, result TEXT NOT NULL
);
"""


def test_an_old_history_file_gains_agent_and_ticket_id(tmp_path: Path) -> None:
    path = tmp_path / "desk-history.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
        conn.execute(
            "INSERT INTO diagnoses (created_at, address, normalized, ticket, verdict, advice,"
            " draft, lang, result) VALUES (1, 'a@b.jp', 'a@b.jp', 'not_arrived', 'ok', '[]',"
            " 'draft', 'ja', '{}')"
        )
    history = History(path)
    [old] = history.search()
    assert (old.address, old.agent, old.ticket_id) == ("a@b.jp", "", "")
    diagnosis = {"check": {"address": "c@d.jp", "verdict": "risky"}, "agent": "佐藤"}
    new_id = history.add({**diagnosis, "ticket_id": "#77"}, lang="ja")
    assert history.search("#77")[0].id == new_id
    assert history.search("さとう") == []
    assert [e.id for e in history.search("佐藤")] == [new_id]
    assert history.count(filters=HistoryFilter(verdict="ok")) == 1
    assert history.agents() == ["佐藤"]
    # The same diagnosis in the other language: rewritten under its id.
    assert history.add({**diagnosis, "reply_draft": "Dear"}, lang="en", replace=new_id) == new_id
    assert history.count() == 2 and history.get(new_id).draft == "Dear"  # type: ignore[union-attr]
    History(path)  # opening it again migrates nothing twice


@pytest.fixture
def desk(tmp_path: Path, nameserver: str) -> Iterator[HarnessThread]:
    config = WebConfig(nameservers=(nameserver,), dns_timeout=2.0)
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        yield h


def history(h: HarnessThread, **params: str) -> tuple[int, Any]:
    status, headers, body = call(h, "GET", "/api/diagnoses?" + urllib.parse.urlencode(params))
    data = json.loads(body)
    if status == 200:
        assert int(headers["X-Total-Count"]) == len(data)
    return status, data


def test_agent_ticket_id_and_the_history_filters(desk: HarnessThread) -> None:
    runs = [
        ("taro@docomo.ne.jp", "佐藤", "#101", "not_arrived"),
        ("hanako@gmail.com", "鈴木", "#102", "login_trouble"),
        ("taro@gmial.com", "佐藤", "LEN-7", "not_arrived"),
    ]
    for address, agent, ticket_id, ticket in runs:
        status, data = post_json(
            desk,
            "/api/diagnose",
            {"address": address, "agent": agent, "ticket_id": ticket_id, "ticket": ticket},
        )
        assert status == 200, data
        assert (data["agent"], data["ticket_id"]) == (agent, ticket_id)
    assert [e["address"] for e in history(desk, q="len-7")[1]] == ["taro@gmial.com"]
    assert len(history(desk, agent="佐藤")[1]) == 2
    assert [e["ticket_id"] for e in history(desk, ticket="login_trouble")[1]] == ["#102"]
    verdicts = {e["address"]: e["verdict"] for e in history(desk)[1]}
    assert verdicts == {
        "taro@docomo.ne.jp": "risky",
        "hanako@gmail.com": "ok",
        "taro@gmial.com": "undeliverable",
    }
    assert [e["address"] for e in history(desk, verdict="undeliverable")[1]] == ["taro@gmial.com"]
    today = dt.date.today()
    assert len(history(desk, **{"from": today.isoformat(), "to": today.isoformat()})[1]) == 3
    assert history(desk, to=(today - dt.timedelta(days=1)).isoformat())[1] == []
    [entry] = history(desk, ticket_id="", q="#101", lang="en")[1]
    assert entry["advice_titles"][0] == "Look in the spam folder"
    assert all("_" not in title for title in entry["advice_titles"])  # titles, not ids
    status, agents = post_json(desk, "/api/diagnose", {"address": "a@b.jp", "agent": 5})
    assert status == 400 and "free text" in agents["error"]
    assert history(desk, verdict="green")[0] == 400
    assert history(desk, **{"from": "yesterday"})[0] == 400
    _, _, body = call(desk, "GET", "/api/diagnoses/agents")
    assert json.loads(body) == ["佐藤", "鈴木"]


def test_redo_in_english_keeps_the_history_id(desk: HarnessThread) -> None:
    _, ja = post_json(desk, "/api/diagnose", {"address": "taro@docomo.ne.jp"})
    _, en = post_json(
        desk,
        "/api/diagnose",
        {"address": "taro@docomo.ne.jp", "lang": "en", "replace": ja["history_id"]},
    )
    assert en["history_id"] == ja["history_id"] and en["reply_draft"].startswith("Dear")
    [entry] = history(desk)[1]
    assert entry["lang"] == "en" and entry["draft"].startswith("Dear")
    status, error = post_json(desk, "/api/diagnose", {"address": "a@b.jp", "replace": "1"})
    assert status == 400 and "history id" in error["error"]


CLI_OFFLINE = "DNS: 確認していません(--offline)。ドメインとメールサーバーの有無は未確認です。"
#: The desk's words for it: an agent in a browser has no --offline flag.
DESK_OFFLINE = (
    "DNS: 確認していません(このデスクはDNSを照会しない設定です)。"
    "ドメインとメールサーバーの有無は未確認です。"
)


def test_without_dns_the_summary_says_unknown_as_the_cli_does(tmp_path: Path) -> None:
    """``--desk-dns off``: a domain that does not exist is never a green ok. The desk
    and the CLI say the same fact, each in its own words: the CLI names its flag, the
    desk (and its JSON twin) says how the desk is set up, with no CLI flag anywhere."""
    args = ["diagnose", "--offline", "taro@no-such-domain.jp", "--db", str(tmp_path / "c.db")]
    out = CliRunner().invoke(main, args).output
    assert CLI_OFFLINE in out
    args = ["diagnose", "--offline", "taro@softbank.ne.jp", "--db", str(tmp_path / "c.db")]
    out = CliRunner().invoke(main, args).output
    assert "DNSを照会していません(--offline)" in out  # the spoofing row's reason
    with run_in_thread(tmp_path / "h.sqlite3", web_config=WebConfig(nameservers=None)) as h:
        _, data = post_json(h, "/api/diagnose", {"address": "taro@no-such-domain.jp"})
        _, softbank = post_json(h, "/api/diagnose", {"address": "taro@softbank.ne.jp"})
        _, en = post_json(h, "/api/diagnose", {"address": "taro@softbank.ne.jp", "lang": "en"})
    assert data["verdict_state"] == "unknown"
    assert data["verdict_label"] == "不明(DNSを確認できません)"
    assert data["cause"] == data["dns_note"] == DESK_OFFLINE
    assert data["check"]["dns_skipped"] == "offline"  # the machine-readable state stays
    # SoftBank's spoofing filter: whether lentrance.com passes is unknown, and why.
    spoofing = [r["authentication"] for r in softbank["trial_rows"] if r["authentication"]]
    assert spoofing and {a["why"] for a in spoofing} == {"このデスクはDNSを照会しない設定です"}
    assert "(このデスクはDNSを照会しない設定です)" in softbank["lesson"]
    assert "this desk is set up without DNS lookups" in en["dns_note"]
    for answer in (data, softbank, en):
        assert "--offline" not in json.dumps(answer, ensure_ascii=False)


def test_untrusted_dns_is_unknown_with_the_clis_finding(tmp_path: Path) -> None:
    silent = "127.0.0.1:9"  # nothing answers there: DNS cannot be trusted
    args = ["diagnose", "--nameserver", silent, "--dns-timeout", "0.3", "taro@no-such-domain.jp"]
    args += ["--db", str(tmp_path / "c.db")]
    out = CliRunner().invoke(main, args).output
    config = WebConfig(nameservers=(silent,), dns_timeout=0.3)
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        _, data = post_json(h, "/api/diagnose", {"address": "taro@no-such-domain.jp"})
    assert data["verdict_state"] == "unknown" and "判定: 不明(DNSを確認できません)" in out
    assert data["cause"] in out and "存在するかどうかは不明です" in data["cause"]


def test_the_delivery_record_is_the_cause(tmp_path: Path) -> None:
    """Evidence before inference: when our own records settle what happened to the mail,
    the summary's cause is their sentence, not the address's findings."""
    from maildoctor.events import EventStore
    from maildoctor.events.ingest import ingest_source

    db = tmp_path / "events.sqlite3"
    data = Path(__file__).parent / "data" / "events"
    with EventStore(db) as store:
        for name in ("postfix-maillog.log", "sendgrid-events.json"):
            assert not ingest_source(store, str(data / name)).error
    config = WebConfig(nameservers=None, events_db=db)
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config, auth_nameservers=None) as h:
        _, data_ = post_json(h, "/api/diagnose", {"address": "nobody@docomo.ne.jp"})
    assert data_["delivery"]["verdict"] == "no_record"
    assert data_["cause"] == data_["delivery"]["summary"]
    assert "carrier_mail" in [f["code"] for f in data_["check"]["findings"]]  # not the cause


def test_the_records_times_are_in_the_readers_zone(tmp_path: Path) -> None:
    """The record's sentences name their times in the reader's zone (``"tz"``, the
    browser's; Japan's by default: the agents are there), the records' ``time`` stays
    ISO 8601 in UTC; the CLI keeps UTC; a zone that is none is a 400, not a 500."""
    from maildoctor.events import EventStore
    from maildoctor.events.ingest import ingest_source

    db = tmp_path / "events.sqlite3"
    data = Path(__file__).parent / "data" / "events"
    with EventStore(db) as store:
        assert not ingest_source(store, str(data / "postfix-maillog.log")).error
    config = WebConfig(nameservers=None, events_db=db)
    ask = {"address": "defer@softbank.ne.jp"}
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config, auth_nameservers=None) as h:
        _, tokyo = post_json(h, "/api/diagnose", ask)
        _, paris = post_json(h, "/api/diagnose", {**ask, "tz": "Europe/Paris", "lang": "en"})
        bad = [post_json(h, "/api/diagnose", {**ask, "tz": tz}) for tz in ("Mars/Base", 9, "../x")]
    record = tokyo["delivery"]
    assert record["records"][0]["time"] == "2026-12-07T09:42:49Z"
    assert record["summary"].startswith("2026-12-07 18:42 JSTに期限切れ")
    assert "UTC" not in record["summary"] + record["searched_text"]
    assert "JST" in record["searched_text"]
    assert "at 2026-12-07 10:42 CET (sender blocked)" in paris["delivery"]["summary"]
    assert paris["delivery"]["records"][0]["time"] == "2026-12-07T09:42:49Z"
    for status, error in bad:
        assert status == 400 and error["error"] == '"tz" is a time zone name such as "Asia/Tokyo".'
    args = ["diagnose", "--offline", "defer@softbank.ne.jp", "--events-db", str(db)]
    args += ["--db", str(tmp_path / "c.db")]
    assert "2026-12-07 09:42 UTC" in CliRunner().invoke(main, args).output


def test_the_desks_trials_are_hidden_from_the_developers_list(desk: HarnessThread) -> None:
    status, _ = post_json(desk, "/api/diagnose", {"address": "hanako@au.com"})
    assert status == 200
    _, hidden, _ = call(desk, "GET", "/api/messages?trials=0")
    _, shown, body = call(desk, "GET", "/api/messages?trials=1")
    assert hidden["X-Total-Count"] == "0"
    assert int(shown["X-Total-Count"]) >= 4 and all(m["trial"] for m in json.loads(body))
