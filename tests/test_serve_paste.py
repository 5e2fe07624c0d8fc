"""One paste must not stop the server: a real ``maildoctor serve`` (web and SMTP in one
event loop) keeps answering SMTP while the largest allowed paste and the largest
allowed list are read and diagnosed."""

from __future__ import annotations

import json
import smtplib
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from maildoctor.diagnose.paste import MAX_PASTE
from tests.serveproc import ServeProcess


def post(url: str, body: bytes) -> int:
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        with e:
            return e.code


@pytest.mark.slow
def test_smtp_answers_within_a_second_while_pastes_are_read(tmp_path: Path) -> None:
    # The shapes that were quadratic for the old pattern, at the largest size allowed.
    pastes = [
        "a" * (MAX_PASTE - 40) + " 登録したアドレスはtaro@docomo.ne.jpです",
        "a@b" * ((MAX_PASTE - 40) // 3) + " taro@docomo.ne.jp",
        "山田" * ((MAX_PASTE - 40) // 2) + "taro@gmail、com",
    ]
    blob = "a." * (2 * 1024 * 1024)  # a 4 MB list with no address at all (the limit is 5 MB)
    with ServeProcess("--db", str(tmp_path / "h.sqlite3"), "--desk-dns", "off", http=True) as srv:
        statuses: list[int] = []

        def load() -> None:
            for text in pastes:
                body = json.dumps({"text": text}).encode()
                statuses.append(post(f"{srv.http_url}/api/diagnose", body))
            body = json.dumps({"text": blob}).encode()
            statuses.append(post(f"{srv.http_url}/api/addresses?mode=text", body))

        with smtplib.SMTP(*srv.smtp_address, timeout=10) as smtp:
            smtp.ehlo()
            worker = threading.Thread(target=load)
            started = time.monotonic()
            worker.start()
            slowest = 0.0
            rounds = 0
            while worker.is_alive() or rounds < 5:
                t0 = time.monotonic()
                code, _ = smtp.noop()
                slowest = max(slowest, time.monotonic() - t0)
                assert code == 250
                rounds += 1
                time.sleep(0.05)
            worker.join()
            busy = time.monotonic() - started
    assert statuses == [200, 200, 200, 200], statuses
    assert slowest < 1.0, f"NOOP took {slowest:.2f} s while the server read pastes for {busy:.1f} s"
