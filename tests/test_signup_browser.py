"""The sign-up guard in a real headless Chromium: the demo form, another site's form, the limits.

Screenshots of the demo (Japanese, 1280 and 390 px wide) go to tests/screenshots/.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from maildoctor.harness.server import HarnessThread
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig
from tests.conftest import SCREENSHOTS
from tests.dnsserver import DNSTestServer

pytestmark = pytest.mark.browser

FULLWIDTH = "ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ"


class OtherSite:
    """Another web site on loopback (its own origin) whose form embeds the script."""

    def __init__(self) -> None:
        self.script_src = ""
        self.endpoint = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = (
                    '<!doctype html><html lang="ja"><meta charset="utf-8"><title>other</title>'
                    '<form action="/done" novalidate><input type="email" id="mail" name="mail">'
                    '<button id="go">送信</button></form>'
                    f'<script src="{site.script_src}" data-input="#mail"'
                    + (f' data-endpoint="{site.endpoint}"' if site.endpoint else "")
                    + "></script>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def sites() -> Iterator[tuple[OtherSite, OtherSite]]:
    allowed, refused = OtherSite(), OtherSite()
    try:
        yield allowed, refused
    finally:
        allowed.close()
        refused.close()


@pytest.fixture
def guard(
    tmp_path: Path, dns_server: DNSTestServer, sites: tuple[OtherSite, OtherSite]
) -> Iterator[HarnessThread]:
    allowed, _ = sites
    config = WebConfig(check_nameservers=(dns_server.nameserver,), cors_origins=(allowed.origin,))
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        for site in sites:
            site.script_src = f"{h.http_url}/static/signup-check.js"
        yield h


def blur_with(page: Page, selector: str, text: str) -> None:
    page.fill(selector, text)
    page.locator(selector).blur()


def test_demo_fullwidth_suggestion_one_click_fix_and_carrier_note(
    browser: Any, guard: HarnessThread
) -> None:
    for width, height in ((1280, 900), (390, 844)):
        page = browser.new_page(viewport={"width": width, "height": height}, locale="ja-JP")
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        try:
            page.goto(f"{guard.http_url}/signup-demo")
            status = page.locator(".signup-check")
            assert status.get_attribute("aria-live") == "polite"
            assert (
                status.get_attribute("id")
                in (page.locator("#email").get_attribute("aria-describedby") or "").split()
            )

            blur_with(page, "#email", FULLWIDTH)
            message = page.locator(".signup-check-message")
            expect(message).to_have_text("もしかして taro@docomo.ne.jp ですか?")
            assert page.locator("#email").get_attribute("aria-invalid") == "true"
            shot = SCREENSHOTS / f"signup-suggestion-{width}.png"
            page.screenshot(path=str(shot), full_page=True)

            page.click(".signup-check-fix")  # one click
            expect(page.locator("#email")).to_have_value("taro@docomo.ne.jp")
            assert page.evaluate("document.activeElement.id") == "email"
            note = page.locator(".signup-check-note")
            expect(note).to_contain_text("キャリアメールの受信設定を確認する")
            expect(note).to_contain_text("「@lentrance.com」ドメインからのメールを受信できるように")
            expect(note).to_contain_text("本文にURLリンクが記載されているメール")
            expect(page.locator(".signup-check-fixed")).to_have_text(
                "taro@docomo.ne.jp に修正しました。"
            )
            assert page.locator("#email").get_attribute("aria-invalid") is None
            page.click(".signup-check-note summary")
            expect(note.locator("li").first).to_be_visible()
            page.screenshot(path=str(SCREENSHOTS / f"signup-carrier-{width}.png"), full_page=True)
            assert errors == []
        finally:
            page.close()


def test_docomo_typed_directly_shows_the_note_and_submit_is_never_blocked(
    browser: Any, guard: HarnessThread
) -> None:
    page = browser.new_page(locale="ja-JP")
    try:
        page.goto(f"{guard.http_url}/signup-demo")
        blur_with(page, "#email", "hanako@docomo.ne.jp")
        expect(page.locator(".signup-check-note")).to_contain_text("@lentrance.com")
        expect(page.locator(".signup-check-message")).to_contain_text(
            "NTTドコモのキャリアメールです"
        )
        # A blocked-looking address still submits: the script never stops the form.
        blur_with(page, "#email", "taro@gmial.com")
        expect(page.locator(".signup-check-message")).to_have_text(
            "もしかして taro@gmail.com ですか?"
        )
        page.click("#send")
        page.wait_for_url("**/signup-demo?*email=taro%40gmial.com*")

        # Keyboard only: Tab away (the check runs), Shift+Tab back to the fix, Enter.
        page.focus("#email")
        page.keyboard.type("jiro@gmial.com")
        page.keyboard.press("Tab")
        expect(page.locator(".signup-check-fix")).to_have_text("jiro@gmail.com")
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.className") == "signup-check-fix"
        page.keyboard.press("Enter")
        expect(page.locator("#email")).to_have_value("jiro@gmail.com")
        expect(page.locator(".signup-check-fixed")).to_have_text("jiro@gmail.com に修正しました。")
    finally:
        page.close()


def test_other_sites_allowed_origin_works_refused_origin_gets_nothing(
    browser: Any, guard: HarnessThread, sites: tuple[OtherSite, OtherSite]
) -> None:
    allowed, refused = sites
    page = browser.new_page(locale="ja-JP")
    try:
        page.goto(f"{allowed.origin}/")
        blur_with(page, "#mail", FULLWIDTH)
        expect(page.locator(".signup-check-message")).to_have_text(
            "もしかして taro@docomo.ne.jp ですか?"
        )
        page.click(".signup-check-fix")
        expect(page.locator("#mail")).to_have_value("taro@docomo.ne.jp")
        expect(page.locator(".signup-check-note")).to_be_visible()

        page.goto(f"{refused.origin}/")
        blur_with(page, "#mail", FULLWIDTH)
        page.wait_for_timeout(800)
        assert page.locator(".signup-check").inner_text() == ""  # silently nothing
        api = f"{guard.http_url}/api/check?address=a@b.jp"
        outcome = page.evaluate(
            "url => fetch(url).then(r => 'read ' + r.status, e => 'refused ' + e.name)", api
        )
        assert outcome == "refused TypeError"  # the browser's CORS refusal
        page.click("#go")  # and the form still submits
        page.wait_for_url("**/done?mail=*")
    finally:
        page.close()


def test_api_down_does_nothing_and_429_past_the_limit(
    browser: Any, tmp_path: Path, sites: tuple[OtherSite, OtherSite]
) -> None:
    allowed, _ = sites
    config = WebConfig(check_nameservers=None, check_rate=3, cors_origins=(allowed.origin,))
    with run_in_thread(tmp_path / "limit.sqlite3", web_config=config) as h:
        allowed.script_src = f"{h.http_url}/static/signup-check.js"
        page = browser.new_page(locale="ja-JP")
        try:
            page.goto(f"{allowed.origin}/")
            api = f"{h.http_url}/api/check?address=a@b.jp"
            statuses = page.evaluate(
                """async url => {
                    const out = [];
                    for (let i = 0; i < 4; i++) {
                        const r = await fetch(url);
                        out.push([r.status, r.headers.get('Retry-After')]);
                    }
                    return out;
                }""",
                api,
            )
            assert [s for s, _ in statuses] == [200, 200, 200, 429]
            assert int(statuses[3][1]) >= 1
            blur_with(page, "#mail", FULLWIDTH)  # limited: the script shows nothing
            page.wait_for_timeout(500)
            assert page.locator(".signup-check").inner_text() == ""

            # The script loads but its API is down (nothing listens on port 1).
            allowed.endpoint = "http://127.0.0.1:1/api/check"
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{allowed.origin}/")
            expect(page.locator(".signup-check")).to_have_count(1)
            blur_with(page, "#mail", FULLWIDTH)
            page.wait_for_timeout(500)
            assert page.locator(".signup-check").inner_text() == ""
            assert errors == []
            page.click("#go")
            page.wait_for_url("**/done?mail=*")
        finally:
            allowed.endpoint = ""
            page.close()
    # The server is gone: the script fails quietly and the form still works.
    page = browser.new_page(locale="ja-JP")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{allowed.origin}/")
        blur_with(page, "#mail", FULLWIDTH)
        page.wait_for_timeout(500)
        assert page.locator(".signup-check").count() == 0  # the script itself did not load
        assert errors == []
    finally:
        page.close()
