"""The paste reader: what agents paste, read into the customer's address, name and ticket.

Pure tests of :func:`maildoctor.diagnose.paste.read_paste` on the shapes the issue
names; the desk and CLI wiring is tested in test_desk_api.py and test_diagnose.py,
the accuracy on the held-out tickets is printed by bench/paste_bench.py.
"""

from __future__ import annotations

import time

import pytest

from bench.paste_eval import tuning
from maildoctor.address.repair import repair
from maildoctor.diagnose.paste import MAX_PASTE, read_paste, salutation


@pytest.mark.parametrize(
    ("text", "address", "kind"),
    [
        (
            "登録したアドレスはtaro@docomo.ne.jpです。仮登録メールが届きません。",
            "taro@docomo.ne.jp",
            "prose",
        ),
        ("taro@docomo.ne.jp", "taro@docomo.ne.jp", "address"),
        (" 「taro@docomo.ne.jp」 ", "taro@docomo.ne.jp", "address"),
        ("アドレス（ｔａｒｏ＠ｇｍａｉｌ．ｃｏｍ）です", "ｔａｒｏ＠ｇｍａｉｌ．ｃｏｍ", "prose"),
        ("アドレスはtaro@gmailーcomです", "taro@gmailーcom", "prose"),
        ("アドレスはtaro@gmail、comです", "taro@gmail、com", "prose"),
        ("メール：taro@docomo.ne.jp。よろしく", "taro@docomo.ne.jp", "prose"),
    ],
    ids=["prose", "bare", "brackets", "full-width", "long-vowel", "comma", "colon"],
)
def test_the_address_in_what_was_pasted(text: str, address: str, kind: str) -> None:
    paste = read_paste(text)
    assert paste.address == address
    assert paste.kind == kind


def test_an_address_missing_its_ending_when_nothing_else_is_there() -> None:
    assert read_paste("アドレスはtaro@gmailです。届きません").address == "taro@gmail"
    assert read_paste("taro@gmail と a@docomo.ne.jp").address == "a@docomo.ne.jp"
    assert read_paste("アドレスはわかりません").address is None


def test_ime_slips_are_undone_for_the_candidates() -> None:
    paste = read_paste("アドレスはtaro@gmail、comです")
    assert paste.candidates[0].normalized == "taro@gmail.com"
    assert repair("taro@gmail、com") == "taro@gmail.com"  # the one normaliser, reused


@pytest.mark.parametrize(
    ("text", "chosen", "reason"),
    [
        (
            "以前のアドレスa@au.comから、新しいアドレスb@docomo.ne.jpに変えました",
            "b@docomo.ne.jp",
            "cue",
        ),
        (
            "登録したのはb@docomo.ne.jpです。このメールは会社のa@example.co.jpから送っています",
            "b@docomo.ne.jp",
            "cue",
        ),
        (
            "support@lentrance.com に送りましたが、私のアドレスはb@docomo.ne.jpです",
            "b@docomo.ne.jp",
            "not_ours",
        ),
        ("a@au.com と b@docomo.ne.jp のどちらかです", "a@au.com", "first"),
        ("旧アドレス：a@au.com\nb@docomo.ne.jp", "b@docomo.ne.jp", "others"),
    ],
    ids=["new-over-old", "registered-over-work", "not-ours", "first", "others-avoided"],
)
def test_several_addresses_choose_with_a_reason(text: str, chosen: str, reason: str) -> None:
    paste = read_paste(text)
    assert paste.address == chosen
    assert paste.reason == reason
    assert len(paste.candidates) == 2
    assert paste.chosen_because("ja") and paste.chosen_because("en")


