"""The live preview in Debian's Chromium: widths, dark and inverted views, the old-phone
view, a broken template's error and the reload on save (a template file in a temporary
folder is edited and the open page follows). Screenshots go to tests/screenshots/."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import SCREENSHOTS, text_lines
from tests.previewproc import running_preview

pytestmark = pytest.mark.browser

REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO_TEMPLATES, tmp_path / "templates"))


@pytest.fixture
def url(folder: Path) -> Iterator[str]:
    with running_preview(folder, overrides={"customer_number": "①234-5839"}) as base:
        yield base


def _frame_text(page: Any) -> str:
    return str(page.frame_locator("#mail-frame").locator("body").inner_text())


def test_widths_dark_inverted_and_phone_layout(browser: Any, url: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/preview?template=provisional_registration&variant=email&view=html")
    expect(page.frame_locator("#mail-frame").locator("body")).to_contain_text(
        "仮登録が完了しました", timeout=15_000
    )
    expect(page.locator("#subject")).to_have_text("[Lentrance]仮登録完了のお知らせ")
    expect(page.locator("#live")).to_have_class("on", timeout=15_000)
    for width in (390, 768, 1280):
        page.click(f"#widths button[data-width='{width}']")
        frame = page.locator("#mail-frame")
        expect(frame).to_have_attribute("style", f"width: {width}px;")
        assert frame.bounding_box()["width"] == pytest.approx(width, abs=2)
        page.screenshot(path=str(SCREENSHOTS / f"preview-html-{width}.png"), full_page=True)
    page.click("#widths button[data-width='390']")
    page.click("#views button[data-view='dark']")
    expect(page.locator("#mail-frame")).to_have_attribute(
        "src", "/api/preview/provisional_registration/html?variant=email&v=0&mode=dark"
    )
    expect(page.locator("#frame-box")).to_have_class("dark")
    page.screenshot(path=str(SCREENSHOTS / "preview-dark-390.png"), full_page=True)
    page.click("#views button[data-view='inverted']")
    # show() fetches before it restyles: wait for the style, do not read it at once
    expect(page.locator("#mail-frame")).to_have_css("filter", "invert(1) hue-rotate(180deg)")
    page.screenshot(path=str(SCREENSHOTS / "preview-inverted-390.png"), full_page=True)
    # The page itself on a phone: the template list above, no sideways scrolling.
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(url + "/preview?template=password_reset&view=html&width=390")
    expect(phone.frame_locator("#mail-frame").locator("body")).to_contain_text("パスワード")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 392
    phone.screenshot(path=str(SCREENSHOTS / "preview-page-390.png"), full_page=True)
    page.close()
    phone.close()


def test_dark_rendering_applies_the_mails_dark_rules(browser: Any, folder: Path) -> None:
    layout = folder / "_layout.html.j2"
    layout.write_text(
        layout.read_text("utf-8").replace(
            "</head>",
            '<meta name="color-scheme" content="light dark">\n<style>@media '
            "(prefers-color-scheme: dark) { .brand { background-color: #000000 !important; } }"
            "</style>\n</head>",
        ),
        "utf-8",
    )
    with running_preview(folder) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/preview?template=password_reset&view=dark&width=768")
        brand = page.frame_locator("#mail-frame").locator("td.brand")
        expect(brand).to_have_css("background-color", "rgb(0, 0, 0)")
        page.screenshot(path=str(SCREENSHOTS / "preview-dark-declared-768.png"), full_page=True)
        page.click("#views button[data-view='html']")
        brand = page.frame_locator("#mail-frame").locator("td.brand")
        expect(brand).not_to_have_css("background-color", "rgb(0, 0, 0)")
        page.close()


def test_old_phone_view_marks_characters_outside_jis_x0208(browser: Any, url: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/preview?template=registration_complete&view=iso")
    mark = page.locator("#iso-text .garbled").first
    expect(mark).to_have_text("〓")
    expect(mark).to_have_attribute("title", "① U+2460")
    expect(page.locator("#iso-summary")).to_contain_text("①")
    expect(page.locator("#iso-raw")).to_contain_text("cannot be encoded in iso-2022-jp")
    page.screenshot(path=str(SCREENSHOTS / "preview-iso-1280.png"), full_page=True)
    page.click("#views button[data-view='checks']")
    expect(page.locator("#clients tbody tr").first).to_be_visible()
    expect(page.locator("#carrier-notes")).to_contain_text("auメール")
    # The checks speak Japanese on the Japanese page (they were English, "error: ...").
    expect(page.locator("#lint li").first).to_contain_text("エラー: customer_number_missing: ")
    expect(page.locator("#lint")).to_contain_text("お客様番号")
    expect(page.locator("#lint")).not_to_contain_text("The registration_complete mail")
    expect(page.locator("#display-summary")).not_to_contain_text("start the preview")
    page.screenshot(path=str(SCREENSHOTS / "preview-checks-1280.png"), full_page=True)
    page.click("#lang-switch")  # English one click away, the same data
    expect(page.locator("#views button[data-view='iso']")).to_have_text("ISO-2022-JP (old phones)")
    expect(page.locator("#carrier-notes")).to_contain_text("au mail")
    expect(page.locator("#lint li").first).to_contain_text("error: customer_number_missing: The")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("テンプレートプレビュー")
    page.close()


def test_live_reload_on_save_and_recovery_from_a_broken_template(
    browser: Any, url: str, folder: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/preview?template=password_reset&view=html")
    expect(page.locator("#live")).to_have_class("on", timeout=15_000)
    body = page.frame_locator("#mail-frame").locator("body")
    expect(body).to_contain_text("パスワード再設定")
    page.evaluate("window.notReloaded = true")
    html = folder / "password_reset" / "body.html.j2"
    original = html.read_text("utf-8")
    html.write_text(
        original.replace("{% block content %}", "{% block content %}<p>保存で更新</p>"), "utf-8"
    )
    expect(body).to_contain_text("保存で更新", timeout=10_000)
    # A syntax error: the error with its file and line, the mail hidden.
    html.write_text(
        original.replace("{% block content %}", "{% block content %}\n{% if %}"), "utf-8"
    )
    expect(page.locator("#error")).to_be_visible(timeout=10_000)
    expect(page.locator("#error-where")).to_have_text("password_reset/body.html.j2:3")
    expect(page.locator("#error-excerpt .bad")).to_contain_text("{% if %}")
    page.screenshot(path=str(SCREENSHOTS / "preview-error-1280.png"), full_page=True)
    # The next save recovers, in the same page (never reloaded).
    html.write_text(
        original.replace("{% block content %}", "{% block content %}<p>直りました</p>"), "utf-8"
    )
    expect(page.locator("#error")).to_be_hidden(timeout=10_000)
    expect(body).to_contain_text("直りました", timeout=10_000)
    assert page.evaluate("window.notReloaded") is True
    page.close()


def test_checks_show_the_carrier_display(browser: Any, folder: Path) -> None:
    from functools import partial

    from maildoctor.sender.carrier_display import carrier_display
    from tests.dnsserver import ZONES_DIR, DNSTestServer

    with DNSTestServer.from_files(ZONES_DIR / "sender.zone") as dns:
        display = partial(carrier_display, nameservers=[dns.nameserver], timeout=2)
        with running_preview(folder, display=display) as base:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(base + "/preview?template=password_reset&view=checks")
            docomo = page.locator("#display li[data-receiver='docomo']")
            expect(docomo).to_contain_text("このメールは送信ドメイン認証が行われておりません")
            expect(docomo).to_have_class("treatment-warning_banner")
            expect(page.locator("#display-summary")).to_contain_text("lentrance.com")
            assert page.evaluate("document.documentElement.scrollWidth") <= 392
            page.screenshot(path=str(SCREENSHOTS / "preview-checks-390.png"), full_page=True)
            page.close()


def test_client_support_header_holds_at_both_widths_in_the_pages_language(
    browser: Any, url: str
) -> None:
    """The score's column heading is whole (it read "スコ / ア"), the overall score and
    the data's date are each whole, and the date label is Japanese on the Japanese page
    (it was "(data of ...)"); the JSON twin words it in its ``lang`` too."""
    from maildoctor.mail.caniemail import caniemail_release

    data = caniemail_release()
    ja_label = f"caniemail {data.package}、{data.date} 時点のデータ"
    with urllib.request.urlopen(url + "/api/preview/registration_complete?lang=ja") as r:
        clients = json.load(r)["clients"]
    assert clients["data_version"] == ja_label
    assert (clients["caniemail"], clients["data_date"]) == (data.package, data.date)
    SCREENSHOTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="ja-JP")
        page = context.new_page()
        page.goto(url + "/preview?template=registration_complete&view=checks")
        expect(page.locator("#clients tbody tr").first).to_be_visible()
        expect(page.locator("#clients-summary .data-version")).to_have_text(ja_label)
        expect(page.locator("#clients-summary")).not_to_contain_text("data of")
        expect(page.locator("#clients th").nth(1)).to_have_text("スコア")
        assert text_lines(page, "#clients th") == [1, 1, 1, 1]
        assert text_lines(page, "#clients-summary span") == [1, 1]
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        page.locator("#pane-checks").screenshot(
            path=str(SCREENSHOTS / f"preview-clients-{width}.png")
        )
        page.click("#lang-switch")
        expect(page.locator("#clients-summary .data-version")).to_have_text(
            f"caniemail {data.package} (data of {data.date})"
        )
        context.close()
