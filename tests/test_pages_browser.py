"""Every page once, as the page review looks at it: Japanese, 1280 and 390 px, an agent's
browser in Tokyo. Each view's text meets WCAG AA contrast (4.5:1, 3:1 when large; the
warning orange was 3.6:1, the empty list's grey 3.5:1) and the page never scrolls
sideways. Screenshots (tests/screenshots/tour-*.png) are for a person to look at."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from maildoctor.harness.server import HarnessThread
from maildoctor.mail.render import render_message
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig
from tests import test_desk_browser as desk_tests
from tests.test_desk_browser import (
    DESKTOP,
    PHONE,
    diagnose,
    no_horizontal_scroll,
    shot,
    text_lines,
)

page_at = desk_tests.page_at  # the fixture: a page at a viewport, failing on script errors

pytestmark = pytest.mark.browser

#: Every element with text of its own that is shown, with its contrast against the
#: first background behind it, when under WCAG AA (large: 24px, or 18.66px bold).
LOW_CONTRAST = """() => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const low = [];
  for (const e of document.querySelectorAll("body *")) {
    if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const box = e.getBoundingClientRect();
    const s = getComputedStyle(e);
    if (!box.width || !box.height || s.visibility === "hidden") continue;
    if (e.closest(":disabled")) continue;  // WCAG 1.4.3 leaves out inactive controls
    let bg = "rgb(255, 255, 255)";
    for (let b = e; b; b = b.parentElement) {
      const c = getComputedStyle(b).backgroundColor;
      if (c !== "rgba(0, 0, 0, 0)" && c !== "transparent") { bg = c; break; }
    }
    const [hi, lo] = [lum(rgb(s.color)), lum(rgb(bg))].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      const text = e.textContent.trim().slice(0, 30);
      low.push(`${e.tagName}.${e.className} ${ratio.toFixed(2)}: ${text}`);
    }
  }
  return low;
}"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[HarnessThread]:
    with run_in_thread(tmp_path / "h.sqlite3", web_config=WebConfig(nameservers=None)) as h:
        yield h


def looked_at(page: Any, name: str) -> None:
    """The view as a reader sees it: readable, no sideways scroll, a screenshot."""
    assert page.evaluate(LOW_CONTRAST) == [], name
    no_horizontal_scroll(page)
    shot(page, f"tour-{name}")


def send_one(h: HarnessThread) -> None:
    msg = render_message("password_reset", to="hanako@au.com")
    with smtplib.SMTP(*h.smtp_address, timeout=10) as smtp:
        smtp.send_message(msg)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_every_page_is_readable_and_fits(
    site: HarnessThread, page_at: Any, viewport: dict[str, int]
) -> None:
    page = page_at(viewport, timezone_id="Asia/Tokyo")
    page.goto(f"{site.http_url}/")
    expect(page.locator("#first-command")).to_be_visible()
    looked_at(page, "harness-empty")

    page.goto(f"{site.http_url}/desk")
    diagnose(page, "taro@softbank.ne.jp")  # a warning (orange) and the trial's badges
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    looked_at(page, "desk")
    page.click("#tab-history")
    expect(page.locator("#history-table tbody tr")).to_have_count(1)
    looked_at(page, "desk-history")
    page.click("#tab-batch")
    looked_at(page, "desk-batch")

    send_one(site)
    page.goto(f"{site.http_url}/?trials=1")
    page.locator(".msg-row:not(.trial)").click()  # the developer's mail, among the trials
    expect(page.locator("#detail-subject")).to_contain_text("パスワード")
    looked_at(page, "harness-message")
    page.click("#tab-templates")
    expect(page.locator(".template-subject").first).not_to_be_empty()
    link = page.locator(".preview-link a").bounding_box()
    assert link is not None and link["x"] >= 8  # it touched the window's edge
    looked_at(page, "gallery")

    for view in ("html", "checks"):
        page.goto(f"{site.http_url}/preview?template=registration_complete&view={view}")
        expect(page.locator("#subject")).not_to_be_empty()
        # Whole words on a phone: the title was "テンプレート / プレビュー", a name
        # "registration_comple / te"; a name now breaks only after its underscore.
        assert text_lines(page, "header h1") == [1]
        expect(page.locator("#template-list .part").first).to_have_text("password_")
        assert set(text_lines(page, "#template-list .part")) == {1}
        looked_at(page, f"preview-{view}")

    page.goto(f"{site.http_url}/signup-demo")
    looked_at(page, "signup-demo")
