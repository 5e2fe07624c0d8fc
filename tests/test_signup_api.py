"""The sign-up check API over real HTTP, asking the real loopback DNS server."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from maildoctor.advice import advice_text
from maildoctor.cli import main
from maildoctor.harness.server import HarnessThread
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig
from maildoctor.web.signup import MAX_BODY_BYTES
from tests.dnsserver import DNSTestServer

Start = Callable[..., HarnessThread]


@pytest.fixture
def start(tmp_path: Path, dns_server: DNSTestServer) -> Iterator[Start]:
    """Start a harness whose check API asks the fixture DNS server, with these WebConfig fields."""
    with ExitStack() as stack:

        def run(**fields: Any) -> HarnessThread:
            fields.setdefault("check_nameservers", (dns_server.nameserver,))
            db = tmp_path / f"h{len(stack._exit_callbacks)}.sqlite3"
            return stack.enter_context(run_in_thread(db, web_config=WebConfig(**fields)))

        yield run


@pytest.fixture
def api(start: Start) -> HarnessThread:
    return start()


def call(
    h: HarnessThread,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    source: str = "127.0.0.1",
) -> tuple[int, dict[str, str], Any]:
    """One request over a real connection (from ``source``, any 127.x address)."""
    url = urllib.parse.urlsplit(h.http_url or "")
    conn = http.client.HTTPConnection(
        url.hostname or "", url.port, timeout=10, source_address=(source, 0)
    )
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
        kind = response.headers.get("Content-Type", "")
        data = json.loads(raw) if kind.startswith("application/json") else raw
        return response.status, dict(response.headers), data
    finally:
        conn.close()


def check(h: HarnessThread, address: str, lang: str = "ja", **kw: Any) -> dict[str, Any]:
    query = urllib.parse.urlencode({"address": address, "lang": lang})
    status, _, data = call(h, "GET", f"/api/check?{query}", **kw)
    assert status == 200, data
    return data  # type: ignore[no-any-return]


def post(h: HarnessThread, payload: Any, **kw: Any) -> tuple[int, dict[str, str], Any]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    return call(h, "POST", "/api/check", body, headers, **kw)


def test_fullwidth_input_gets_the_halfwidth_suggestion(api: HarnessThread) -> None:
    data = check(api, "ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ")
    assert data["suggestion"] == "taro@docomo.ne.jp"
    assert data["message"] == "もしかして taro@docomo.ne.jp ですか?"
    assert data["block"] is True
    assert data["verdict"] == "undeliverable"
    assert data["carrier"] == {"id": "docomo", "name": "NTTドコモ"}


def test_comma_for_a_dot_is_repaired(api: HarnessThread) -> None:
    data = check(api, "taro@docomo,ne.jp")
    assert data["message"] == "もしかして taro@docomo.ne.jp ですか?"
    assert data["block"] is True
    assert data["carrier_note"]["carrier"] == "docomo"


def test_a_repair_to_a_domain_that_takes_no_mail_is_not_offered(api: HarnessThread) -> None:
    """「もしかして taro@lentrnce.com」 would send the customer to a domain that does not exist."""
    data = check(api, "taro@lentrnce,com")
    assert data["suggestion"] == "taro@lentrnce.com"  # the check JSON still holds the repair
    assert not data["message"].startswith("もしかして")
    assert data["message"] == data["findings"][0]["message"]  # the syntax error instead
    assert data["block"] is True


def test_typo_of_a_domain_that_does_not_exist(api: HarnessThread) -> None:
    data = check(api, "taro@gmial.com", lang="en")
    assert data["message"] == "Did you mean taro@gmail.com?"
    assert [f["code"] for f in data["findings"]] == ["typo_suspected", "domain_not_found"]
    assert data["block"] is True
    assert data["carrier_note"] is None


def test_carrier_address_gets_the_faq_note_from_the_catalog(api: HarnessThread) -> None:
    data = check(api, "taro@docomo.ne.jp")
    assert data["block"] is False
    assert data["verdict"] == "risky"
    assert data["mx"] == ["mfsmax.docomo.ne.jp"]
    assert data["message"].startswith("NTTドコモのキャリアメールです。")
    note = data["carrier_note"]
    assert note["carrier"] == "docomo"
    assert note["advice"] == ["allow_sender_domain", "carrier_settings"]
    assert note["text"] == [advice_text(a, "ja")[1] for a in note["advice"]]
    assert "「@lentrance.com」ドメインからのメールを受信できるように" in note["text"][0]
    assert "本文にURLリンクが記載されているメール" in note["text"][1]
    assert any(step.startswith("受信リスト設定") for step in note["steps"])


def test_ok_address_says_nothing(api: HarnessThread) -> None:
    data = check(api, "taro@gmail.com")
    assert (data["verdict"], data["message"], data["block"]) == ("ok", "", False)


def test_dns_doubt_never_blocks_and_answers_within_the_deadline(start: Start) -> None:
    h = start(check_dns_timeout=0.3)
    started = time.monotonic()
    data = check(h, "taro@timeout.maildoctor.test")
    assert time.monotonic() - started < 1.0
    assert data["verdict"] == "unknown"
    assert data["block"] is False
    assert data["message"] == ""
    assert [f["code"] for f in data["findings"]] == ["dns_unavailable"]


def test_domains_are_cached_across_requests(api: HarnessThread, dns_server: DNSTestServer) -> None:
    check(api, "a@docomo.ne.jp")
    asked = dns_server.queries
    for local in ("b", "c", "d"):
        assert check(api, f"{local}@docomo.ne.jp")["mx"] == ["mfsmax.docomo.ne.jp"]
    assert dns_server.queries == asked


@pytest.mark.parametrize(
    "address",
    ["taro@gmial.com", "ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ", "taro..yamada@docomo.ne.jp",
     "info@lentrance.com", "taro@timeout.maildoctor.test", "taro@[192.0.2.1]"],
)  # fmt: skip
def test_the_check_fields_are_the_cli_json(
    api: HarnessThread, nameserver: str, address: str
) -> None:
    args = ["check", address, "--format", "json", "--nameserver", nameserver]
    cli = CliRunner().invoke(main, [*args, "--dns-timeout", "1.5"])
    expected = json.loads(cli.stdout)
    data = check(api, address)
    assert {k: data[k] for k in expected} == expected
    assert set(data) - set(expected) == {"lang", "message", "block", "carrier_note"}


def test_post_json(api: HarnessThread) -> None:
    status, headers, data = post(api, {"address": "taro@gmial.com", "lang": "en"})
    assert status == 200
    assert data["suggestion"] == "taro@gmail.com"
    assert headers["Cache-Control"] == "no-store"


LONG = "a" * 10_240 + "@example.com"


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "status", "error"),
    [
        ("GET", "/api/check", None, None, 400, "Give the address to check"),
        ("GET", "/api/check?address=", None, None, 400, "The address is empty"),
        ("GET", "/api/check?address=%20%20", None, None, 400, "The address is empty"),
        ("GET", f"/api/check?address={LONG}", None, None, 400, "10,252 characters long"),
        ("GET", "/api/check?address=taro%00@x.jp", None, None, 400, "control character (U+0000)"),
        ("GET", "/api/check?address=taro%0A@x.jp", None, None, 400, "control character (U+000A)"),
        ("GET", "/api/check?address=a@b.jp&lang=fr", None, None, 400, '"lang" is "ja" or "en"'),
        ("POST", "/api/check", b'{"address": "a@b.jp"}', "text/plain", 415, "Send JSON"),
        ("POST", "/api/check", b"address=a@b.jp", "application/x-www-form-urlencoded", 415,
         "Send JSON"),
        ("POST", "/api/check", b"{bad", "application/json", 400, "not valid JSON"),
        ("POST", "/api/check", b"", "application/json", 400, "not valid JSON"),
        ("POST", "/api/check", b"[" * 5000 + b"]" * 5000, "application/json", 400,
         "not valid JSON"),
        ("POST", "/api/check", b'["a@b.jp"]', "application/json", 400, "must be a JSON object"),
        ("POST", "/api/check", b"{}", "application/json", 400, "Give the address to check"),
        ("POST", "/api/check", b'{"address": 42}', "application/json", 400, "must be a string"),
        ("POST", "/api/check", b'{"address": "\\ud800@x.jp"}', "application/json", 400,
         "control character (U+D800)"),
        ("POST", "/api/check", b'{"address": "a\\u0007@x.jp"}', "application/json", 400,
         "control character (U+0007)"),
        ("POST", "/api/check", b"\xff\xfe{}", "application/json", 400, "not UTF-8"),
        ("POST", "/api/check", json.dumps({"address": LONG}).encode(), "application/json", 400,
         "characters long"),
        ("POST", "/api/check", b" " * (MAX_BODY_BYTES + 1), "application/json", 413,
         "larger than 16,384 bytes"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)  # fmt: skip
def test_bad_input_is_a_clear_json_error(
    api: HarnessThread,
    method: str,
    path: str,
    body: bytes | None,
    content_type: str | None,
    status: int,
    error: str,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    got, response_headers, data = call(api, method, path, body, headers)
    assert got == status, data
    assert response_headers["Content-Type"].startswith("application/json")
    assert error in data["error"]
    assert data["error"].endswith(".")


def test_a_body_that_arrives_in_pieces_is_read_whole(api: HarnessThread) -> None:
    """A POST whose body comes in two TCP writes (a slow phone line) is not cut short."""
    import socket

    body = json.dumps({"address": "taro@docomo.ne.jp", "pad": " " * 8000}).encode()
    url = urllib.parse.urlsplit(api.http_url or "")
    with socket.create_connection((url.hostname or "", url.port or 0), timeout=10) as sock:
        sock.sendall(
            b"POST /api/check HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:100]
        )
        time.sleep(0.3)
        sock.sendall(body[100:])
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, payload = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), reply[:300]
    assert json.loads(payload)["carrier"]["id"] == "docomo"


def test_cors_is_off_by_default(api: HarnessThread) -> None:
    status, headers, data = call(
        api, "GET", "/api/check?address=a@b.jp", headers={"Origin": "https://lentrance.com"}
    )
    assert status == 403
    assert "--cors-origin https://lentrance.com" in data["error"]
    assert "Access-Control-Allow-Origin" not in headers
    # The same origin (the demo page) is not cross-origin.
    status, headers, _ = call(
        api, "GET", "/api/check?address=a@b.jp", headers={"Origin": api.http_url or ""}
    )
    assert status == 200
    assert "Access-Control-Allow-Origin" not in headers


def test_cors_allows_exactly_the_configured_origins(start: Start) -> None:
    h = start(cors_origins=("https://lentrance.com", "http://127.0.0.1:9"))
    allowed = {"Origin": "https://lentrance.com"}
    status, headers, data = post(h, {"address": "taro@docomo.ne.jp"}, headers=allowed)
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "https://lentrance.com"
    assert headers["Vary"] == "Origin"

    preflight = {**allowed, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}  # fmt: skip
    status, headers, _ = call(h, "OPTIONS", "/api/check", headers=preflight)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "https://lentrance.com"
    assert headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert headers["Access-Control-Allow-Headers"] == "Content-Type"

    for origin in ("https://evil.example", "https://lentrance.com.evil.example",
                   "http://lentrance.com", "null"):  # fmt: skip
        refused = {"Origin": origin, "Access-Control-Request-Method": "POST"}
        status, headers, data = call(h, "OPTIONS", "/api/check", headers=refused)
        assert status == 403, origin
        assert "may not call this API" in data["error"]
        assert "Access-Control-Allow-Origin" not in headers
        status, headers, _ = post(h, {"address": "a@b.jp"}, headers={"Origin": origin})
        assert status == 403
        assert "Access-Control-Allow-Origin" not in headers


def test_rate_limit_per_client_with_retry_after(start: Start) -> None:
    h = start(check_rate=3, check_nameservers=None)
    for _ in range(3):
        assert call(h, "GET", "/api/check?address=a@b.jp")[0] == 200
    status, headers, data = call(h, "GET", "/api/check?address=a@b.jp")
    assert status == 429
    assert 1 <= int(headers["Retry-After"]) <= 20
    assert f"try again in {headers['Retry-After']} seconds" in data["error"]
    # Bad input counts too; another client address has its own bucket.
    assert call(h, "GET", "/api/check")[0] == 429
    assert call(h, "GET", "/api/check?address=a@b.jp", source="127.0.0.2")[0] == 200


def test_script_and_demo(api: HarnessThread) -> None:
    status, headers, body = call(api, "GET", "/static/signup-check.js")
    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")
    # The script's own handler answers, not the /static/ folder registered before it.
    assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert headers["Cache-Control"] == "public, max-age=600"
    assert len(body) < 10 * 1024
    assert b"aria-live" in body
    status, headers, body = call(api, "GET", "/signup-demo")
    assert status == 200
    assert "form-action 'self'" in headers["Content-Security-Policy"]
    assert 'data-input="#email"' in body.decode()
    assert "会員登録用メールを送信" in body.decode()
