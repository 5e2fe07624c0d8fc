"""The developer's harness pages in a real headless Chromium at 1280 and 390 px, in
Japanese: decoded Japanese headers, the true total and paging, the search language, the
desk's trials kept apart, list and tab semantics with keyboard moves, and a phone
layout where long addresses wrap and a tapped message opens in view."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shlex
import smtplib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from playwright.sync_api import expect

from maildoctor.cli import main
from maildoctor.harness.server import HarnessThread
from maildoctor.harness.store import TRIAL_HELO
from maildoctor.web.app import run_in_thread
from tests import test_desk_browser as desk_tests
from tests.test_desk_browser import DESKTOP, PHONE, no_horizontal_scroll, shot

page_at = desk_tests.page_at  # the fixture: a page at a viewport, failing on script errors

pytestmark = pytest.mark.browser

SUBJECT = "①髙㈱ 注文確認のお知らせ"
LONG_RCPT = "taro.yamada.very-long-local-part-for-wrapping@subdomain.example-company.co.jp"


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[HarnessThread]:
    with run_in_thread(tmp_path / "h.sqlite3") as h:
        yield h


def sjis_mail(subject: str, body: str, to: str, n: int = 0) -> bytes:
    word = base64.b64encode(subject.encode("cp932")).decode()
    return (
        f"From: =?Shift_JIS?B?{base64.b64encode('開発'.encode('cp932')).decode()}?= "
        f"<dev@lentrance.com>\r\nTo: {to}\r\nSubject: =?Shift_JIS?B?{word}?=\r\n"
        f"Message-ID: <{n}.a-very-long-message-id-that-must-wrap-on-a-phone@mail.lentrance.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=Shift_JIS\r\n\r\n"
    ).encode() + body.encode("cp932")


def send_all(h: HarnessThread, mails: list[tuple[bytes, str, str]]) -> None:
    for raw, to, helo in mails:
        with smtplib.SMTP(*h.smtp_address, timeout=10) as smtp:
            smtp.ehlo(helo)
            smtp.sendmail("dev@lentrance.com", [to], raw)


def fill(h: HarnessThread, extra: int = 0) -> None:
    mails = [(sjis_mail(SUBJECT, "本文: 髙橋様の注文①", LONG_RCPT), LONG_RCPT, "dev.example")]
    mails.append(
        (sjis_mail("仮登録", "配信テスト", "t@docomo.ne.jp"), "t@docomo.ne.jp", TRIAL_HELO)
    )
    mails += [
        (sjis_mail(f"お知らせ {i}", f"本文 {i}", f"u{i}@example.jp", i), f"u{i}@example.jp", "dev")
        for i in range(extra)
    ]
    send_all(h, mails)


def contrast(page: Any, selector: str) -> float:
    """WCAG's contrast ratio of an element's text against the first background behind it."""
    return float(
        page.eval_on_selector(
            selector,
            """e => {
              const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
              const lum = ([r, g, b]) => [r, g, b].map((v) => {
                v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
              }).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
              let b = e, bg = "rgb(255, 255, 255)";
              for (; b; b = b.parentElement) {
                const c = getComputedStyle(b).backgroundColor;
                if (c !== "rgba(0, 0, 0, 0)" && c !== "transparent") { bg = c; break; }
              }
              const fg = lum(rgb(getComputedStyle(e).color));
              const [hi, lo] = [fg, lum(rgb(bg))].sort((x, y) => y - x);
              return (hi + 0.05) / (lo + 0.05);
            }""",
        )
    )


def placeholder_fits(page: Any, selector: str) -> bool:
    """Whether an input's placeholder is shown whole (measured in the input's own font)."""
    return bool(
        page.eval_on_selector(
            selector,
            """e => {
              const s = getComputedStyle(e);
              const ctx = document.createElement("canvas").getContext("2d");
              ctx.font = s.font;
              const room = e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
              return ctx.measureText(e.placeholder).width <= room;
            }""",
        )
    )


def test_decoded_list_view_search_and_trials_apart(harness: HarnessThread, page_at: Any) -> None:
    fill(harness)
    page = page_at(DESKTOP)
    page.goto(f"{harness.http_url}/")
    rows = page.locator("#message-list [role=option]")
    expect(rows).to_have_count(1)  # the trial is hidden
    expect(rows.first.locator(".subject")).to_have_text(SUBJECT)
    expect(rows.first.locator(".meta")).to_contain_text("開発 <dev@lentrance.com>")
    expect(page.locator("#count")).to_have_text("(1)")
    page.check("#show-trials")
    expect(rows).to_have_count(2)
    expect(page.locator(".msg-row.trial")).to_have_count(1)
    expect(page).to_have_url(f"{harness.http_url}/?trials=1")
    page.uncheck("#show-trials")
    expect(rows).to_have_count(1)
    rows.first.click()
    expect(page.locator("#detail-subject")).to_have_text(SUBJECT)
    expect(page.locator("#detail-text")).to_have_text("本文: 髙橋様の注文①")
    # The checks speak the page's language (they were English on the Japanese page).
    page.click("#ptab-lint")
    expect(page.locator("#detail-lint")).to_contain_text(
        "Lentrance の通知メールの件名ではありません"
    )
    expect(page.locator("#detail-lint")).not_to_contain_text("The subject")
    # A text-only mail says so on its HTML tab (it was an empty frame).
    page.click("#ptab-html")
    expect(page.locator("#no-html")).to_have_text(
        "(HTML パートがありません。このメールはテキストのみです)"
    )
    expect(page.locator("#html-frame")).to_be_hidden()
    page.click("#lang-switch")
    page.click("#ptab-lint")
    expect(page.locator("#detail-lint")).to_contain_text("is not one of the Lentrance notification")
    page.click("#lang-switch")
    expect(page.locator("#detail-lint")).to_contain_text(
        "Lentrance の通知メールの件名ではありません"
    )
    page.click("#ptab-text")
    assert contrast(page, "#keys-help") >= 4.5  # small grey text was 3.7:1
    assert placeholder_fits(page, "#search")  # it was cut off after "(to: subje"
    page.click("#lang-switch")
    assert placeholder_fits(page, "#search")
    page.click("#lang-switch")
    page.fill("#search", "髙橋様")  # a word of the body only
    expect(rows).to_have_count(1)
    page.fill("#search", "-髙橋様")
    expect(page.locator("#empty")).to_have_text("検索に一致するメッセージはありません。")
    page.fill("#search", "before:yesterday")
    expect(page.locator("#search-error")).to_contain_text("この検索は解釈できません")
    expect(page.locator("#search-error")).to_contain_text("not a date")  # folded, in English
    visible = page.locator("#search-error").inner_text()
    assert "not a date" not in visible and "詳細" in visible
    page.fill("#search", f"to:{LONG_RCPT[:10]}")
    expect(rows).to_have_count(1)
    expect(page.locator("#search-error")).to_be_hidden()
    shot(page, "harness-decoded")


def test_true_total_and_paging(harness: HarnessThread, page_at: Any) -> None:
    fill(harness, extra=104)  # 105 developer mails and one trial
    page = page_at(DESKTOP)
    page.goto(f"{harness.http_url}/")
    expect(page.locator("#count")).to_have_text("(105)")
    expect(page.locator(".msg-row")).to_have_count(100)
    expect(page.locator("#page-info")).to_have_text("1–100 件目 / 全 105 件")
    expect(page.locator("#page-prev")).to_be_disabled()
    page.click("#page-next")
    expect(page.locator(".msg-row")).to_have_count(5)
    expect(page.locator("#page-info")).to_have_text("101–105 件目 / 全 105 件")
    expect(page.locator(".msg-row").last.locator(".subject")).to_have_text(SUBJECT)
    expect(page).to_have_url(f"{harness.http_url}/?offset=100")
    page.reload()  # the page is in the address
    expect(page.locator(".msg-row")).to_have_count(5)
    page.click("#page-prev")
    expect(page.locator(".msg-row")).to_have_count(100)


def test_keyboard_listbox_and_tabs(harness: HarnessThread, page_at: Any) -> None:
    fill(harness, extra=3)
    page = page_at(DESKTOP)
    page.goto(f"{harness.http_url}/")
    rows = page.locator("#message-list [role=option]")
    expect(rows).to_have_count(4)
    expect(page.locator("#message-list")).to_have_attribute("role", "listbox")
    assert page.locator("#message-list [tabindex='0']").count() == 1  # a roving tabindex
    rows.first.focus()
    page.keyboard.press("j")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(rows.nth(2)).to_be_focused()
    page.keyboard.press("k")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("End")
    expect(rows.nth(3)).to_be_focused()
    page.keyboard.press("Enter")
    expect(rows.nth(3)).to_have_attribute("aria-selected", "true")
    expect(page.locator("#detail-subject")).to_have_text(SUBJECT)
    assert page.locator("[role=option][aria-selected=true]").count() == 1
    tabs = page.locator("#detail-tabs [role=tab]")
    expect(tabs).to_have_count(7)
    expect(page.locator("#detail-tabs")).to_have_attribute("role", "tablist")
    expect(tabs.first).to_have_attribute("aria-selected", "true")
    tabs.first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(tabs.nth(2)).to_be_focused()
    expect(tabs.nth(2)).to_have_attribute("aria-selected", "true")
    expect(page.locator("#pane-headers")).to_be_visible()
    expect(page.locator("#pane-text")).to_be_hidden()
    expect(page.locator("#detail-headers")).to_contain_text(SUBJECT)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # wraps to the last tab
    expect(tabs.nth(6)).to_have_attribute("aria-selected", "true")
    views = page.locator("#views [role=tab]")
    expect(views.first).to_have_attribute("aria-selected", "true")
    views.first.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#templates-view")).to_be_visible()
    expect(views.nth(1)).to_have_attribute("aria-selected", "true")


def test_phone_wraps_and_opens_the_tapped_message_in_view(
    harness: HarnessThread, page_at: Any
) -> None:
    fill(harness, extra=12)
    page = page_at(PHONE)
    page.goto(f"{harness.http_url}/")
    rows = page.locator(".msg-row")
    expect(rows).to_have_count(13)
    no_horizontal_scroll(page)
    assert placeholder_fits(page, "#search")
    shot(page, "harness-phone-list")
    row = rows.last  # the oldest, at the bottom of the list
    row.scroll_into_view_if_needed()
    row.click()
    expect(page.locator("#detail-subject")).to_have_text(SUBJECT)
    expect(page.locator("#detail-subject")).to_be_in_viewport()
    meta = page.locator("#detail-meta dd")
    for i in range(meta.count()):
        assert meta.nth(i).evaluate("e => e.scrollWidth <= e.clientWidth + 1"), meta.nth(i)
    expect(page.locator("#detail-meta")).to_contain_text(LONG_RCPT)
    box = page.locator("#detail-meta").bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    no_horizontal_scroll(page)
    shot(page, "harness-phone-message")
    page.click("#back-to-list")
    expect(page.locator(".msg-row.selected")).to_be_focused()


def japan_time(unix: float) -> str:
    """What a ja page shows for ``unix`` in Tokyo: Intl's medium date, long time."""
    when = dt.datetime.fromtimestamp(unix, ZoneInfo("Asia/Tokyo"))
    return f"{when:%Y/%m/%d} {when.hour}:{when:%M:%S} JST"


