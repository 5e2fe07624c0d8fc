"""The support desk and the harness pages in a real headless Chromium (Debian's, via
Playwright), at a 1280 px desktop and a 390 px phone width, in Japanese.

Each flow saves screenshots under tests/screenshots/ (git-ignored) for a person to
look at; the assertions are what a support agent would check by eye.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from maildoctor.harness.server import HarnessThread
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig
from tests.conftest import SCREENSHOTS as SHOTS
from tests.conftest import text_lines

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def desk(tmp_path: Path, nameserver: str) -> Iterator[HarnessThread]:
    config = WebConfig(nameservers=(nameserver,), dns_timeout=2.0)
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        yield h


@pytest.fixture
def page_at(browser: Any) -> Iterator[Any]:
    """A new page at a given viewport; collects script errors, which fail the test."""
    opened: list[tuple[Any, Any, list[str]]] = []

    def make(viewport: dict[str, int] = DESKTOP, **options: Any) -> Any:
        """``options``: more of the context's, such as ``timezone_id``."""
        context = browser.new_context(viewport=viewport, locale="ja-JP", **options)
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        opened.append((context, page, errors))
        return page

    yield make
    for context, _, errors in opened:
        context.close()
        assert errors == []


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"{name}-{width}-screen.png"))  # what the eye sees first


