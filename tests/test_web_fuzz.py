"""Every route of the web app, from its own route table, with nasty paths, queries,
bodies, content types and charsets: never a 500, and an API's error is JSON.

A bug that still reaches the error middleware is a JSON 500 with an id and one log
line (tested last); the fuzzing asserts there is none of those either.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from maildoctor.harness.server import HarnessThread
from maildoctor.web.access import hash_password
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig

#: What a path parameter ({id}, {name}, a static file) is replaced with.
SEGMENTS = [
    "1",
    "%00",
    "a%00b",
    "..%2F..%2Fetc%2Fpasswd",
    "%FF%FE",
    "-1",
    "99999999999999999999999999",
    "%E3%81%82%E3%81%84",
    "%20",
    "x" * 3000,
    "%0d%0aSet-Cookie:%20a=b",
    "1e400",
]
QUERIES = [
    "?q=%00",
    "?q=%FF&limit=-5&offset=x",
    "?limit=1e999&offset=99999999999999999999999",
    "?next=%0d%0a//evil&variant=%00",
    "?address=%E3%81%82%40%00&lang=xx",
    "?q=" + "%E3%81%82" * 2000,
    "?agent=%FF&type=%00&verdict=&from=x&to=2026-13-45",
]
FORM = "application/x-www-form-urlencoded"
#: (Content-Type, body)
BODIES: list[tuple[str | None, bytes]] = [
    (None, b""),
    ("application/json", b"{"),
    ("application/json", b"[]"),
    ("application/json", b'{"address": "\\ud800"}'),
    ("application/json", b'{"address": 1, "addresses": {"a": []}, "lang": []}'),
    ("application/json", b'{"address": null, "text": null, "limit": "x"}'),
    ("application/json", b"\xff\xfe{\x00"),
    ("application/json", b"[" * 5000 + b"]" * 5000),
    ("application/json; charset=utf-16", '{"address": "a@b.jp"}'.encode("utf-16")),
    ("application/json; charset=bogus", b'{"address": "a@b.jp"}'),
    (FORM, b"password=%FF%FE&next=%00"),
    (FORM, b"%%%&&=="),
    (f"{FORM}; charset=utf-16", "password=x&next=/desk".encode("utf-16")),
    (f"{FORM}; charset=no-such-charset", b"password=x"),
    ("multipart/form-data; boundary=x", b"--x\r\nbroken"),
    ("multipart/form-data", b"--x\r\n\r\n--x--\r\n"),
    (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="password"\r\n'
        b"Content-Type: text/plain; charset=utf-16\r\n\r\n\xff\xfex\r\n--x--\r\n",
    ),
    (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="t.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n\xff\xfe\x00=cmd|a\r\n--x--\r\n",
    ),
    ("text/plain; charset=utf-16", "taro@docomo.ne.jp".encode("utf-16")),
    ("text/csv; charset=shift_jis", "メールアドレス\n\x81".encode("utf-8", "surrogateescape")),
    ("application/octet-stream", bytes(range(256))),
]


PASSWORD = "fuzz-desk-password"
#: Requests carry the desk's login as a script would (the login form itself needs none).
BEARER = {"Authorization": f"Bearer {PASSWORD}"}


@pytest.fixture(scope="module", params=["loopback", "login"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HarnessThread]:
    """The app on loopback without login, and with --allow-remote --desk-password."""
    with serve(tmp_path_factory.mktemp("fuzz"), login=request.param == "login") as h:
        yield h


@pytest.fixture(scope="module")
def login_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HarnessThread]:
    with serve(tmp_path_factory.mktemp("login"), login=True) as h:
        yield h


@contextmanager
def serve(tmp: Path, *, login: bool) -> Iterator[HarnessThread]:
    config = WebConfig(
        nameservers=None,
        check_nameservers=None,
        check_rate=0,
        allow_remote=login,
        password_hash=hash_password(PASSWORD) if login else None,
    )
    with run_in_thread(tmp / "h.sqlite3", web_config=config) as h:
        yield h


def routes(h: HarnessThread) -> list[tuple[str, str]]:
    """(method, path template) of every route the running app serves."""
    app = h.harness._http.runner.app  # the app as served, with every module's routes
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        template = info.get("formatter") or info.get("path")
        if template is None and "prefix" in info:  # a static folder
            template = info["prefix"] + "/{filename}"
        if template:
            found.append((route.method, template))
    return sorted(set(found))


def paths(template: str) -> list[str]:
    if "{" not in template:
        return [template]
    return [re.sub(r"\{[^}]+\}", segment, template) for segment in SEGMENTS]


def request(
    h: HarnessThread, method: str, path: str, body: bytes = b"", ctype: str | None = None
) -> tuple[int, str, bytes]:
    assert h.http_url is not None
    host, port = h.http_url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        headers = {"Host": f"127.0.0.1:{port}", **BEARER}
        if ctype is not None:
            headers["Content-Type"] = ctype
        if method not in ("GET", "HEAD", "OPTIONS") or body:
            headers["Content-Length"] = str(len(body))
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        kind = response.getheader("Content-Type", "")
        if kind.startswith("text/event-stream") and response.status == 200:
            return response.status, kind, b""  # a stream (/api/events, /api/preview/events)
        return response.status, kind, response.read()
    finally:
        conn.close()


def assert_answered(method: str, path: str, status: int, kind: str, data: bytes) -> None:
    where = f"{method} {path[:120]}"
    assert status < 500 or status == 503, f"{where}: {status} {data[:300]!r}"
    if status >= 400 and path.startswith("/api/") and method != "HEAD":
        assert kind.startswith("application/json"), f"{where}: {status} {kind}"
        assert "error" in json.loads(data), where


@pytest.mark.slow
def test_no_route_answers_500_to_nasty_input(served: HarnessThread) -> None:
    table = routes(served)
    assert ("POST", "/login") in table and ("GET", "/api/templates/{name}") in table
    sent = 0
    for method, template in table:
        for i, path in enumerate(paths(template)):
            variants: list[tuple[str, bytes, str | None]] = [(path, b"", None)]
            if i == 0:
                variants += [(path + q, b"", None) for q in QUERIES]
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                variants += [(path, body, ctype) for ctype, body in BODIES]
            for target, body, ctype in variants:
                status, kind, data = request(served, method, target, body, ctype)
                assert_answered(method, target, status, kind, data)
                sent += 1
    assert sent > 500


@pytest.mark.parametrize(
    ("method", "path", "ctype", "body"),
    [
        ("GET", "/api/templates/%00", None, b""),
        ("GET", "/api/templates/a%00b/html", None, b""),
        ("GET", "/api/preview/%00", None, b""),
        ("POST", "/login", "multipart/form-data; boundary=x", b"--x\r\nbroken"),
        ("POST", "/login", "multipart/form-data", b"--x\r\n"),
        ("POST", "/login", f"{FORM}; charset=utf-16", "password=x".encode("utf-16")),
        ("POST", "/login", f"{FORM}; charset=no-such", b"password=x"),
    ],
)
def test_the_known_500s_are_4xx(
    login_app: HarnessThread, method: str, path: str, ctype: str | None, body: bytes
) -> None:
    status, kind, data = request(login_app, method, path, body, ctype)
    assert 400 <= status < 500, (status, data)
    if kind.startswith("text/html"):  # read as a form: the login page says "wrong password"
        assert status == 401 and "Wrong password" in data.decode()
    else:
        assert kind.startswith("application/json") and json.loads(data)["error"]


def test_a_bug_is_a_json_500_with_an_id_and_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with run_in_thread(tmp_path / "h.sqlite3") as h:
        store = h.store

        def broken(*args: object, **kwargs: object) -> object:
            raise RuntimeError("secret internals")

        store.recent = broken  # type: ignore[method-assign]
        store.search = broken  # type: ignore[method-assign]
        with caplog.at_level("ERROR", logger="maildoctor.web.errors"):
            status, _, data = request(h, "GET", "/api/messages")
    assert status == 500
    body = json.loads(data)
    assert re.fullmatch(r"[0-9a-f]{8}", body["error_id"])
    assert "secret internals" not in body["error"]
    lines = [r for r in caplog.records if body["error_id"] in r.getMessage()]
    assert len(lines) == 1
    assert "RuntimeError: secret internals" in lines[0].getMessage()
    assert lines[0].exc_info is None  # one line, no traceback
