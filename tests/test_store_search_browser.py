"""The harness list in a real headless Chromium, in Japanese at 1280 and 390 px, when a
search is bounded (issue 24): a total past the count's cap shows as "N+", and a word too
short for the index says that only the newest messages were searched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import maildoctor.harness.store as store_module
from maildoctor.harness.server import HarnessThread
from maildoctor.web.app import run_in_thread
from tests import test_desk_browser as desk_tests
from tests.test_desk_browser import DESKTOP, PHONE, no_horizontal_scroll, shot
from tests.test_store_search_index import _send

page_at = desk_tests.page_at  # the fixture: a page at a viewport, failing on script errors

pytestmark = pytest.mark.browser


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[HarnessThread]:
    with run_in_thread(tmp_path / "h.sqlite3") as h:
        yield h


def test_capped_total_and_a_short_word_are_said(
    harness: HarnessThread, page_at: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "SCAN_CAP", 4)
    monkeypatch.setattr(store_module, "COUNT_CAP", 3)
    _send(harness, "髙橋様、ご注文ありがとうございます。", 6)
    for viewport in (DESKTOP, PHONE):
        page = page_at(viewport)
        page.goto(f"{harness.http_url}/")
        expect(page.locator("#count")).to_have_text("(6)")  # the list: exact
        expect(page.locator("#search-note")).to_be_hidden()
        page.fill("#search", "ありがとう")
        expect(page.locator(".msg-row")).to_have_count(6)
        # Counted up to 3, and the page shows 6: at least 6, never "6 of 3+".
        expect(page.locator("#count")).to_have_text("(6+)")
        expect(page.locator("#page-info")).to_have_text("1–6 件目 / 全 6+ 件")
        page.fill("#search", "様")
        note = page.locator("#search-note")
        expect(note).to_have_text(
            "1〜2文字の語は索引で探せないため、新しい 4 件だけを検索しました"
            "(3文字以上の語を加えると全件を検索します)。"
        )
        expect(page.locator(".msg-row")).to_have_count(4)
        no_horizontal_scroll(page)
        shot(page, "harness-short-word")
        page.fill("#search", "髙橋様")
        expect(note).to_be_hidden()
