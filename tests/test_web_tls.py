"""The web side over HTTPS: a self-signed pair made beside the database (or given with
--tls-cert/--tls-key), Secure cookies, HSTS; tried with an HTTPS client that trusts
only the generated certificate, and in Chromium (told to accept the self-signed one)."""

from __future__ import annotations

import http.client
import ssl
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.harness.server import HarnessThread
from maildoctor.web.access import CSRF_COOKIE, SESSION_COOKIE, hash_password
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS

PASSWORD = "desk over tls"


@contextmanager
def tls_desk(tmp_path: Path, **options: Any) -> Iterator[HarnessThread]:
    config = WebConfig(
        allow_remote=True,
        password_hash=hash_password(PASSWORD),
        nameservers=None,
        **({"tls_self_signed": True} | options),
    )
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        yield h


def trusting(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))  # verifies the name too


def https(h: HarnessThread, context: ssl.SSLContext) -> http.client.HTTPSConnection:
    parts = urllib.parse.urlsplit(h.http_url)
    assert parts.scheme == "https" and parts.port is not None
    return http.client.HTTPSConnection("localhost", parts.port, context=context, timeout=10)


def test_self_signed_https_sets_secure_cookies_and_hsts(tmp_path: Path) -> None:
    with tls_desk(tmp_path) as h:
        conn = https(h, trusting(tmp_path / "harness-cert.pem"))
        body = urllib.parse.urlencode({"password": PASSWORD, "next": "/desk"})
        conn.request(
            "POST",
            "/login",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": f"https://localhost:{conn.port}",
            },
        )
        response = conn.getresponse()
        response.read()
        conn.close()
        assert response.status == 303
        cookies = response.headers.get_all("Set-Cookie") or []
        assert {c.split("=")[0] for c in cookies} == {SESSION_COOKIE, CSRF_COOKIE}
        assert all("Secure" in c for c in cookies)
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
        # Plain HTTP to the HTTPS port gets no page.
        parts = urllib.parse.urlsplit(h.http_url)
        plain = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=5)
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            plain.request("GET", "/login")
            plain.getresponse().read()
        plain.close()


def test_a_client_that_does_not_trust_the_certificate_is_refused(tmp_path: Path) -> None:
    with tls_desk(tmp_path) as h:
        conn = https(h, ssl.create_default_context())
        with pytest.raises(ssl.SSLCertVerificationError):
            conn.request("GET", "/login")
        conn.close()


def test_plain_http_has_no_hsts_and_no_secure_cookie(tmp_path: Path) -> None:
    with tls_desk(tmp_path, tls_self_signed=False) as h:
        assert h.http_url is not None and h.http_url.startswith("http://")
        parts = urllib.parse.urlsplit(h.http_url)
        conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=10)
        conn.request("GET", "/login")
        response = conn.getresponse()
        response.read()
        conn.close()
        assert "Strict-Transport-Security" not in response.headers


def settings(*args: str, remote: bool) -> list[str]:
    """The start notes of serve's limit, account and HTTPS options as given in argv."""
    from maildoctor.cli.serve import command
    from maildoctor.cli.serve_guard import guard_settings
    from maildoctor.harness.smtp import Limits

    ctx = command.make_context("serve", list(args))
    values = dict(ctx.params)
    return guard_settings(values, Limits(), http=True, remote_http=remote, ctx=ctx).notes


def test_serve_says_plainly_that_passwords_cross_the_network_in_clear(tmp_path: Path) -> None:
    [note] = settings("--allow-remote", remote=True)
    assert note.startswith(
        "warning: the web side is plain HTTP: the desk password and the "
        "session cookies cross the network in clear."
    )
    assert settings("--allow-remote", "--tls-self-signed", remote=True) == []
    assert settings(remote=False) == []


def test_tls_options_are_checked_up_front(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--tls-cert", str(tmp_path / "missing.pem")])
    assert result.exit_code == 2  # a missing file is a usage error
    (tmp_path / "c.pem").write_text("not a certificate")
    result = CliRunner().invoke(main, ["serve", "--tls-cert", str(tmp_path / "c.pem")])
    assert result.exit_code == 2
    assert "--tls-cert and --tls-key go together." in result.stderr
    key = tmp_path / "k.pem"
    key.write_text("not a key")
    result = CliRunner().invoke(
        main,
        [
            "serve",
            "--smtp",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--db",
            str(tmp_path / "h.sqlite3"),
            "--tls-cert",
            str(tmp_path / "c.pem"),
            "--tls-key",
            str(key),
            "--auth-dns",
            "off",
        ],
    )
    assert result.exit_code == 4
    assert "Cannot serve HTTPS with that certificate and key" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.browser
def test_the_desk_logs_in_over_https_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    # A browser of its own, closed before the server stops: Chromium's spare TLS
    # connections then end with it instead of outliving the server's event loop.
    locking = {"login_lock_after": 2, "login_pause": 0.01}
    with tls_desk(tmp_path, **locking) as h, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(ignore_https_errors=True, locale="ja-JP")
            page = context.new_page()
            page.set_viewport_size({"width": 1280, "height": 800})
            page.goto(f"{h.http_url}/desk")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{h.http_url}/desk")
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "desk-https-1280.png"))
            cookies = {c["name"]: c for c in context.cookies()}
            assert cookies[SESSION_COOKIE]["secure"] and cookies[SESSION_COOKIE]["httpOnly"]
            assert cookies[CSRF_COOKIE]["secure"]
            # Wrong passwords from this address: the pause, then the lockout, in Japanese.
            phone = browser.new_context(ignore_https_errors=True, locale="ja-JP")
            page = phone.new_page()
            page.set_viewport_size({"width": 390, "height": 844})
            for attempt in range(3):
                page.goto(f"{h.http_url}/login")
                page.fill("#password", f"wrong {attempt}")
                page.click("button[type=submit]")
                expect(page.locator(".error")).to_be_visible()
            expect(page.locator(".error")).to_contain_text("ログインの失敗が続いたため")
            page.screenshot(path=str(SCREENSHOTS / "login-locked-390.png"))
        finally:
            browser.close()
