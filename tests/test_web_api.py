"""The JSON API over real HTTP, with mail delivered over real SMTP."""

from __future__ import annotations

import base64
import json
import shutil
import smtplib
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.header import Header
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from maildoctor.harness.policy import Profile
from maildoctor.harness.server import HarnessThread
from maildoctor.mail.render import render_message
from maildoctor.web.app import run_in_thread


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[HarnessThread]:
    with run_in_thread(tmp_path / "h.sqlite3") as h:
        yield h


def get(h: HarnessThread, path: str) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(f"{h.http_url}{path}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, dict(e.headers), e.read()


def get_json(h: HarnessThread, path: str) -> Any:
    status, _, body = get(h, path)
    assert status == 200, body
    return json.loads(body)


def send_raw(h: HarnessThread, raw: bytes, to: str = "taro@docomo.ne.jp") -> None:
    with smtplib.SMTP(*h.smtp_address, timeout=10) as smtp:
        smtp.sendmail("no-reply@lentrance.com", [to], raw)


def send(h: HarnessThread, msg: EmailMessage) -> None:
    send_raw(h, msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")), str(msg["To"]))


def test_provisional_registration_refused_url_mail_shows_the_rule(harness: HarnessThread) -> None:
    """The issue's "done when": a profile refusing URL mail, the API shows the outcome and rule."""
    harness.set_profile("taro@docomo.ne.jp", Profile.for_carrier("docomo", refuse_url=True))
    harness.set_profile("jiro@softbank.ne.jp", Profile.for_carrier("softbank", refuse_url=True))
    for to in ("taro@docomo.ne.jp", "jiro@softbank.ne.jp"):
        send(harness, render_message("provisional_registration", to=to))
    listing = get_json(harness, "/api/messages")
    assert [m["rcpt_tos"] for m in listing] == [["jiro@softbank.ne.jp"], ["taro@docomo.ne.jp"]]
    softbank, docomo = listing
    assert softbank["decisions"][0]["outcome"] == "filtered"
    assert softbank["decisions"][0]["rule"] == "refuse_url"
    assert docomo["decisions"][0]["outcome"] == "junk"  # docomo files filtered mail since 2025
    detail = get_json(harness, f"/api/messages/{docomo['id']}")
    assert detail["subject"] == "[Lentrance]仮登録完了のお知らせ"
    assert detail["decisions"][0]["rule_name"] == "特定URL付メール拒否設定"
    assert ["Subject", "[Lentrance]仮登録完了のお知らせ"] in detail["headers"]
    assert [p["content_type"] for p in detail["parts"]] == ["text/plain", "text/html"]
    assert "https://lentrance.com/" in detail["text"]
    assert detail["html"] is True
    assert isinstance(detail["lint"], list)
    assert detail["transcript"][0].startswith("S: 220")


def test_raw_is_the_received_bytes(harness: HarnessThread) -> None:
    raw = b"From: a@lentrance.com\r\nSubject: raw\r\n\r\nbody\r\n"
    send_raw(harness, raw)
    [m] = get_json(harness, "/api/messages")
    status, headers, body = get(harness, f"/api/messages/{m['id']}/raw")
    assert (status, body) == (200, raw)
    assert headers["Content-Type"] == "text/plain; charset=utf-8"


def _sjis_message() -> bytes:
    subject = base64.b64encode("日本語の件名".encode("shift_jis")).decode()
    return (
        b"From: a@lentrance.com\r\nTo: taro@docomo.ne.jp\r\n"
        + f"Subject: =?Shift_JIS?B?{subject}?=\r\n".encode()
        + b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=Shift_JIS\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + "①番目の本文です。".encode("cp932") + b"\r\n"
    )


def _jis_message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "a@lentrance.com"
    msg["To"] = "taro@docomo.ne.jp"
    msg["Subject"] = Header("日本語の件名", "iso-2022-jp").encode()
    msg.set_content("一番目の本文です。", charset="iso-2022-jp")
    return msg


def _utf8_message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "a@lentrance.com"
    msg["To"] = "taro@docomo.ne.jp"
    msg["Subject"] = "日本語の件名"
    msg.set_content("①番目の本文です。", cte="8bit")
    return msg


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (
            _utf8_message().as_bytes(policy=_utf8_message().policy.clone(linesep="\r\n")),
            "①番目の本文です。",
        ),
        (
            _jis_message().as_bytes(policy=_jis_message().policy.clone(linesep="\r\n")),
            "一番目の本文です。",
        ),
        (_sjis_message(), "①番目の本文です。"),  # NEC special: Shift_JIS mail is really cp932
    ],
    ids=["utf-8", "iso-2022-jp", "shift_jis"],
)
def test_japanese_in_any_charset(harness: HarnessThread, raw: bytes, text: str) -> None:
    send_raw(harness, raw)
    [m] = get_json(harness, "/api/messages")
    assert m["subject"] == "日本語の件名"
    detail = get_json(harness, f"/api/messages/{m['id']}")
    assert detail["subject"] == "日本語の件名"
    assert detail["text"].strip() == text


