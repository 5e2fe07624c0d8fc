"""What no SMTP client can do to ``serve``: hold every session, fill memory with DATA,
stay connected doing nothing, guess passwords at full speed. Real TCP on loopback."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from maildoctor.harness.server import HarnessThread, run_in_thread
from maildoctor.harness.smtp import Limits


@contextmanager
def harness(tmp_path: Path, **limits: object) -> Iterator[HarnessThread]:
    config: dict[str, object] = {}
    if "users" in limits:
        config = {"users": limits.pop("users"), "auth_allow_insecure": True}
    with run_in_thread(
        tmp_path / "h.sqlite3",
        http_port=None,
        limits=Limits(**limits),
        **config,  # type: ignore[arg-type]
    ) as h:
        yield h


class Client:
    """A line-by-line SMTP client over a raw socket (smtplib hides what is refused)."""

    def __init__(self, address: tuple[str, int], timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.buffer = b""
        self.greeting = self.reply()

    def reply(self) -> str:
        """One whole reply (all its lines), or '' when the server closed."""
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return "\n".join(lines)
                self.buffer += chunk
            line, _, self.buffer = self.buffer.partition(b"\r\n")
            text = line.decode()
            lines.append(text)
            if text[3:4] != "-":
                return "\n".join(lines)

    def send(self, line: str | bytes) -> str:
        self.sock.sendall(line if isinstance(line, bytes) else line.encode() + b"\r\n")
        return self.reply()

    def closed(self, within: float) -> bool:
        """Whether the server closes the connection within ``within`` seconds."""
        self.sock.settimeout(within)
        try:
            while self.sock.recv(65536):
                pass
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
        return True

    def close(self) -> None:
        self.sock.close()


def envelope(c: Client) -> None:
    assert c.send("EHLO test").startswith("250")
    assert c.send("MAIL FROM:<a@lentrance.com>").startswith("250")
    assert c.send("RCPT TO:<taro@docomo.ne.jp>").startswith("250")
    assert c.send("DATA").startswith("354")


def test_sessions_beyond_the_per_client_limit_get_421_and_the_limit_frees(
    tmp_path: Path,
) -> None:
    with harness(tmp_path, max_sessions_per_client=3) as h, ExitStack() as stack:
        held = [Client(h.smtp_address) for _ in range(3)]
        for c in held:
            stack.callback(c.close)
        assert all(c.greeting.startswith("220 ") for c in held)
        extra = Client(h.smtp_address)
        stack.callback(extra.close)
        assert extra.greeting.startswith("421 4.7.0 ")
        assert "from 127.0.0.1" in extra.greeting
        assert extra.closed(within=2)
        assert held[0].send("NOOP").startswith("250")  # the sessions held still work
        held[0].send("QUIT")
        held[0].close()
        deadline = time.monotonic() + 5
        while True:  # the server counts the session gone once it has seen the close
            again = Client(h.smtp_address)
            stack.callback(again.close)
            if again.greeting.startswith("220 ") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert again.greeting.startswith("220 ")


def test_sessions_beyond_the_total_get_421(tmp_path: Path) -> None:
    with harness(tmp_path, max_sessions=2, max_sessions_per_client=0) as h, ExitStack() as stack:
        held = [Client(h.smtp_address) for _ in range(2)]
        for c in held:
            stack.callback(c.close)
        extra = Client(h.smtp_address)
        stack.callback(extra.close)
        assert extra.greeting.startswith("421 4.7.0 ")
        assert "2 sessions open" in extra.greeting
        assert h.harness.guards.gate.refused == 1


def test_data_beyond_the_memory_budget_gets_452_and_the_budget_comes_back(
    tmp_path: Path,
) -> None:
    line = b"x" * 998 + b"\r\n"
    with harness(tmp_path, data_memory=100_000) as h:
        first, second = Client(h.smtp_address), Client(h.smtp_address)
        try:
            envelope(first)
            first.sock.sendall(b"Subject: first\r\n\r\n" + line * 80)  # 80 KB held, not ended
            envelope(second)
            reply = second.send(b"Subject: second\r\n\r\n" + line * 40 + b".\r\n")
            assert reply.startswith("452 4.3.1 "), reply
            assert first.send(b".\r\n").startswith("250 ")  # the one in progress is kept
            assert second.send("RSET").startswith("250")
            envelope(second)
            assert second.send(b"Subject: again\r\n\r\n" + line * 40 + b".\r\n").startswith("250")
        finally:
            first.close()
            second.close()
        assert h.harness.guards.memory.used == 0
        assert sorted(m.subject for m in h.messages()) == ["again", "first"]


def test_idle_and_slow_data_sessions_are_closed(tmp_path: Path) -> None:
    with harness(tmp_path, timeout=0.5, data_timeout=1.0) as h:
        idle = Client(h.smtp_address)
        started = time.monotonic()
        assert idle.closed(within=3)
        assert time.monotonic() - started < 2
        idle.close()
        slow = Client(h.smtp_address)
        envelope(slow)
        started = time.monotonic()
        for _ in range(30):  # a line every 0.1 s: each resets no timer
            try:
                slow.sock.sendall(b"drip\r\n")
            except OSError:
                break
            time.sleep(0.1)
        assert slow.closed(within=2)
        assert time.monotonic() - started < 3.5
        slow.close()
        assert h.messages() == []


def plain(user: str, password: str) -> str:
    return "AUTH PLAIN " + base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def test_auth_guessing_is_slowed_and_closed(tmp_path: Path) -> None:
    pause = 0.2
    with harness(tmp_path, users={"ci": "s3cret"}, auth_pause=pause, auth_failures=3) as h:
        c = Client(h.smtp_address)
        c.send("EHLO test")
        times = []
        for guess in ("a", "b"):
            started = time.monotonic()
            assert c.send(plain("ci", guess)).startswith("535 ")
            times.append(time.monotonic() - started)
        started = time.monotonic()
        third = c.send(plain("ci", "c"))
        times.append(time.monotonic() - started)
        assert third == "535 5.7.8 Authentication credentials invalid"
        assert c.reply() == "421 4.7.0 Too many failed logins on this connection; closing"
        assert c.closed(within=2)
        c.close()
        # No pause before the first guess, then pause, 2 x pause: it grows.
        assert times[0] < pause
        assert pause <= times[1] < 2 * pause
        assert 2 * pause <= times[2] < 4 * pause
        # A new connection from the same address starts where the address left off.
        again = Client(h.smtp_address)
        again.send("EHLO test")
        started = time.monotonic()
        assert again.send(plain("ci", "s3cret")).startswith("235 ")
        assert time.monotonic() - started >= 4 * pause
        again.close()
        assert h.harness.log.counts["smtp-auth"] == 3


def test_auth_login_failures_count_too(tmp_path: Path) -> None:
    mechanism = "LOGIN"
    with harness(tmp_path, users={"ci": "s3cret"}, auth_pause=0.01, auth_failures=2) as h:
        c = Client(h.smtp_address)
        c.send("EHLO test")
        replies = []
        for _ in range(2):
            assert c.send(f"AUTH {mechanism}").startswith("334")
            assert c.send(base64.b64encode(b"ci").decode()).startswith("334")
            replies.append(c.send(base64.b64encode(b"wrong").decode()))
        assert replies == ["535 5.7.8 Authentication credentials invalid"] * 2
        assert c.reply() == "421 4.7.0 Too many failed logins on this connection; closing"
        c.close()


def test_damage_found_while_serving_is_told_once_with_the_advice(tmp_path: Path) -> None:
    import sqlite3
    import urllib.error
    import urllib.request

    from maildoctor.web.app import run_in_thread as run_with_web

    lines: list[str] = []
    db = tmp_path / "h.sqlite3"
    with run_with_web(db, check_every=0.2, store_failures=lines.append) as h:
        c = Client(h.smtp_address)
        body = b"Subject: filler\r\n\r\n" + (b"y" * 998 + b"\r\n") * 8 + b".\r\n"
        for _ in range(12):  # enough pages that some can be damaged past the schema
            envelope(c)
            assert c.send(body).startswith("250")
        c.close()
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert db.stat().st_size > 8 * 4096
        size = db.stat().st_size
        with db.open("r+b") as f:  # pages in the middle overwritten, the header whole
            f.seek(4 * 4096)
            # all but the first four and the last (the schema alone takes nine pages)
            f.write(b"\xa5" * (size - 5 * 4096))
        deadline = time.monotonic() + 5
        while not lines and time.monotonic() < deadline:
            time.sleep(0.05)
        assert h.http_url is not None
        try:
            urllib.request.urlopen(f"{h.http_url}/api/messages?limit=500", timeout=10)
            status = 200
        except urllib.error.HTTPError as e:
            status = e.code
        time.sleep(0.6)  # three more scheduled checks
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"maildoctor: The message store {db} is damaged")
    assert f"sqlite3 {db} .recover" in lines[0]
    assert status == 503


# -- the web side: connections, headers, bodies ------------------------------------------


def http_harness(tmp_path: Path, **web: object) -> HarnessThread:
    from maildoctor.web.app import run_in_thread as run_with_web
    from maildoctor.web.config import WebConfig

    return run_with_web(tmp_path / "h.sqlite3", web_config=WebConfig(**web))  # type: ignore[arg-type]


def http_address(h: HarnessThread) -> tuple[str, int]:
    assert h.http_url is not None
    host, port = h.http_url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def test_a_request_whose_headers_never_finish_is_closed(tmp_path: Path) -> None:
    with http_harness(tmp_path, header_timeout=1.0) as h:
        sock = socket.create_connection(http_address(h), timeout=5)
        sock.sendall(b"GET /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        closed = False
        for _ in range(40):  # a header line every 0.1 s: the headers never end
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                closed = True
                break
            time.sleep(0.1)
        sock.settimeout(3)
        try:
            closed = closed or sock.recv(100) == b""
        except ConnectionResetError:
            closed = True
        sock.close()
        assert closed
        assert time.monotonic() - started < 3.0
        # A whole request on a new connection is answered as usual.
        with socket.create_connection(http_address(h), timeout=5) as ok:
            ok.sendall(
                b"GET /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            )
            assert ok.recv(100).startswith(b"HTTP/1.1 200 ")


def test_a_body_that_does_not_arrive_gets_408(tmp_path: Path) -> None:
    with http_harness(tmp_path, body_timeout=0.5) as h:
        with socket.create_connection(http_address(h), timeout=5) as sock:
            sock.sendall(
                b"POST /api/diagnose HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
            started = time.monotonic()
            answer = sock.recv(4096)
            took = time.monotonic() - started
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 ")
        assert b"Connection: close" in head
        assert body == b'{"error": "The request body did not arrive within 0.5 s."}'
        assert 0.4 < took < 2.0
        assert h.harness.log.counts["http-body"] == 1


def test_connections_beyond_the_limit_get_503_and_the_limit_frees(tmp_path: Path) -> None:
    with http_harness(tmp_path, max_connections=2) as h, ExitStack() as stack:
        held = [socket.create_connection(http_address(h), timeout=5) for _ in range(2)]
        for sock in held:
            stack.callback(sock.close)
        time.sleep(0.1)
        with socket.create_connection(http_address(h), timeout=5) as extra:
            answer = extra.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        assert answer.endswith(
            b'"The server has as many connections as it takes; try again in a moment."}'
        )
        held[0].close()
        deadline = time.monotonic() + 5
        while True:
            with socket.create_connection(http_address(h), timeout=5) as again:
                again.sendall(b"GET /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                answer = again.recv(100)
            if answer.startswith(b"HTTP/1.1 200 ") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert answer.startswith(b"HTTP/1.1 200 ")


def test_malformed_requests_are_counted_not_logged_with_tracebacks(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    bad = [
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X: y\r\n" * 200 + b"\r\n",
    ]
    with http_harness(tmp_path) as h:
        for payload in bad * 20:
            with socket.create_connection(http_address(h), timeout=5) as sock:
                sock.sendall(payload)
                assert sock.recv(100)[8:13] == b" 400 "  # HTTP/1.0 or 1.1
        counts = dict(h.harness.log.counts)
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert sum(n for kind, n in counts.items() if kind.startswith("http-error-")) == 60
    assert 1 <= err.count("HTTP request(s) failed in the last second") <= 6


def test_a_client_that_triggers_an_internal_error_cannot_flood_the_log(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from maildoctor.harness.policy import Profile
    from maildoctor.harness.profiles import ProfileBook

    class BrokenBook(ProfileBook):
        def lookup(self, recipient: str) -> Profile:
            raise ValueError("secret internals")

    with run_in_thread(tmp_path / "h.sqlite3", http_port=None, profiles=BrokenBook()) as h:
        c = Client(h.smtp_address)
        for _ in range(30):
            envelope(c)
            assert c.send(b"Subject: x\r\n\r\nbody\r\n.\r\n").startswith("451 4.3.0 ")
        c.close()
    err = capfd.readouterr().err
    assert err.count("Traceback") == 1
    assert "ValueError: secret internals" in err
