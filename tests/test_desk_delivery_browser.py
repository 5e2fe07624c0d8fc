"""The desk's 配信記録 box (desk-delivery.js) in a real headless Chromium, in Japanese,
at 1280 px and 390 px: the record first, a warning when it changes the answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from maildoctor.events import EventStore
from maildoctor.events.ingest import ingest_source
from maildoctor.harness.server import HarnessThread
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig
from tests.conftest import SCREENSHOTS as SHOTS

pytestmark = pytest.mark.browser

DATA = Path(__file__).parent / "data" / "events"
VIEWPORTS = {"1280": {"width": 1280, "height": 900}, "390": {"width": 390, "height": 844}}


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[HarnessThread]:
    db = tmp_path / "events.sqlite3"
    with EventStore(db) as store:
        for name in ("postfix-maillog.log", "sendgrid-events.json"):
            assert not ingest_source(store, str(DATA / name)).error
    config = WebConfig(nameservers=None, events_db=db)
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config, auth_nameservers=None) as h:
        yield h


def run(page: Any, address: str) -> None:
    before = page.locator("#result").get_attribute("data-renders") or "0"
    page.fill("#input", address)
    page.click("#run")
    expect(page.locator("#result")).to_have_attribute(
        "data-renders", str(int(before) + 1), timeout=15000
    )


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_the_record_opens_the_diagnosis(desk: HarnessThread, browser: Any, width: str) -> None:
    # An agent in Japan: the browser's zone is Tokyo's (the machine's may be UTC).
    context = browser.new_context(
        viewport=VIEWPORTS[width], locale="ja-JP", timezone_id="Asia/Tokyo"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{desk.http_url}/desk")
        run(page, "nobody@docomo.ne.jp")
        box = page.locator("#delivery")
        expect(box).to_be_visible()
        expect(box).to_have_attribute("data-verdict", "no_record")
        expect(box).to_have_class("delivery panel warn")
        expect(box.locator("h2")).to_have_text("配信記録")
        expect(box).to_contain_text("送信記録なし: 開発チームへエスカレーション")
        # Said once: the summary's cause line gives way to the record's box.
        expect(page.locator("#cause")).to_be_hidden()
        expect(box).to_contain_text("検索: postfix ×1, sendgrid ×1")
        first = page.locator("#advice li").first
        expect(first).to_have_attribute("data-advice", "escalate_not_sent")
        expect(first).not_to_contain_text("拒否されています")  # nothing was sent to refuse
        assert "迷惑メール" not in page.locator("#draft").input_value()
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"desk-delivery-none-{width}.png"))

        run(page, "defer@softbank.ne.jp")
        expect(box).to_have_attribute("data-verdict", "delayed")
        records = box.locator(".delivery-records li")
        expect(records).to_have_count(4)
        expect(records.first.locator(".badge.expired")).to_have_text("期限切れ(送信者へ返送)")
        # 09:42:49 UTC is 18:42:49 in Tokyo: the times are the reader's, the zone named,
        # the record's own ISO time kept for machines.
        when = records.first.locator("time")
        expect(when).to_have_text("2026/12/07 18:42:49 JST")
        expect(when).to_have_attribute("datetime", "2026-12-07T09:42:49Z")
        expect(box.locator(".delivery-summary")).to_contain_text("2026-12-07 18:42 JSTに期限切れ")
        assert "UTC" not in box.inner_text()
        expect(page.locator("#advice li").first).to_have_attribute("data-advice", "retry_later")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1
        page.screenshot(path=str(SHOTS / f"desk-delivery-delayed-{width}.png"))

        run(page, "accept@docomo.ne.jp")
        expect(box).to_have_attribute("data-verdict", "accepted")
        expect(box).to_have_class("delivery panel")
        expect(box).to_contain_text("受信サーバーが受理")
        page.screenshot(path=str(SHOTS / f"desk-delivery-accepted-{width}.png"))

        # Nothing can be sent to a malformed address: no escalation, and the draft no
        # longer tells the customer the address is not the problem.
        run(page, "nobody@@docomo.ne.jp")
        expect(box).to_have_attribute("data-verdict", "no_record_address")
        expect(box).not_to_contain_text("エスカレーション")
        expect(page.locator("#advice li").first).not_to_have_attribute(
            "data-advice", "sender_side_fix"
        )
        assert "起因するものではございません" not in page.locator("#draft").input_value()
        page.screenshot(path=str(SHOTS / f"desk-delivery-bad-address-{width}.png"))
    finally:
        context.close()
    assert errors == []