@pytest.mark.parametrize(
    ("text", "name", "greeting"),
    [
        ("山田太郎です。taro@docomo.ne.jpに届きません", "山田太郎", "山田様"),
        ("山田と申します。taro@docomo.ne.jp", "山田", "山田様"),
        ("お世話になります。佐々木です。taro@docomo.ne.jp", "佐々木", "佐々木様"),
        ("taro@docomo.ne.jpに届きません。\n\n鈴木 一郎", "鈴木 一郎", "鈴木様"),
        ("小鳥遊ひなたと申します。taro@docomo.ne.jp", "小鳥遊ひなた", "小鳥遊ひなた様"),
        ("お名前：高橋 直美\nメールアドレス：naomi@au.com", "高橋 直美", "高橋様"),
        ("My name is Taro Yamada. taro@docomo.ne.jp", "Taro Yamada", "Taro Yamada様"),
        ("登録済みです。taro@docomo.ne.jp", None, "お客様"),
        ("以上です。taro@docomo.ne.jp", None, "お客様"),
        ("taro@docomo.ne.jpに届きません。よろしくお願いします。", None, "お客様"),
    ],
)
def test_the_customers_name_and_salutation(text: str, name: str | None, greeting: str) -> None:
    paste = read_paste(text)
    assert paste.name == name
    assert paste.salutation("ja") == greeting


def test_english_salutation_and_default() -> None:
    assert salutation("Yamada", "en") == "Dear Yamada,"
    assert salutation(None, "en") == "Dear customer,"
    assert salutation(None, "ja") == "お客様"


@pytest.mark.parametrize(
    ("text", "ticket", "guessed"),
    [
        ("仮登録メールが届きません", "not_arrived", True),
        ("「このメールアドレスはすでに登録されています」と出ます", "already_registered", True),
        ("退会したのですが同じアドレスで再登録できますか", "reregister_after_withdrawal", True),
        ("パスワード再設定のメールが届きません", "login_trouble", True),
        ("お客様番号がわかりません", "customer_number", True),
        ("AppleのIDで登録しました", "sso_registration", True),
        ("I registered with my Google account", "sso_registration", True),
        ("I forgot my password", "login_trouble", True),
        ("ログインできません。Gmailのアドレスです", "login_trouble", True),
        ("よろしくお願いします", "not_arrived", False),
        ("The lesson was fine", "not_arrived", False),  # "sso" only as a word
    ],
)
def test_the_ticket_type_from_the_words(text: str, ticket: str, guessed: bool) -> None:
    paste = read_paste(text + " taro@docomo.ne.jp")
    assert paste.ticket_type == ticket
    assert paste.ticket_type_guessed is guessed


def test_a_forwarded_lentrance_mail_and_an_export() -> None:
    forwarded = read_paste(
        "パスワードを忘れました。\n-----Original Message-----\n"
        "差出人: Lentrance <no-reply@lentrance.com>\n送信日時: 2026年12月1日 9:41\n"
        "宛先: hanako@au.com\n件名: [Lentrance]パスワード再設定のお知らせ\n\n本文"
    )
    assert forwarded.kind == "forwarded"
    assert forwarded.address == "hanako@au.com"
    assert forwarded.reason == "header_to"
    assert forwarded.mail is not None and forwarded.mail.date == "2026年12月1日 9:41"
    assert forwarded.name is None  # 本文 is the forwarded mail's, not a signature
    assert forwarded.ticket_type == "login_trouble"
    export = read_paste(
        "From: =?UTF-8?B?5bGx55Sw5aSq6YOO?= <taro@docomo.ne.jp>\nTo: support@lentrance.com\n"
        "Subject: help\nDate: Tue, 01 Dec 2026 08:15:00 +0900\n\nお客様番号がわかりません"
    )
    assert (export.kind, export.address, export.reason) == (
        "forwarded",
        "taro@docomo.ne.jp",
        "header_from",
    )
    assert export.name == "山田太郎"  # the From display name, MIME-decoded
    assert export.salutation("ja") == "山田様"
    assert export.ticket_type == "customer_number"


def test_a_pasted_bounce_is_explained() -> None:
    paste = read_paste(
        "Hi. This is the qmail-send program at mx.lentrance.com.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        "<hanako@au.com>:\nRemote host said: 552 5.2.2 Mailbox full\n"
    )
    assert paste.kind == "bounce"
    assert paste.address == "hanako@au.com"
    assert paste.bounce[0].reason == "mailboxfull"
    intake = paste.to_dict("ja")
    assert intake["bounce"][0]["recipient"] == "hanako@au.com"
    assert intake["bounce"][0]["summary"]


