"""``sender`` without --sending-ip: the sending IPs the delivery records saw (SendGrid's
``ip``, the client the harness saw), each checked for FCrDNS and SPF against the loopback
DNS server; the events store's migration; an unreadable store said as such."""

from __future__ import annotations

import json
import smtplib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.events.esp import UnknownShape, events_from_json
from maildoctor.events.ingest import ingest_source, peer_ip
from maildoctor.events.model import Event
from maildoctor.events.store import EventStore
from maildoctor.harness.server import run_in_thread
from tests.dnsserver import ZONES_DIR, DNSTestServer

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def ns() -> Iterator[str]:
    with DNSTestServer.from_files(ZONES_DIR / "sender.zone") as server:
        yield server.nameserver


def _event(n: int, ip: str, *, source: str = "api", days_ago: float = 1) -> Event:
    return Event(
        time=NOW - timedelta(days=days_ago),
        address=f"user{n}@example.jp",
        status="sent",
        source=source,
        key=f"k{n}:{ip}:{source}",
        sending_ip=ip,
    )


def _sender(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["sender", "lentrance.com", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout


def test_sendgrid_events_keep_their_sending_ip_and_ses_has_none() -> None:
    (delivered,) = events_from_json(
        [{"email": "a@example.jp", "event": "delivered", "ip": "198.51.100.8",
          "sg_event_id": "e1", "timestamp": 1700000000, "response": "250 OK"}],
        origin="sg",
    )  # fmt: skip
    assert delivered.sending_ip == "198.51.100.8"
    assert delivered.to_dict()["sending_ip"] == "198.51.100.8"
    (bad,) = events_from_json(
        [{"email": "a@example.jp", "event": "delivered", "ip": "not-an-ip", "sg_event_id": "e2"}],
        origin="sg",
    )
    assert bad.sending_ip == ""
    ses = {
        "eventType": "Delivery",
        "mail": {"timestamp": "2026-12-01T00:00:00Z", "messageId": "m1", "sourceIp": "203.0.113.9"},
        "delivery": {"timestamp": "2026-12-01T00:00:01Z", "recipients": ["a@example.jp"],
                     "remoteMtaIp": "192.0.2.99", "reportingMTA": "a8-1.smtp-out.amazonses.com"},
    }  # fmt: skip
    # The API caller's IP and the receiver's are not the IP the mail left from.
    assert [e.sending_ip for e in events_from_json(ses, origin="ses")] == [""]


def test_peer_ip_reads_the_harness_peer() -> None:
    assert peer_ip("127.0.0.1:40123") == "127.0.0.1"
    assert peer_ip("::1:8025") == "::1"  # ip:port, even where the whole reads as IPv6
    assert peer_ip("[2001:db8::1]:25") == "2001:db8::1"
    assert peer_ip("?") == ""


def test_an_older_store_gains_the_column_and_keeps_its_records(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, time REAL NOT"
        " NULL, address TEXT NOT NULL, status TEXT NOT NULL, source TEXT NOT NULL, reply TEXT"
        " NOT NULL, reason TEXT NOT NULL, hard INTEGER NOT NULL, message_id TEXT NOT NULL,"
        " queue_id TEXT NOT NULL, relay TEXT NOT NULL, dsn TEXT NOT NULL, subject TEXT NOT NULL,"
        " origin TEXT NOT NULL, detail TEXT NOT NULL);"
    )
    db.execute(
        "INSERT INTO events VALUES (1, 'old', ?, 'a@example.jp', 'sent', 'postfix', '250 ok',"
        " '', 0, '', '', '', '', '', 'maillog', '{}')",
        (NOW.timestamp() - 3600,),
    )
    db.commit()
    db.close()
    path.chmod(0o444)  # a reader that cannot write still reads an old store
    with EventStore(path, create=False) as store:
        assert [e.sending_ip for e in store.timeline("a@example.jp")] == [""]
        assert store.sending_ips() == []
    path.chmod(0o644)
    with EventStore(path) as store:
        store.add([_event(1, "192.0.2.25")])
        assert [e.sending_ip for e in store.timeline("a@example.jp")] == [""]
        assert [s.ip for s in store.sending_ips()] == ["192.0.2.25"]
    columns = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(events)")]
    assert columns[-1] == "sending_ip"


def test_sender_checks_the_ips_the_records_saw(ns: str, tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite3"
    with EventStore(db) as store:
        store.add([_event(n, "192.0.2.25", source="harness") for n in range(3)])
        store.add([_event(n, "192.0.2.25", source="sendgrid") for n in range(2)])
        store.add([_event(n, "198.51.100.8", source="sendgrid") for n in range(1)])
        store.add([_event(9, "198.51.100.7", days_ago=40)])  # outside --events-days 30
    code, out = _sender(
        "--nameserver", ns, "--events-db", str(db), "--events-days", "30", "--format", "json"
    )
    data = json.loads(out)
    assert code == 1  # 198.51.100.8: PTR that does not resolve back, SPF softfail
    origin = data["sending_ips_from"]
    assert origin["from"] == "records" and origin["error"] is None
    assert origin["ips"] == ["192.0.2.25", "198.51.100.8"] and origin["days"] == 30
    assert [(s["ip"], s["records"], s["sources"]) for s in origin["seen"]] == [
        ("192.0.2.25", 5, {"harness": 3, "sendgrid": 2}),
        ("198.51.100.8", 1, {"sendgrid": 1}),
    ]
    assert [(r["ip"], r["fcrdns"], r["spf"]) for r in data["records"]["sending_ips"]] == [
        ("192.0.2.25", True, "pass"),
        ("198.51.100.8", False, "softfail"),
    ]
    assert "ptr_mismatch" in {f["code"] for f in data["findings"]}
    _, text = _sender("--nameserver", ns, "--events-db", str(db), "--lang", "en")
    assert (
        f"Sending IPs (from the delivery records, last 90 days, {db}): 192.0.2.25 (records 5:"
        " harness 3, sendgrid 2), 198.51.100.7 (records 1: api 1), 198.51.100.8 (records 1:"
        " sendgrid 1)" in text
    )
    assert "  Reverse DNS of 198.51.100.7: (none); SPF: softfail" in text
    # --sending-ip wins over the records, and says so.
    _, out = _sender(
        "--nameserver", ns, "--events-db", str(db), "--sending-ip", "192.0.2.25", "--format", "json"
    )
    assert json.loads(out)["sending_ips_from"]["from"] == "option"
    assert [r["ip"] for r in json.loads(out)["records"]["sending_ips"]] == ["192.0.2.25"]


def test_the_default_store_is_read_from_the_environment(ns: str, tmp_path: Path) -> None:
    db = tmp_path / "env.sqlite3"
    with EventStore(db) as store:
        store.add([_event(1, "192.0.2.25")])
    result = CliRunner(env={"MAILDOCTOR_EVENTS_DB": str(db)}).invoke(
        main, ["sender", "lentrance.com", "--nameserver", ns, "--format", "json"]
    )
    assert json.loads(result.stdout)["sending_ips_from"]["ips"] == ["192.0.2.25"]


def test_no_ips_in_the_records_and_an_unreadable_store_are_told_apart(
    ns: str, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.sqlite3"
    EventStore(empty).close()
    _, out = _sender("--nameserver", ns, "--events-db", str(empty), "--format", "json")
    origin = json.loads(out)["sending_ips_from"]
    assert (origin["from"], origin["ips"], origin["error"]) == ("none", [], None)
    _, text = _sender("--nameserver", ns, "--events-db", str(empty), "--lang", "en")
    assert f"Sending IPs: none in the delivery records of the last 90 days ({empty})" in text
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"this is not a database, it is a text file" * 100)
    missing = tmp_path / "nowhere" / "events.sqlite3"
    for path, why in ((broken, "it is not an SQLite database"), (missing, "No events store at")):
        _, out = _sender("--nameserver", ns, "--events-db", str(path), "--format", "json")
        origin = json.loads(out)["sending_ips_from"]
        assert origin["from"] == "none" and origin["ips"] == []
        assert why in origin["error"]
        _, text = _sender("--nameserver", ns, "--events-db", str(path))
        assert "送信IP: 不明(配信記録を検索できません: " in text and why in text
        assert "送信IP: 配信記録" not in text


def test_the_harness_records_the_client_that_relayed_to_it(tmp_path: Path, ns: str) -> None:
    """Our MTA relays to the harness over TCP; the harness store, ingested, names the
    client's address as the sending IP, and ``sender`` checks it."""
    msg = EmailMessage()
    msg["From"] = "noreply@lentrance.com"
    msg["To"] = "hanako@example.jp"
    msg["Subject"] = "hello"
    msg["Message-ID"] = "<ip-1@lentrance.com>"
    msg.set_content("hello")
    harness_db = tmp_path / "h.sqlite3"
    with run_in_thread(harness_db, http_port=None, auth_nameservers=None) as harness:
        with smtplib.SMTP(*harness.smtp_address) as s:
            s.send_message(msg)
        assert len(harness.messages()) == 1
    db = tmp_path / "events.sqlite3"
    with EventStore(db) as store:
        report = ingest_source(store, str(harness_db))
        assert report.kind == "harness" and report.error == ""
        (event,) = store.timeline("hanako@example.jp")
    assert event.source == "harness" and event.sending_ip == "127.0.0.1"
    _, out = _sender("--nameserver", ns, "--events-db", str(db), "--format", "json")
    data = json.loads(out)
    assert data["sending_ips_from"]["seen"][0]["sources"] == {"harness": 1}
    (row,) = data["records"]["sending_ips"]
    assert row["ip"] == "127.0.0.1" and row["spf"] == "softfail"


def test_no_store_at_the_default_place_is_not_an_error(ns: str, tmp_path: Path) -> None:
    result = CliRunner(env={"XDG_DATA_HOME": str(tmp_path), "MAILDOCTOR_EVENTS_DB": None}).invoke(
        main, ["sender", "lentrance.com", "--nameserver", ns, "--format", "json", "--lang", "en"]
    )
    origin = json.loads(result.stdout)["sending_ips_from"]
    assert (origin["from"], origin["searched"], origin["error"]) == ("none", False, None)
    assert origin["store"] == str(tmp_path / "maildoctor" / "events.sqlite3")


def test_a_damaged_store_is_said_as_such_and_a_folder_is_refused(ns: str, tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    with EventStore(path) as store:
        store.add([_event(n, "192.0.2.25") for n in range(200)])
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the header's tail and the schema page
    path.write_bytes(bytes(data))
    code, out = _sender("--nameserver", ns, "--events-db", str(path), "--format", "json")
    origin = json.loads(out)["sending_ips_from"]
    assert origin["from"] == "none" and origin["ips"] == []
    assert origin["error"].startswith(f"The events store {path} is damaged")
    assert code == 1  # the audit itself still runs (lentrance.com has no DMARC)
    folder = tmp_path / "folder"
    folder.mkdir()
    code, _ = _sender("--nameserver", ns, "--events-db", str(folder))
    assert code == 2


def test_a_record_in_the_events_own_shape_may_carry_its_sending_ip() -> None:
    record = {"time": "2026-12-01T00:00:00Z", "address": "a@example.jp", "status": "sent",
              "sending_ip": "2001:DB8::25"}  # fmt: skip
    (event,) = events_from_json(record, origin="api")
    assert event.sending_ip == "2001:db8::25"  # normalised, as the store groups it
    with pytest.raises(UnknownShape, match="'sending_ip' is not an IP address"):
        events_from_json({**record, "sending_ip": "mail.example.jp"}, origin="api")
