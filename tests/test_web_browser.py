"""The web UI in a real headless Chromium (Debian's, driven by Playwright).

Send a mail over SMTP, see it appear in the open list without a reload, open
it, read its subject and decisions, and prove that a script inside the mail's
HTML does not run (while the same HTML outside the sandbox does run it). With
verification on (a loopback DNS server serving sender.zone), a DKIM-signed mail
shows dkim=pass and a tampered one dkim=fail beside the decisions.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from maildoctor.harness.policy import Profile
from maildoctor.harness.server import HarnessThread
from maildoctor.sender.auth import dkim_sign
from maildoctor.web.app import run_in_thread
from tests.dnsserver import ZONES_DIR, DNSTestServer

pytestmark = pytest.mark.browser


EVIL_HTML = """<html><body>
<p id="target">untouched</p>
<img src="x" onerror="document.getElementById('target').textContent='ONERROR RAN'">
<script>
document.getElementById('target').textContent = 'SCRIPT RAN';
try { parent.document.title = 'PWNED'; } catch (e) {}
</script>
</body></html>"""


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[HarnessThread]:
    with run_in_thread(tmp_path / "h.sqlite3") as h:
        yield h


def evil_mail() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Lentrance <no-reply@lentrance.com>"
    msg["To"] = "taro@docomo.ne.jp"
    msg["Subject"] = "[Lentrance]仮登録完了のお知らせ"
    msg.set_content("https://lentrance.com/register?token=abc\n")
    msg.add_alternative(EVIL_HTML, subtype="html")
    return msg


def test_list_updates_open_message_and_scripts_do_not_run(
    browser: Any, harness: HarnessThread
) -> None:
    harness.set_profile("taro@docomo.ne.jp", Profile.for_carrier("docomo", refuse_url=True))
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{harness.http_url}/")
        page.wait_for_selector("#live.on")  # the event stream is connected
        assert page.locator(".msg-row").count() == 0

        with smtplib.SMTP(*harness.smtp_address, timeout=10) as smtp:
            smtp.send_message(evil_mail())

        row = page.locator(".msg-row").first
        row.wait_for(timeout=5000)  # arrived without a reload
        assert row.locator(".subject").text_content() == "[Lentrance]仮登録完了のお知らせ"
        row.click()
        expect(page.locator("#detail-subject")).to_have_text("[Lentrance]仮登録完了のお知らせ")
        assert "https://lentrance.com/register" in page.locator("#detail-text").text_content()

        page.click("#detail-tabs button[data-pane=decisions]")
        decision = page.locator("#detail-decisions tr.decision").first
        assert decision.locator(".badge").get_attribute("data-outcome") == "junk"
        assert decision.locator(".badge").text_content() == "迷惑メール"  # Japanese first
        assert decision.locator(".rule").text_content() == "refuse_url"

        page.click("#detail-tabs button[data-pane=html]")
        frame_el = page.locator("#html-frame")
        assert frame_el.get_attribute("sandbox") == ""
        frame = page.frame_locator("#html-frame")
        frame.locator("#target").wait_for(timeout=5000)
        page.wait_for_timeout(300)  # give any script (or onerror) time to run
        assert frame.locator("#target").text_content() == "untouched"
        assert page.title() == "maildoctor ハーネス"  # the mail could not rename its parent
        assert errors == []

        # Control: the same HTML outside the sandbox does run its script, so the
        # check above would have seen it.
        control = browser.new_page()
        control.set_content(EVIL_HTML)
        control.wait_for_timeout(100)
        assert control.locator("#target").text_content() in ("SCRIPT RAN", "ONERROR RAN")
        control.close()
    finally:
        page.close()


def test_delete_all_and_templates_gallery(browser: Any, harness: HarnessThread) -> None:
    page = browser.new_page()
    try:
        with smtplib.SMTP(*harness.smtp_address, timeout=10) as smtp:
            smtp.send_message(evil_mail())
        page.goto(f"{harness.http_url}/")
        page.locator(".msg-row").first.wait_for(timeout=5000)
        page.on("dialog", lambda d: d.accept())
        page.click("#delete-all")
        expect(page.locator(".msg-row")).to_have_count(0)
        assert harness.messages() == []

        page.click("#tab-templates")
        subjects = page.locator(".template-subject")
        for subject in (
            "[Lentrance]会員登録完了のお知らせ",
            "[Lentrance]パスワード再設定のお知らせ",
        ):
            expect(subjects.filter(has_text=subject)).to_have_count(1)
    finally:
        page.close()


DKIM_KEY = Path(__file__).parent / "data" / "dkim" / "test-only-2048.private.pem"


def signed_mail(body: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Lentrance <no-reply@lentrance.com>"
    msg["To"] = "taro@softbank.ne.jp"
    msg["Subject"] = "[Lentrance]会員登録完了のお知らせ"
    msg.set_content(body)
    wire = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    return dkim_sign(wire, selector="s2048", domain="lentrance.com", key_pem=DKIM_KEY.read_bytes())


def test_message_view_shows_dkim_pass_and_fail(browser: Any, tmp_path: Path) -> None:
    with (
        DNSTestServer.from_files(ZONES_DIR / "sender.zone") as dns,
        run_in_thread(tmp_path / "h.sqlite3", auth_nameservers=(dns.nameserver,)) as h,
    ):
        h.set_profile("taro@softbank.ne.jp", Profile.for_carrier("softbank"))
        good = signed_mail("https://lentrance.com/login\n")
        bad = good.replace(b"lentrance.com/login", b"evil.example/login")
        with smtplib.SMTP(*h.smtp_address, timeout=10) as smtp:
            for raw in (good, bad):
                smtp.sendmail("bounce@lentrance.com", ["taro@softbank.ne.jp"], raw)
        page = browser.new_page()
        try:
            page.goto(f"{h.http_url}/")
            rows = page.locator(".msg-row")
            expect(rows).to_have_count(2)
            # Newest first: the tampered one on top.
            for index, dkim, outcome in (
                (1, "dkim=pass", "delivered"),
                (0, "dkim=fail", "filtered"),
            ):
                rows.nth(index).click()
                page.click("#detail-tabs button[data-pane=decisions]")
                auth = page.locator("#detail-auth")
                expect(auth.locator(".auth-dkim")).to_have_text(dkim)
                expect(auth).to_contain_text("spf=softfail")
                expect(auth).to_contain_text("dmarc=none")
                decision = page.locator("#detail-decisions tr.decision").first
                expect(decision.locator(".badge")).to_have_attribute("data-outcome", outcome)
                expect(decision.locator(".rule")).to_have_text(
                    "default" if outcome == "delivered" else "spoofing"
                )
        finally:
            page.close()
