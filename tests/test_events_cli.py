"""``maildoctor events ingest | show | suppressed`` as users run them."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.events import EventStore

DATA = Path(__file__).parent / "data" / "events"
LOG = DATA / "postfix-maillog.log"


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_ingest_then_show_in_every_format(tmp_path: Path) -> None:
    db = str(tmp_path / "e.sqlite3")
    code, out, err = run("events", "ingest", "--events-db", db, "--log-zone", "UTC", str(LOG))
    assert code == 0, err
    assert "postfix, 42 read, 8 records (8 new)" in out
    assert "the year is taken from the file's modification time" in err
    code, out, _ = run("events", "ingest", "--events-db", db, "--log-zone", "UTC", str(LOG))
    assert code == 0 and "8 records (0 new)" in out

    code, out, _ = run("events", "show", "--events-db", db, "--days", "0", "Reject@EZweb.ne.jp")
    assert code == 0
    assert "配信記録: reject@ezweb.ne.jp" in out and "不達(バウンス)" in out
    assert "said: 550 5.7.1" in out
    code, out, _ = run(
        "events", "show", "--events-db", db, "--days", "0", "--format", "json", "reject@ezweb.ne.jp"
    )
    (record,) = json.loads(out)
    for field in ("time", "address", "status", "reply", "reason", "hard", "source", "message_id"):
        assert field in record
    assert record["status"] == "bounced" and record["source"] == "postfix"
    assert record["message_id"] == "m1@lentrance.test"
    code, out, _ = run(
        "events",
        "show",
        "--events-db",
        db,
        "--days",
        "0",
        "--format",
        "jsonl",
        "defer@softbank.ne.jp",
    )
    assert [json.loads(line)["status"] for line in out.splitlines()] == [
        "expired",
        "deferred",
        "deferred",
        "deferred",
    ]
    code, out, _ = run(
        "events",
        "show",
        "--events-db",
        db,
        "--days",
        "0",
        "--format",
        "csv",
        "--lang",
        "en",
        "defer@softbank.ne.jp",
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["status"] == "expired" and rows[0]["hard"] == "false"


def test_suppressed_lists_why_and_since(tmp_path: Path) -> None:
    db = str(tmp_path / "e.sqlite3")
    sources = [str(DATA / n) for n in ("ses-bounce-sns.json", "sendgrid-events.json")]
    assert run("events", "ingest", "--events-db", db, *sources)[0] == 0
    code, out, _ = run("events", "suppressed", "--events-db", db, "--days", "0")
    rows = {r["address"]: r for r in csv.DictReader(io.StringIO(out))}
    assert code == 0
    assert rows["hanako@example.jp"]["why"] == "hard_bounce"
    assert rows["hanako@example.jp"]["since"] == "2026-11-30T00:41:02.669000Z"
    assert rows["gone@example.jp"]["why"] == "esp_drop"
    assert rows["gone@example.jp"]["reason"] == "Bounced Address"
    assert rows["angry@example.jp"]["why"] == "complaint"
    assert "taro@ezweb.ne.jp" not in rows  # deferred once, then delivered


def test_bad_sources_get_one_line_each_and_the_rest_goes_in(tmp_path: Path) -> None:
    db = str(tmp_path / "e.sqlite3")
    binary = tmp_path / "core"
    binary.write_bytes(bytes(range(256)) * 10)
    text = tmp_path / "notes.txt"
    text.write_text("just some notes\nnothing to see\n")
    code, _, err = run(
        "events",
        "ingest",
        "--events-db",
        db,
        str(binary),
        str(text),
        str(LOG),
        str(tmp_path / "missing.log"),
        str(DATA / "ses-events.jsonl"),
    )
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 3 and "Traceback" not in err
    assert "a binary file" in errors[0] and "not a delivery-record source" in errors[1]
    assert "No such file" in errors[2]
    with EventStore(Path(db)) as store:
        assert store.count() == 8 + 5


def test_stdin(tmp_path: Path) -> None:
    db = str(tmp_path / "e.sqlite3")
    code, out, err = run("events", "ingest", "--events-db", db, "-", stdin=LOG.read_bytes())
    assert code == 0 and "8 records (8 new)" in out and "the ingest time" in err


def test_store_faults_are_exit_4(tmp_path: Path) -> None:
    code, _, err = run("events", "show", "--events-db", str(tmp_path / "none.sqlite3"), "a@b.jp")
    assert code == 4 and "No events store" in err
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not sqlite at all" * 100)
    code, _, err = run("events", "ingest", "--events-db", str(garbage), str(LOG))
    assert code == 4 and "not an SQLite database" in err
    code, _, err = run("events", "ingest", "--events-db", str(tmp_path), str(LOG))
    assert code == 2 and "is a directory" in err  # a usage error, caught by the option
    assert run("events", "show", "a@b.jp", "--events-db", str(garbage))[0] == 4
    code, _, err = run("events", "ingest", "--events-db", "/proc/x.sqlite3", str(LOG))
    assert code == 4 and "Cannot open the events store /proc/x.sqlite3" in err
    code, _, err = run("events", "show", "--events-db", str(garbage), "no-at-sign")
    assert code == 2 and "not an address" in err


@pytest.mark.slow
def test_follow_survives_rotation(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    db = tmp_path / "e.sqlite3"
    lines = LOG.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:3]))  # already there when following starts: not read
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "maildoctor",
            "events",
            "ingest",
            "--events-db",
            str(db),
            "--log-zone",
            "UTC",
            "--follow",
            str(log),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stderr is not None
        # The follower says so once its starting position is fixed (a loaded machine may
        # take seconds to start Python): only then is the appended half its to read.
        assert "following" in proc.stderr.readline().decode()
        with log.open("a") as f:  # the first half of the day's mail
            f.write("".join(lines[3:22]))
        time.sleep(1.5)
        log.rename(tmp_path / "mail.log.1")  # logrotate: a new file under the name
        log.write_text("".join(lines[22:]))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with EventStore(db) as store:
                if store.count() >= 8:
                    break
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    with EventStore(db) as store:
        statuses = sorted(
            e.status
            for a in ("accept@docomo.ne.jp", "defer@softbank.ne.jp", "reject@ezweb.ne.jp")
            for e in store.timeline(a)
        )
    # Joins by queue id carried across the rotation: the expiry needs both halves.
    assert statuses == ["bounced", "deferred", "deferred", "deferred", "expired", "sent"]
    assert b"records" in out