def test_an_empty_store_says_how_to_send_a_first_message(
    harness: HarnessThread, page_at: Any
) -> None:
    """The message pane is never a blank box: with nothing stored it gives the real
    command for this harness (run here, it delivers), then the hint to choose a message;
    times are the reader's (Tokyo), the zone named."""
    host, port = harness.smtp_address
    phone = page_at(PHONE, timezone_id="Asia/Tokyo")
    phone.goto(f"{harness.http_url}/")
    command = phone.locator("#first-command")
    expect(command).to_be_visible()
    expect(phone.locator("#detail-hint")).to_be_hidden()  # "the list on the left": not on a phone
    no_horizontal_scroll(phone)
    shot(phone, "harness-empty")
    page = page_at(DESKTOP, timezone_id="Asia/Tokyo")
    page.goto(f"{harness.http_url}/")
    expect(page.locator("#first-send")).to_contain_text("最初のメッセージを送るには")
    expect(page.locator("#first-smtp")).to_contain_text(f"SMTP {host}:{port} に送れば届きます")
    line = page.locator("#first-command").inner_text()
    assert line == (
        f"maildoctor send provisional_registration --to taro@docomo.ne.jp --smtp {host}:{port}"
    )
    box = page.locator("#detail-empty").bounding_box()
    assert box is not None and box["x"] > DESKTOP["width"] / 3  # the right pane, not below
    shot(page, "harness-empty")
    result = CliRunner().invoke(main, shlex.split(line)[1:])
    assert result.exit_code == 0, result.output
    rows = page.locator(".msg-row")
    expect(rows).to_have_count(1)  # the live list shows it
    expect(page.locator("#first-send")).to_be_hidden()
    expect(page.locator("#detail-hint")).to_have_text(
        "左の一覧からメッセージを選ぶと、ここに本文・ヘッダー・配信結果・チェックが表示されます。"
    )
    [stored] = json.loads(urllib.request.urlopen(f"{harness.http_url}/api/messages").read())
    expect(rows.first.locator(".meta")).to_contain_text(japan_time(stored["received_at"]))
    rows.first.click()
    expect(page.locator("#detail-empty")).to_be_hidden()
    expect(page.locator("#detail-meta")).to_contain_text(
        "受信日時" + japan_time(stored["received_at"])
    )
    phone.reload()
    expect(phone.locator("#first-send")).to_be_hidden()


def test_a_trial_is_tagged_in_the_pages_language(harness: HarnessThread, page_at: Any) -> None:
    fill(harness)
    page = page_at(PHONE)
    page.goto(f"{harness.http_url}/?trials=1")
    expect(page.locator(".msg-row.trial .trial-tag")).to_have_text("配信テスト")
    assert "trial" not in page.locator("#message-list").inner_text()
    page.click("#lang-switch")
    expect(page.locator(".msg-row.trial .trial-tag")).to_have_text("trial")