def no_horizontal_scroll(page: Any) -> None:
    """The page itself fits the width (wide tables scroll inside their own box)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"page is {overflow}px wider than the viewport"


def diagnose(page: Any, text: str, ticket: str = "not_arrived") -> None:
    """Run one diagnosis and wait until its result (not the previous one) is shown."""
    before = page.locator("#result").get_attribute("data-renders") or "0"
    page.fill("#input", text)
    page.select_option("#ticket", ticket)
    page.click("#run")
    expect(page.locator("#result")).to_have_attribute(
        "data-renders", str(int(before) + 1), timeout=15000
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_diagnose_docomo_and_copy_the_draft(
    desk: HarnessThread, page_at: Any, viewport: dict[str, int]
) -> None:
    page = page_at(viewport)
    page.goto(f"{desk.http_url}/desk")
    expect(page.locator("h1")).to_have_text("maildoctor サポートデスク")
    expect(page.locator("#ticket option")).to_have_count(6)
    diagnose(page, "taro@docomo.ne.jp")
    expect(page.locator("#verdict")).to_have_text("注意(届かない可能性があります)")
    expect(page.locator("#r-address")).to_have_text("taro@docomo.ne.jp")
    rows = page.locator("#trial tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.nth(2)).to_contain_text("特定URL付メール拒否設定")
    expect(rows.nth(2).locator(".badge.junk")).to_have_text("迷惑メールフォルダに入る")
    expect(page.locator("#advice li").first).to_have_attribute("data-advice", "check_spam_folder")
    expect(page.locator("#advice")).to_contain_text("受信リスト設定")
    draft = page.locator("#draft").input_value()
    assert draft.startswith("お客様") and "受信リスト設定" in draft
    page.click("#copy")
    expect(page.locator("#copied")).to_have_text("コピーしました")
    assert page.evaluate("navigator.clipboard.readText()") == draft
    no_horizontal_scroll(page)
    shot(page, "desk-diagnose-docomo")


def test_each_ticket_type(desk: HarnessThread, page_at: Any) -> None:
    page = page_at()
    page.goto(f"{desk.http_url}/desk")
    expected = {
        "already_registered": "新たに会員登録する必要はございません",
        "reregister_after_withdrawal": "復旧されません",
        "login_trouble": "CapsLockやNumLock",
        "customer_number": "「[Lentrance]会員登録完了のお知らせ」",
        "sso_registration": "Apple、Google、MicrosoftのID",
    }
    for ticket, phrase in expected.items():
        diagnose(page, "hanako@gmail.com", ticket)
        expect(page.locator("#r-ticket")).to_have_text(
            page.locator(f"#ticket option[value={ticket}]").text_content() or ""
        )
        expect(page.locator("#draft")).to_have_value(_containing(phrase))
        expect(page.locator("#verdict")).to_have_text("問題なし")
    shot(page, "desk-ticket-sso")
    # The keyboard alone: Enter in a one-line input runs the diagnosis.
    before = page.locator("#result").get_attribute("data-renders")
    page.fill("#input", "taro@docomo.ne.jp")
    page.press("#input", "Enter")
    expect(page.locator("#result")).not_to_have_attribute("data-renders", before or "")
    expect(page.locator("#r-address")).to_have_text("taro@docomo.ne.jp")


def _containing(text: str) -> Any:
    import re

    return re.compile(".*" + re.escape(text) + ".*", re.S)


def test_ticket_text_with_two_addresses_and_english(desk: HarnessThread, page_at: Any) -> None:
    page = page_at(PHONE)
    page.goto(f"{desk.http_url}/desk")
    page.fill(
        "#input",
        "いつもお世話になっております。\n"
        "taro@gmial.com で登録しましたが、メールが届きません。\n予備: jiro@au.com",
    )
    page.click("#run")
    # The server reads the paste: the address the draft answers, and why; the other one.
    expect(page.locator("#intake .intake-address")).to_have_text("taro@gmial.com", timeout=15000)
    expect(page.locator("#intake")).to_contain_text("「で登録」と書かれたアドレスです。")
    expect(page.locator("#r-facts")).to_contain_text("taro@gmail.com")  # the suggestion
    expect(page.locator("#intake .pick")).to_have_count(1)
    shot(page, "desk-ticket-text")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("maildoctor support desk")
    expect(page.locator("#result")).to_have_attribute("data-lang", "en", timeout=15000)
    expect(page.locator("#verdict")).to_have_text("undeliverable")
    expect(page.locator("#draft")).to_have_value(_containing("Dear customer,"))
    before = page.locator("#result").get_attribute("data-renders") or "0"
    page.locator("#intake .pick").click()  # the other candidate
    expect(page.locator("#result")).to_have_attribute("data-renders", str(int(before) + 1))
    expect(page.locator("#intake .intake-address")).to_have_text("jiro@au.com")
    expect(page.locator("#intake")).to_contain_text("The agent picked it")
    expect(page.locator("#r-address")).to_have_text("jiro@au.com")
    page.click("#lang-switch")
    expect(page.locator("#copy")).to_have_text("返信文をコピー")


def test_batch_upload_of_a_cp932_csv(desk: HarnessThread, page_at: Any, tmp_path: Path) -> None:
    rows = [
        ("山田太郎", "taro@docomo.ne.jp"),
        ("佐藤花子", "hanako@gmial.com"),
        ("鈴木一郎", "ichiro@au.com"),
    ]
    # The input's own ticket column and a note a spreadsheet would run as a formula.
    notes = ['=HYPERLINK("http://x.example","x")', "+81 90", "@SUM(A1)"]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(["名前", "メールアドレス", "ticket", "メモ"])
    writer.writerows(
        [(n, a, "customer_number" if i == 2 else "T-1", notes[i]) for i, (n, a) in enumerate(rows)]
    )
    upload = tmp_path / "問い合わせ.csv"
    upload.write_bytes(text.getvalue().encode("cp932"))
    page = page_at()
    page.goto(f"{desk.http_url}/desk#batch")
    expect(page.locator("#view-batch")).to_be_visible()
    page.set_input_files("#batch-file", str(upload))
    page.click("#batch-run")
    expect(page.locator("#batch-count")).to_have_text("完了しました(3 件)", timeout=30000)
    assert page.locator("#batch-bar").evaluate("b => [b.value, b.max]") == [3, 3]
    table = page.locator("#batch-table tbody tr")
    expect(table).to_have_count(3)
    expect(table.nth(0)).to_contain_text("taro@docomo.ne.jp")
    expect(table.nth(1).locator(".verdict")).to_have_text("配信不可")
    shot(page, "desk-batch")
    with page.expect_download() as info:
        page.click("#download-csv")
    data = Path(info.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with a BOM
    assert data.endswith(b'"\r\n')  # CRLF records (the drafts keep their own lines)
    records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    # The input's columns as given, in its order, then the results (no second "ticket").
    assert records[0][:5] == ["名前", "メールアドレス", "ticket", "メモ", "maildoctor_verdict"]
    assert len(set(records[0])) == len(records[0])
    parsed = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["メールアドレス"] for r in parsed] == [a for _, a in rows]
    assert [r["名前"] for r in parsed] == [n for n, _ in rows]
    assert [r["ticket"] for r in parsed] == ["T-1", "T-1", "customer_number"]
    assert [r["maildoctor_ticket"] for r in parsed][2] == "customer_number"
    assert [r["メモ"] for r in parsed] == ["'" + n for n in notes]  # shown as text, not run
    assert parsed[1]["maildoctor_suggestion"] == "hanako@gmail.com"
    assert parsed[0]["maildoctor_reply_draft"].startswith("お客様")
    with page.expect_download() as info:
        page.click("#download-json")
    items = json.loads(Path(info.value.path()).read_text("utf-8"))
    assert [i["check"]["address"] for i in items] == [a for _, a in rows]
    page.set_viewport_size(PHONE)
    no_horizontal_scroll(page)
    shot(page, "desk-batch")


def test_history_search_and_permalink(desk: HarnessThread, page_at: Any) -> None:
    page = page_at(timezone_id="Asia/Tokyo")  # an agent in Japan
    page.goto(f"{desk.http_url}/desk")
    for address in ("taro@docomo.ne.jp", "hanako@gmail.com"):
        diagnose(page, address)
    page.click("#tab-history")
    rows = page.locator("#history-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("hanako@gmail.com")  # newest first
    page.fill("#history-q", "docomo")
    page.press("#history-q", "Enter")
    expect(rows).to_have_count(1)
    expect(page.locator("#history-total")).to_have_text("1 件")
    # The time is Tokyo's, named; at 1280 px neither it nor the address is split (the
    # address read "taro@docomo. / ne.jp" beside a wide advice column).
    expect(rows.first.locator("td.when")).to_have_text(re.compile(r"^2\d{3}/\d\d/\d\d .* JST$"))
    assert text_lines(page, "#history-table td.when, #history-table td.address") == [1, 1]
    shot(page, "desk-history")
    rows.first.locator("a").click()
    expect(page).to_have_url(_containing("/desk/history/"))
    expect(page.locator("#stored-note")).to_contain_text("保存された診断")
    expect(page.locator("#stored-note")).to_contain_text("JST")
    expect(page.locator("#r-address")).to_have_text("taro@docomo.ne.jp")
    expect(page.locator("#draft")).to_have_value(_containing("受信リスト設定"))
    permalink = page.url
    phone = page_at(PHONE)
    phone.goto(permalink)
    expect(phone.locator("#r-address")).to_have_text("taro@docomo.ne.jp")
    no_horizontal_scroll(phone)
    shot(phone, "desk-permalink")
    phone.click("#tab-history")
    expect(phone.locator("#history-table tbody tr")).to_have_count(2)
    # A card shows no label without a value (no agent, no ticket id given here).
    expect(phone.locator("#history-table td[data-label='担当者']").first).to_be_hidden()
    no_horizontal_scroll(phone)
    shot(phone, "desk-history")
    phone.goto(f"{desk.http_url}/desk/history/9999")
    expect(phone.locator("#form-error")).to_contain_text("見つかりません")


def test_evidence_link_opens_the_message(desk: HarnessThread, page_at: Any) -> None:
    page = page_at()
    page.goto(f"{desk.http_url}/desk")
    diagnose(page, "hanako@au.com")
    page.click("#sec-trial > summary")  # the trial table folds under the answer
    link = page.locator("#trial tbody tr").nth(1).locator("a.evidence")
    href = link.get_attribute("href")
    assert href is not None and href.startswith("/messages/")
    with page.context.expect_page() as info:
        link.click()
    message = info.value
    expect(message.locator("#detail-subject")).to_have_text("[Lentrance]仮登録完了のお知らせ")
    expect(message.locator("#detail-meta")).to_contain_text("hanako@au.com")
    message.click("#detail-tabs button[data-pane=decisions]")
    decision = message.locator("#detail-decisions tr.decision").first
    expect(decision.locator(".badge")).to_have_attribute("data-outcome", "rejected")
    expect(decision.locator(".badge")).to_have_text("拒否")
    expect(message.locator(".msg-row.selected")).to_have_count(1)
    shot(message, "harness-message")
    # Search narrows the list; the delete button removes that one message.
    count_js = "q => fetch('/api/messages?q=' + q).then(r => r.json()).then(x => x.length)"
    total = message.evaluate(count_js, "")
    matching = message.evaluate(count_js, "refuse_pc")
    assert 0 < matching < total
    message.fill("#search", "refuse_pc")
    expect(message.locator(".msg-row")).to_have_count(matching)
    expect(message).to_have_url(_containing("?q=refuse_pc"))
    shared = page_at()
    shared.goto(message.url)  # the filtered list, as a colleague opens the link
    expect(shared.locator(".msg-row")).to_have_count(matching)
    shot(message, "harness-search")
    message.on("dialog", lambda d: d.accept())
    message.click("#delete-one")
    expect(message.locator("#detail")).to_be_hidden()
    # The trials the evidence link opened stay shown (the list hides them by default).
    expect(message).to_have_url(f"{desk.http_url}/?q=refuse_pc&trials=1")
    message.fill("#search", "")
    expect(message.locator(".msg-row")).to_have_count(total - 1)
    assert message.locator(f".msg-row[data-id='{href.split('/')[-1]}']").count() == 0
    missing = page_at()
    missing.goto(f"{desk.http_url}{href}")
    expect(missing.locator("#detail-error")).to_contain_text("このメッセージはありません")


def test_harness_list_fits_and_templates_tab(desk: HarnessThread, page_at: Any) -> None:
    for address in ("taro.yamada.longname@docomo.ne.jp", "hanako@au.com"):
        page = page_at()
        page.goto(f"{desk.http_url}/desk")
        diagnose(page, address)
    for width in (1280, 1400):
        page = page_at({"width": width, "height": 900})
        page.goto(f"{desk.http_url}/?trials=1")  # the desk's trials: hidden by default
        expect(page.locator(".msg-row")).not_to_have_count(0)
        expect(page.locator("#tab-templates")).to_have_text("テンプレート")
        row = page.locator(".msg-row").first
        # Subject and outcome badges are whole, inside the list's box.
        box = page.locator("#list").bounding_box()
        for part in (row.locator(".subject"), row.locator(".badges .badge").first):
            b = part.bounding_box()
            assert b is not None and box is not None
            assert b["x"] + b["width"] <= box["x"] + box["width"] + 1
        subject = row.locator(".subject")
        assert subject.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
        row.click()
        shot(page, "harness-list")
    page.click("#tab-templates")
    expect(page.locator("#messages-view")).to_be_hidden()
    expect(page.locator("#templates-view")).to_be_visible()
    subjects = page.locator(".template-subject")
    expect(subjects.filter(has_text="[Lentrance]会員登録完了のお知らせ")).to_have_count(1)
    expect(page.locator(".card").first).to_be_visible()
    # Each card's checks are headed in the page's language (the heading was "lint").
    expect(page.locator(".card h4").nth(1)).to_have_text("チェック")
    shot(page, "harness-templates")
    phone = page_at(PHONE)
    phone.goto(f"{desk.http_url}/?trials=1")
    expect(phone.locator(".msg-row")).not_to_have_count(0)
    no_horizontal_scroll(phone)
    shot(phone, "harness-list")
    phone.click("#tab-templates")
    expect(phone.locator(".card").first).to_be_visible()
    no_horizontal_scroll(phone)
    shot(phone, "harness-templates")


def test_login_then_the_desk_works_with_its_csrf_token(
    tmp_path: Path, nameserver: str, page_at: Any
) -> None:
    from maildoctor.web.access import hash_password

    config = WebConfig(
        allow_remote=True, password_hash=hash_password("desk pass"), nameservers=(nameserver,)
    )
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        page = page_at(PHONE)
        page.goto(f"{h.http_url}/desk")
        expect(page).to_have_url(_containing("/login?next="))
        page.fill("#password", "wrong")
        page.click("button[type=submit]")
        expect(page.locator(".error")).to_contain_text("パスワードが違います")
        shot(page, "desk-login")
        page.fill("#password", "desk pass")
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{h.http_url}/desk")
        diagnose(page, "taro@docomo.ne.jp")  # a POST: carries X-CSRF-Token from the cookie
        expect(page.locator("#verdict")).to_have_text("注意(届かない可能性があります)")
        page.goto(f"{h.http_url}/?trials=1")
        expect(page.locator(".msg-row")).not_to_have_count(0)
        page.click("#lang-switch")
        expect(page.locator("#tab-templates")).to_have_text("Templates")
        page.on("dialog", lambda d: d.accept())
        page.click("#delete-all")  # a DELETE: the same token
        expect(page.locator(".msg-row")).to_have_count(0)
        page.click("#lang-switch")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_an_unknown_receive_list_retry_reads_unknown(
    tmp_path: Path, page_at: Any, viewport: dict[str, int]
) -> None:
    """SoftBank without DNS: the spoofing filter decides, so whether the receive list
    helps is unknown, and the row says so (never 「受信リストに登録しても届かない」)."""
    config = WebConfig(nameservers=None)  # lentrance.com's authentication: unknown
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        page = page_at(viewport)
        page.goto(f"{h.http_url}/desk")
        diagnose(page, "a@softbank.ne.jp")
        rows = page.locator("#trial tbody tr")
        expect(rows.first).to_contain_text("受信リストに登録して届くかは不明")
        expect(page.locator("#trial")).to_contain_text("受信リストに登録しても届かない")  # URL row
        page.locator("details:has(#trial) > summary").click()  # open the trial's section
        expect(rows.first).to_be_visible()
        shot(page, "desk-softbank-unknown-retry")
        no_horizontal_scroll(page)
