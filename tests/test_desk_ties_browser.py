"""The desk shows a tie ("one of" two or three domains) in real headless Chromium, at 1280
and 390 px in Japanese: the candidates beside the facts, no suggestion, a reply draft that
names none of them. Screenshots go to tests/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from maildoctor.address.typos import suggest_domain
from maildoctor.harness.server import HarnessThread
from tests import test_desk_answer_browser as desk_answer
from tests import test_desk_browser as desk_tests
from tests.test_desk_browser import DESKTOP, PHONE, diagnose, no_horizontal_scroll, shot

page_at = desk_tests.page_at  # the fixture: a page at a viewport, failing on script errors
desk = desk_answer.desk  # the desk on the loopback DNS server

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_a_tie_is_shown_as_one_of(desk: HarnessThread, page_at: Any, viewport: Any) -> None:
    tie = suggest_domain("tuus.ac.jp")
    assert tie is not None and tie.is_tie
    page = page_at(viewport)
    page.goto(f"{desk.http_url}/desk")
    diagnose(page, "taro@tuus.ac.jp")
    facts = page.locator("#r-facts")
    expect(facts).to_contain_text("入力ミスの候補(いずれか・要確認)")
    expect(facts.locator("dd")).to_contain_text([" / ".join(tie.candidates)])
    expect(facts).not_to_contain_text("修正候補")  # no suggestion
    expect(page.locator("#findings")).to_contain_text("typo_ambiguous")
    # the address comes first: the customer checks it, before any mailbox setting
    expect(page.locator("#advice .advice-title").first).to_have_text(
        "メールアドレスを一文字ずつ確認する"
    )
    draft = page.locator("#draft").input_value()
    assert "taro@tuus.ac.jp" in draft
    assert not any(c in draft for c in tie.candidates)
    no_horizontal_scroll(page)
    shot(page, "desk-tie")