def test_html_is_served_under_a_sandbox_csp(harness: HarnessThread) -> None:
    msg = _utf8_message()
    msg.add_alternative("<p>hi</p><script>alert(1)</script>", subtype="html")
    send(harness, msg)
    [m] = get_json(harness, "/api/messages")
    status, headers, body = get(harness, f"/api/messages/{m['id']}/html")
    assert status == 200
    csp = headers["Content-Security-Policy"]
    assert csp.startswith("sandbox; default-src 'none';")
    assert "script-src" not in csp  # falls back to default-src 'none'
    assert body == b"<p>hi</p><script>alert(1)</script>\r\n"
    _, page_headers, page = get(harness, "/")
    assert "script-src 'self'" in page_headers["Content-Security-Policy"]
    assert b'<iframe id="html-frame" sandbox=""' in page


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/api/messages/999", 404, "There is no message 999 (it may have been deleted or pruned)."),
        ("/api/messages/abc", 400, "Message ids are numbers, not 'abc'."),
        ("/api/messages?limit=x", 400, "limit and offset must be whole numbers."),
        (
            "/api/messages/99999999999999999999",
            400,
            "Message ids are numbers, not '99999999999999999999'.",
        ),
        (
            "/api/messages?offset=99999999999999999999",
            400,
            "offset must be at most 9223372036854775807.",
        ),
    ],
    ids=["missing", "bad-id", "bad-limit", "id-beyond-sqlite", "offset-beyond-sqlite"],
)
def test_errors_are_json(harness: HarnessThread, path: str, status: int, error: str) -> None:
    got, headers, body = get(harness, path)
    assert got == status
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"error": error}


def test_delete_all(harness: HarnessThread) -> None:
    send(harness, _utf8_message())
    send(harness, _utf8_message())
    req = urllib.request.Request(f"{harness.http_url}/api/messages", method="DELETE")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert json.load(r) == {"deleted": 2}
    assert get_json(harness, "/api/messages") == []


def test_events_announce_new_mail(harness: HarnessThread) -> None:
    host, port = harness.http_url.removeprefix("http://").split(":")  # type: ignore[union-attr]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        buf = b""
        while b": connected" not in buf:
            buf += sock.recv(4096)
        send(harness, _utf8_message())
        while b"data: " not in buf:
            buf += sock.recv(4096)
    assert b'"kind": "added"' in buf


def test_templates_gallery_api(harness: HarnessThread) -> None:
    templates = get_json(harness, "/api/templates")
    names = [t["name"] for t in templates]
    assert "provisional_registration" in names
    rendered = get_json(harness, "/api/templates/password_reset")
    assert rendered["subject"] == "[Lentrance]パスワード再設定のお知らせ"
    status, headers, body = get(harness, "/api/templates/password_reset/html")
    assert status == 200 and headers["Content-Security-Policy"].startswith("sandbox;")
    assert "パスワード".encode() in body
    status, _, body = get(harness, "/api/templates/nosuch")
    assert status == 404


def get_with_host(h: HarnessThread, path: str, host: str) -> tuple[int, bytes]:
    req = urllib.request.Request(f"{h.http_url}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read()


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:8025", 200),
        ("localhost:8025", 200),
        ("LOCALHOST", 200),
        ("[::1]:8025", 200),
        ("192.168.1.5:8025", 200),
        ("attacker.example:8025", 403),
        ("attacker.example", 403),
        ("127.0.0.1.nip.io", 403),
    ],
    ids=["ip", "localhost", "upper", "ipv6", "lan-ip", "rebound-name", "no-port", "ip-like-name"],
)
def test_a_rebound_dns_name_cannot_read_the_api(
    harness: HarnessThread, host: str, status: int
) -> None:
    code, body = get_with_host(harness, "/api/messages", host)
    assert code == status
    if status == 403:
        assert b"is not this harness" in body


