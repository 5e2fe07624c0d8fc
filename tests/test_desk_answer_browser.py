"""The desk as a new agent uses it, in a real headless Chromium at 1280 and 390 px, in
Japanese: the answer first, honest states without DNS, a language switch that
re-diagnoses, errors in one language, the agent and ticket id in the history with its
filters, and the logout button. Screenshots go to tests/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from maildoctor.harness.server import HarnessThread
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig
from tests import test_desk_browser as desk_tests
from tests.test_desk_browser import DESKTOP, PHONE, diagnose, no_horizontal_scroll, shot

page_at = desk_tests.page_at  # the fixture: a page at a viewport, failing on script errors

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(tmp_path: Path, nameserver: str) -> Iterator[HarnessThread]:
    config = WebConfig(nameservers=(nameserver,), dns_timeout=2.0)
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        yield h


def in_first_screen(page: Any, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"], box


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_the_answer_first(desk: HarnessThread, page_at: Any, viewport: dict[str, int]) -> None:
    page = page_at(viewport)
    page.goto(f"{desk.http_url}/desk")
    page.fill("#agent", "佐藤")
    page.fill("#ticket-id", "#4021")
    diagnose(page, "hanako@au.com")
    summary = page.locator("#summary")
    expect(summary.locator("#verdict")).to_have_text("注意(届かない可能性があります)")
    expect(summary.locator("#cause")).to_have_text(re.compile("au\\(KDDI\\)のキャリアメールです"))
    expect(summary.locator("#r-ticket-id")).to_have_text("#4021")
    # Verdict, cause and the copy button are on the first screen, draft right below.
    for part in ("#verdict", "#cause", "#copy"):
        in_first_screen(page, part)
    order = page.evaluate(
        "() => [...document.querySelectorAll('#result > *')].map(e => e.id).filter(Boolean)"
    )
    assert order.index("summary") < order.index("sec-reply") < order.index("sec-findings")
    assert order.index("sec-findings") < order.index("sec-trial") < order.index("sec-advice")
    # The long trial table is folded; its summary line says what it found.
    expect(page.locator("#sec-trial")).not_to_have_attribute("open", "")
    expect(page.locator("#trial-summary")).to_have_text(re.compile("設定中 .* 設定で受信箱に"))
    # Advice by its title, never its id; the first one open.
    titles = page.locator("#advice .advice-title")
    expect(titles.first).to_have_text("ドメイン受信設定(受信拒否設定)を確認する")
    assert "allow_sender_domain" not in (page.locator("#advice").inner_text())
    page.click("#copy")
    expect(page.locator("#copied")).to_have_text("コピーしました")
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("#draft").input_value()
    no_horizontal_scroll(page)
    shot(page, "desk-answer-first")
    page.click("#sec-trial > summary")
    refused = page.locator("#trial tbody tr", has=page.locator(".badge.rejected")).first
    expect(refused).to_contain_text("550")
    expect(refused.locator(".simulated")).to_contain_text("ハーネスが「")
    expect(refused.locator(".simulated")).to_contain_text(
        "アドレスが存在しないという意味ではありません"
    )
    no_horizontal_scroll(page)
    shot(page, "desk-answer-trial")


def test_without_dns_the_page_says_unknown(tmp_path: Path, page_at: Any) -> None:
    with run_in_thread(tmp_path / "h.sqlite3", web_config=WebConfig(nameservers=None)) as h:
        for viewport in (DESKTOP, PHONE):
            page = page_at(viewport)
            page.goto(f"{h.http_url}/desk")
            diagnose(page, "taro@no-such-domain.jp")
            verdict = page.locator("#verdict")
            expect(verdict).to_have_text("不明(DNSを確認できません)")
            expect(verdict).to_have_class(re.compile("v-unknown"))
            # What is true on the desk, not the CLI's --offline flag (no terminal here).
            expect(page.locator("#cause")).to_have_text(
                "DNS: 確認していません(このデスクはDNSを照会しない設定です)。"
                "ドメインとメールサーバーの有無は未確認です。"
            )
            assert "--offline" not in page.locator("body").inner_text()
            assert page.locator(".v-ok").count() == 0  # no green anywhere
            shot(page, "desk-dns-off")
            diagnose(page, "taro@softbank.ne.jp")  # the spoofing row's "unknown", and why
            expect(page.locator("#lesson")).to_contain_text("(このデスクはDNSを照会しない設定です)")
            assert "--offline" not in page.locator("body").inner_text()


def test_switching_language_rediagnoses(desk: HarnessThread, page_at: Any) -> None:
    page = page_at(PHONE)
    page.goto(f"{desk.http_url}/desk")
    diagnose(page, "taro@docomo.ne.jp")
    history_id = page.locator("#permalink").get_attribute("href")
    before = page.locator("#result").get_attribute("data-renders") or "0"
    page.click("#lang-switch")
    expect(page.locator("#result")).to_have_attribute("data-renders", str(int(before) + 1))
    expect(page.locator("#result")).to_have_attribute("data-lang", "en")
    expect(page.locator("#draft")).to_have_value(re.compile("^Dear customer,"))
    expect(page.locator("#advice .advice-title").first).to_have_text(re.compile("[A-Za-z]"))
    subject = "[Lentrance]仮登録完了のお知らせ"  # the mail's own subject, quoted as it is
    kana = "[ぁ-んァ-ン]"
    assert not re.search(kana, page.locator("#advice").inner_text().replace(subject, ""))
    page.click("#sec-trial > summary")
    # The outcomes in English (the carriers' setting names stay as their menus say them).
    badges = page.locator("#trial tbody .badge").all_inner_texts()
    assert badges[0] == "arrives (inbox)" and "spam folder" in badges
    assert not any(re.search(kana, b) for b in badges)
    expect(page.locator("#verdict")).to_have_text("risky (mail may not arrive)")
    page.click("#copy")
    assert page.evaluate("navigator.clipboard.readText()").startswith("Dear customer,")
    assert page.locator("#permalink").get_attribute("href") == history_id  # redone in place
    shot(page, "desk-english")
    page.click("#lang-switch")
    expect(page.locator("#result")).to_have_attribute("data-lang", "ja")
    expect(page.locator("#draft")).to_have_value(re.compile("^お客様"))
    page.click("#tab-history")
    expect(page.locator("#history-table tbody tr")).to_have_count(1)


def test_errors_in_one_language(desk: HarnessThread, page_at: Any) -> None:
    page = page_at()
    page.goto(f"{desk.http_url}/desk")
    page.fill("#input", "メールが届きません。よろしくお願いします。")  # no address in it
    page.click("#run")
    error = page.locator("#form-error")
    expect(error).to_be_visible()
    expect(error.locator("span").first).to_have_text(
        "本文にメールアドレスが見つかりません。お客様のアドレスを貼り付けてください。"
    )
    assert not re.search("[A-Za-z]{3,}", error.inner_text())  # the English detail is folded
    shot(page, "desk-error")
    page.click("#lang-switch")
    page.click("#run")
    expect(error.locator("span").first).to_contain_text("No email address was found")
    assert not re.search("[ぁ-んァ-ン一-龥]", error.inner_text())


def test_history_by_agent_ticket_id_and_filters(desk: HarnessThread, page_at: Any) -> None:
    page = page_at()
    page.goto(f"{desk.http_url}/desk")
    for agent, ticket_id, address, ticket in (
        ("佐藤", "#101", "taro@docomo.ne.jp", "not_arrived"),
        ("鈴木", "#102", "hanako@gmail.com", "login_trouble"),
        ("佐藤", "LEN-7", "taro@gmial.com", "not_arrived"),
    ):
        page.fill("#agent", agent)
        page.fill("#ticket-id", ticket_id)
        diagnose(page, address, ticket)
    page.click("#tab-history")
    rows = page.locator("#history-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("LEN-7")
    expect(rows.first).to_contain_text("佐藤")
    page.fill("#history-q", "#102")
    page.press("#history-q", "Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("hanako@gmail.com")
    page.click("#f-clear")
    expect(rows).to_have_count(3)
    page.select_option("#f-agent", "佐藤")
    expect(rows).to_have_count(2)
    page.select_option("#f-verdict", "undeliverable")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("taro@gmial.com")
    json_link = page.locator("#history-json").get_attribute("href") or ""
    assert "agent=" in json_link and "verdict=undeliverable" in json_link
    twin = page.evaluate("u => fetch(u).then(r => r.json())", json_link)
    assert [e["address"] for e in twin] == ["taro@gmial.com"]
    page.click("#f-clear")
    page.select_option("#f-ticket", "login_trouble")
    expect(rows).to_have_count(1)
    page.fill("#f-to", "2000-01-01")
    page.dispatch_event("#f-to", "change")
    expect(page.locator("#history-empty")).to_be_visible()
    page.click("#f-clear")
    expect(rows).to_have_count(3)
    advice_cell = rows.first.locator("td").last
    expect(advice_cell).not_to_contain_text("_")  # titles, not ids
    shot(page, "desk-history-filters")
    phone = page_at(PHONE)
    phone.goto(f"{desk.http_url}/desk#history")
    expect(phone.locator("#history-table tbody tr")).to_have_count(3)
    no_horizontal_scroll(phone)
    shot(phone, "desk-history-filters")


def test_logout_button(tmp_path: Path, nameserver: str, page_at: Any) -> None:
    from maildoctor.web.access import hash_password

    config = WebConfig(
        allow_remote=True, password_hash=hash_password("desk pass"), nameservers=(nameserver,)
    )
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        page = page_at(PHONE)
        page.goto(f"{h.http_url}/desk")
        page.fill("#password", "desk pass")
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{h.http_url}/desk")
        expect(page.locator("#logout")).to_be_visible()
        expect(page.locator("#logout")).to_have_text("ログアウト")
        no_horizontal_scroll(page)
        shot(page, "desk-logged-in")
        page.click("#logout")
        expect(page).to_have_url(re.compile("/login"))
        page.goto(f"{h.http_url}/desk")
        expect(page).to_have_url(re.compile("/login\\?next="))
    local = page_at()
    with run_in_thread(tmp_path / "l.sqlite3", web_config=WebConfig(nameservers=None)) as h:
        local.goto(f"{h.http_url}/desk")
        expect(local.locator("h1")).to_have_text("maildoctor サポートデスク")
        expect(local.locator("#logout")).to_be_hidden()  # no login on loopback: nothing to end


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_a_pasted_message_names_the_address_and_guesses_the_type(
    desk: HarnessThread, page_at: Any, viewport: dict[str, int]
) -> None:
    page = page_at(viewport)
    page.goto(f"{desk.http_url}/desk")
    page.fill(
        "#input",
        "山田太郎です。登録したアドレスはtaro@docomo.ne.jpです。"
        "退会したのですが再登録のメールが届きません。",
    )
    page.click("#run")
    expect(page.locator("#intake .intake-address")).to_have_text("taro@docomo.ne.jp", timeout=15000)
    expect(page.locator("#intake")).to_contain_text("本文にあるアドレスはこれだけです。")
    expect(page.locator("#intake")).to_contain_text("宛名: 山田様")
    # The type guessed from the words is pre-selected, and said to be a guess.
    expect(page.locator("#ticket")).to_have_value("reregister_after_withdrawal")
    expect(page.locator("#ticket-guessed")).to_be_visible()
    expect(page.locator("#draft")).to_have_value(re.compile("^山田様"))
    no_horizontal_scroll(page)
    shot(page, "desk-intake")
    # The agent's own choice wins over the guess.
    page.select_option("#ticket", "not_arrived")
    expect(page.locator("#ticket-guessed")).to_be_hidden()
    before = page.locator("#result").get_attribute("data-renders") or "0"
    page.click("#run")
    expect(page.locator("#result")).to_have_attribute("data-renders", str(int(before) + 1))
    expect(page.locator("#r-ticket")).to_have_text("メールが届かない")
    expect(page.locator("#ticket")).to_have_value("not_arrived")
    # A pasted bounce: the advice follows it as the draft does (it began with the
    # junk folder beside a draft saying the address takes no mail).
    before = page.locator("#result").get_attribute("data-renders") or "0"
    page.fill(
        "#input",
        "From: MAILER-DAEMON@mx.lentrance.jp\n"
        "Message-ID: <20261207.0A3541FB98@mx.lentrance.jp>\n\n"
        "Hi. This is the qmail-send program at mx.lentrance.com.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        "<hanako@example.jp>:\nRemote host said: 550 5.1.1 User unknown\n",
    )
    page.click("#run")
    expect(page.locator("#result")).to_have_attribute("data-renders", str(int(before) + 1))
    expect(page.locator("#advice li").first).to_have_attribute("data-advice", "reregister")
    expect(page.locator("#advice li[data-advice='check_spam_folder']")).to_have_count(0)
    # The mail system's sender and a message id are no customer's address to offer.
    expect(page.locator("#intake .intake-address")).to_have_text("hanako@example.jp")
    expect(page.locator("#intake .others")).to_have_count(0)


def test_desk_tabs_are_tabs(desk: HarnessThread, page_at: Any) -> None:
    page = page_at()
    page.goto(f"{desk.http_url}/desk")
    tabs = page.locator("#desk-tabs [role=tab]")
    expect(tabs).to_have_count(3)
    expect(tabs.first).to_have_attribute("aria-selected", "true")
    tabs.first.focus()
    page.keyboard.press("ArrowRight")
    expect(tabs.nth(1)).to_be_focused()
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    expect(page.locator("#view-batch")).to_be_visible()
    page.keyboard.press("End")
    expect(page.locator("#view-history")).to_be_visible()
    page.keyboard.press("ArrowRight")  # wraps to the first
    expect(page.locator("#view-single")).to_be_visible()
    expect(page.locator("[role=tabpanel]:visible")).to_have_count(1)
