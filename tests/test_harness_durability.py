"""A 250 means durable: kill -9 `maildoctor serve` under load, restart: every acked mail is kept."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.ports import free_port


def serve(db: Path, smtp_port: int, *extra: str) -> subprocess.Popen[bytes]:
    log = db.with_suffix(f".{smtp_port}.log")
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "maildoctor",
                "serve",
                "--db",
                str(db),
                "--smtp",
                f"127.0.0.1:{smtp_port}",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", smtp_port), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(log.read_text()) from None
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("maildoctor serve did not start listening")


def sender(port: int, worker: int, acked: list[str], stop: threading.Event) -> None:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.ehlo()
            n = 0
            while not stop.is_set():
                n += 1
                mid = f"<w{worker}-{n}@lentrance.com>"
                msg = EmailMessage()
                msg["From"] = "no-reply@lentrance.com"
                msg["To"] = "taro@docomo.ne.jp"
                msg["Subject"] = f"durability {worker}-{n}"
                msg["Message-ID"] = mid
                msg.set_content("x" * 3000)
                smtp.send_message(msg)
                acked.append(mid)  # only after the server answered 250
    except (smtplib.SMTPException, OSError):
        pass  # the server was killed mid-conversation


@pytest.mark.slow
@pytest.mark.parametrize("web", [False, True], ids=["smtp-only", "web-ui-on"])
def test_kill_9_loses_no_acknowledged_message(tmp_path: Path, web: bool) -> None:
    """With the web UI on (serve's default), the delivery-records thread runs beside the
    writer: the kill must not lose an acknowledged message nor leave the events store
    damaged, and the records it had no time to write are ingested from the store later."""
    db = tmp_path / "harness.sqlite3"
    events = tmp_path / "events.sqlite3"
    port = free_port()
    ui = ["--http", f"127.0.0.1:{free_port()}", "--events-db", str(events)]
    proc = serve(db, port, *(ui if web else ["--no-http"]))
    acked: list[str] = []
    stop = threading.Event()
    threads = [threading.Thread(target=sender, args=(port, w, acked, stop)) for w in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # while the senders are still sending
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) >= 150

    http_port = free_port()
    proc = serve(db, free_port(), "--http", f"127.0.0.1:{http_port}")
    try:
        listing = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{http_port}/api/messages?limit=5000"
                ) as r:
                    listing = json.load(r)
                break
            except OSError:
                time.sleep(0.05)
        assert listing is not None
        stored = {m["message_id"] for m in listing}
        missing = [mid for mid in acked if mid not in stored]
        assert missing == [], f"{len(missing)} of {len(acked)} acknowledged messages lost"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if web:
        with sqlite3.connect(events) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ingest = [sys.executable, "-m", "maildoctor", "events", "ingest", str(db)]
        done = subprocess.run(
            [*ingest, "--events-db", str(events), "--events-days", "0"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        with sqlite3.connect(events) as conn:
            recorded = {row[0] for row in conn.execute("SELECT message_id FROM events")}
        unrecorded = [
            mid for mid in acked if mid.strip("<>") not in recorded and mid not in recorded
        ]
        assert unrecorded == [], f"{len(unrecorded)} acknowledged messages without a record"