def test_raw_is_never_a_page_and_limit_is_at_least_one(harness: HarnessThread) -> None:
    send(harness, _utf8_message())
    send(harness, _utf8_message())
    [latest] = get_json(harness, "/api/messages?limit=0")
    status, headers, _ = get(harness, f"/api/messages/{latest['id']}/raw")
    assert status == 200
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"].startswith("sandbox")
    assert len(get_json(harness, "/api/messages?limit=-1")) == 1


def test_a_broken_template_is_422_not_404(tmp_path: Path) -> None:
    templates = Path(
        shutil.copytree(Path(__file__).resolve().parent.parent / "templates", tmp_path / "t")
    )
    site = templates / "_site.toml"
    site.write_text(site.read_text("utf-8").replace("support_url", "help_url"), "utf-8")
    with run_in_thread(tmp_path / "h.sqlite3", templates_dir=templates) as h:
        status, _, body = get(h, "/api/templates/password_reset")
        assert status == 422
        assert "support_url" in json.loads(body)["error"]
        status, _, body = get(h, "/api/templates/password_reset/html")
        assert status == 422
        assert get(h, "/api/templates/nosuch")[0] == 404
        # The gallery's list names the broken template the same way, not a 500.
        (templates / "password_reset" / "template.toml").write_text("subject = [", "utf-8")
        status, _, body = get(h, "/api/templates")
        assert status == 422, body
        assert "password_reset" in json.loads(body)["error"]
        shutil.rmtree(templates)
        status, _, body = get(h, "/api/templates")
        assert status == 503, body
        assert "could not be read" in json.loads(body)["error"]


def test_an_unreadable_store_is_503_not_500(tmp_path: Path) -> None:
    """The database file gone under the server: every read says so in one JSON line."""
    with run_in_thread(tmp_path / "h.sqlite3") as h:
        send(h, _utf8_message())
        for leftover in tmp_path.glob("h.sqlite3*"):
            leftover.unlink()
        for path in ("/api/messages", "/api/messages/1", "/api/messages/1/raw"):
            status, headers, body = get(h, path)
            assert status == 503, path
            assert headers["Content-Type"].startswith("application/json")
            assert "The message store cannot be read" in json.loads(body)["error"]


def test_an_events_client_that_stops_reading_holds_bounded_memory() -> None:
    import asyncio

    from maildoctor.web.messages import MAX_PENDING_EVENTS, offer

    async def run() -> tuple[int, int]:
        stalled: asyncio.Queue[str | None] = asyncio.Queue()
        reading: asyncio.Queue[str | None] = asyncio.Queue()
        read = 0
        for n in range(10 * MAX_PENDING_EVENTS):
            offer({stalled, reading}, f'{{"kind": "added", "ids": [{n}]}}')
            reading.get_nowait()
            read += 1
        return stalled.qsize(), read

    stalled, read = asyncio.run(run())
    assert stalled == MAX_PENDING_EVENTS
    assert read == 10 * MAX_PENDING_EVENTS  # a client that keeps up misses nothing


def test_the_harness_says_where_it_takes_mail_and_how_to_send_it_one(
    harness: HarnessThread, tmp_path: Path
) -> None:
    """``GET /api/harness``: the page's empty state gives this harness's own address and
    a ``maildoctor send`` line that works as given (the login's password left to fill)."""
    from types import SimpleNamespace

    from maildoctor.harness.server import HarnessConfig
    from maildoctor.web.messages import send_command

    status, _, body = get(harness, "/api/harness")
    host, port = harness.smtp_address
    assert status == 200
    assert json.loads(body) == {
        "smtp": f"{host}:{port}",
        "send_command": "maildoctor send provisional_registration --to taro@docomo.ne.jp "
        f"--smtp {host}:{port}",
        "send_command_error": None,
    }
    folder = tmp_path / "my templates"
    shutil.copytree(Path(__file__).parents[1] / "templates" / "password_reset", folder / "pw")
    config = HarnessConfig(
        db=tmp_path / "x.sqlite3",
        templates_dir=folder,
        tls=True,
        users={"ci": "s3cret"},
    )
    login = SimpleNamespace(config=config, smtp_address=("0.0.0.0", 1025))
    assert send_command(login) == (  # type: ignore[arg-type]
        f"maildoctor send pw --to taro@docomo.ne.jp --templates '{folder}' "
        "--starttls --user ci --password PASSWORD"
    )
    # Bound on every interface: the host the reader's browser reached, not loopback.
    assert "--smtp desk.example:1025 " in send_command(login, "desk.example")  # type: ignore[arg-type]