def test_a_bounces_system_sender_and_message_ids_are_no_candidates() -> None:
    """A pasted bounce quotes MAILER-DAEMON and Message-IDs: the desk offered them as
    other addresses to diagnose."""
    paste = read_paste(
        "From: MAILER-DAEMON@smtp.example.com (Mail Delivery System)\n"
        "Message-Id: <20140621183516.0A3541FB98@smtp.example.com>\n"
        "References: <a1@mail.lentrance.com>\n\n"
        "<hanako@au.com>:\nRemote host said: 552 5.2.2 Mailbox full\n"
        "From: Postmaster@au.com\n"
    )
    assert [c.address for c in paste.candidates] == ["hanako@au.com"]


def test_prose_with_error_words_and_a_code_is_not_a_bounce() -> None:
    paste = read_paste("ログインすると550エラーになります。taro@docomo.ne.jp")
    assert paste.kind == "prose" and not paste.bounce


def test_every_reply_draft_greets_with_the_default_salutation() -> None:
    """:func:`maildoctor.diagnose.paste.answer` puts the name in place of this first line,
    in the draft of every ticket type in both languages and in the bounce draft."""
    from maildoctor.address.check import check_offline
    from maildoctor.bounce.report import format_reply
    from maildoctor.diagnose.reply import format_ticket_reply
    from maildoctor.tickets import TICKETS

    result = check_offline("taro@docomo.ne.jp")
    for kind in TICKETS.values():
        for lang in ("ja", "en"):
            draft = format_ticket_reply(result, kind, lang=lang)
            assert draft.startswith(salutation(None, lang) + "\n"), (kind.id, lang)
    bounce = read_paste(
        "Hi. This is the qmail-send program at mx.lentrance.com.\n"
        "<hanako@au.com>:\nRemote host said: 552 5.2.2 Mailbox full\n"
    ).bounce
    for lang in ("ja", "en"):
        draft = format_reply(bounce[0], lang=lang)
        assert draft.startswith(salutation(None, lang) + "\n"), lang


def test_the_tuning_tickets_are_read_right() -> None:
    """The tuning part of bench/paste_eval (the held-out part is only printed by the bench)."""
    cases = tuning.cases_with_hand()
    assert len(cases) >= 90
    right = {"address": 0, "type": 0, "name": 0}
    for case in cases:
        paste = read_paste(case["text"])
        right["address"] += repair(paste.address or "") == repair(case["address"])
        right["type"] += paste.ticket_type == case["type"]
        right["name"] += (paste.name or "").replace(" ", "") == (case["name"] or "").replace(
            " ", ""
        )
    assert all(count >= 0.95 * len(cases) for count in right.values()), right


def test_the_largest_paste_is_read_in_linear_time() -> None:
    """A hostile paste of the largest size is read, and gives the address after it."""
    for blob in ("a" * MAX_PASTE, "山田" * (MAX_PASTE // 2), "From: x\n" * (MAX_PASTE // 8)):
        text = blob[: MAX_PASTE - 40] + " taro@docomo.ne.jp"
        started = time.perf_counter()
        paste = read_paste(text)
        assert paste.address == "taro@docomo.ne.jp"
        assert time.perf_counter() - started < 5  # quadratic would be minutes


def test_the_address_a_hostile_paste_yields_is_checked_without_a_crash() -> None:
    """The longest address a paste can hold, of every shape: one clear verdict (the
    subdomain rule recursed once per label and walked every suffix: a RecursionError,
    then seconds). Times are printed by bench/scan_bench.py."""
    from maildoctor.address.check import check_offline

    n = MAX_PASTE - 20
    for raw in (
        "a@" + "b." * (n // 2) + "jp",
        "a@" + "b-" * (n // 2) + ".jp",
        "a" * n + "@docomo.ne.jp",
        "a@" + "b" * n + ".jp",
    ):
        paste = read_paste(raw)
        assert paste.address is not None
        result = check_offline(paste.address)
        assert result.verdict == "undeliverable"
        assert result.suggestion is None
