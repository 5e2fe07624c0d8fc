"""Ticket types: the table, their FAQ advice and reply drafts, and the CLI's --ticket."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.address.intake import UploadError, decode_upload, find_addresses, read_list
from maildoctor.advice import CATALOG, DEFAULT_SUBJECT
from maildoctor.cli import main
from maildoctor.diagnose.history import History, HistoryError
from maildoctor.mail.render import catalog
from maildoctor.tickets import CONTRACT_SUBJECTS, TICKETS, UnknownTicket, ticket

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CONTRACT_IDS = [
    "not_arrived",
    "already_registered",
    "reregister_after_withdrawal",
    "login_trouble",
    "customer_number",
    "sso_registration",
]


def test_the_contract_ids_in_order_default_first() -> None:
    assert list(TICKETS) == CONTRACT_IDS
    assert ticket(None).id == ticket("").id == "not_arrived"


@pytest.mark.parametrize("ticket_id", CONTRACT_IDS)
def test_each_type_points_at_real_data(ticket_id: str) -> None:
    kind = TICKETS[ticket_id]
    assert all(a in CATALOG for a in kind.advice)
    info = catalog(None)[kind.template]
    assert info.subject == CONTRACT_SUBJECTS[kind.template]
    if kind.variant is not None:
        assert kind.variant in {v.name for v in info.variants}
    assert (TEMPLATES / kind.reply).is_file()
    assert (TEMPLATES / kind.reply.replace("replies/", "replies/en/")).is_file()
    assert kind.label["ja"] and kind.label["en"] and kind.says["ja"] and kind.says["en"]


def test_contract_subjects_are_one_table() -> None:
    # shared/DESIGN.md "Notification templates"; advice's default names the FAQ's mail.
    assert CONTRACT_SUBJECTS == {
        "provisional_registration": "[Lentrance]仮登録完了のお知らせ",
        "registration_complete": "[Lentrance]会員登録完了のお知らせ",
        "password_reset": "[Lentrance]パスワード再設定のお知らせ",
        "withdrawal_complete": "[Lentrance]退会手続き完了のお知らせ",
    }
    assert CONTRACT_SUBJECTS["provisional_registration"] == DEFAULT_SUBJECT


def test_unknown_ticket_names_the_known_ones() -> None:
    with pytest.raises(UnknownTicket, match="not_arrived, already_registered"):
        ticket("lost_password")


def reply(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["check", "--offline", "--reply", *args])
    return result.exit_code, result.stdout, result.stderr


#: What each ticket's draft must say (from the FAQ), and the mail it names.
EXPECTED = {
    "not_arrived": (
        "「[Lentrance]仮登録完了のお知らせ」のメールが届かない件",
        "迷惑メールフォルダ",
    ),
    "already_registered": (
        "新たに会員登録する必要はございません",
        "[パスワードをお忘れの方/ロック解除はこちら]",
    ),
    "reregister_after_withdrawal": (
        "退会時と同じメールアドレスで再登録することができます",
        "復旧されません",
    ),
    "login_trouble": ("CapsLockやNumLock", "オートコンプリート"),
    "customer_number": ("「[Lentrance]会員登録完了のお知らせ」メール", "大切に保管してください"),
    "sso_registration": ("Apple、Google、MicrosoftのID", "「[Lentrance]仮登録完了のお知らせ」"),
}


@pytest.mark.parametrize("ticket_id", CONTRACT_IDS)
def test_check_reply_per_ticket_on_a_plain_address(ticket_id: str) -> None:
    code, out, err = reply("taro@gmail.com", "--ticket", ticket_id)
    assert code == 0, err
    for phrase in EXPECTED[ticket_id]:
        assert phrase in out
    assert out.startswith("お客様\n")
    assert "Lentranceカスタマーサポート" in out
    if ticket_id != "not_arrived":
        # A fine address: the mailbox checklist is not part of a non-delivery ticket's answer.
        assert "ドメイン受信設定" not in out


def test_a_carrier_address_adds_mail_help_naming_the_tickets_mail() -> None:
    code, out, _ = reply("taro@docomo.ne.jp", "--ticket", "login_trouble")
    assert code == 1
    assert "「[Lentrance]パスワード再設定のお知らせ」のメールが届かない場合は" in out
    assert "受信リスト設定" in out  # docomo's own steps
    assert "件名は「[Lentrance]パスワード再設定のお知らせ」です" in out
    assert "仮登録完了" not in out


def test_a_typo_is_still_pointed_out() -> None:
    _, out, _ = reply("taro@gmial.com", "--ticket", "reregister_after_withdrawal")
    assert "taro@gmail.com" in out


def test_ticket_without_reply_is_a_usage_error() -> None:
    result = CliRunner().invoke(
        main, ["check", "a@gmail.com", "--offline", "--ticket", "login_trouble"]
    )
    assert result.exit_code == 2
    assert "--reply" in result.stderr


def test_unknown_ticket_is_exit_2() -> None:
    result = CliRunner().invoke(main, ["check", "a@gmail.com", "--reply", "--ticket", "nope"])
    assert result.exit_code == 2
    assert "not_arrived" in result.stderr


@pytest.mark.parametrize(
    ("ticket_id", "template", "first_advice"),
    [
        ("not_arrived", "provisional_registration", "check_spam_folder"),
        ("already_registered", "password_reset", "already_registered"),
        ("reregister_after_withdrawal", "provisional_registration", "withdrawn_reregister"),
        ("login_trouble", "password_reset", "login_check_input"),
        ("customer_number", "registration_complete", "customer_number_where"),
        ("sso_registration", "provisional_registration", "sso_login"),
    ],
)
def test_diagnose_ticket_tries_the_tickets_mail(
    tmp_path: Path, ticket_id: str, template: str, first_advice: str
) -> None:
    result = CliRunner().invoke(
        main,
        [
            "diagnose",
            "taro@docomo.ne.jp",
            "--offline",
            "--format",
            "json",
            "--ticket",
            ticket_id,
            "--db",
            str(tmp_path / "h.sqlite3"),
        ],
    )
    assert result.exit_code == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["ticket"] == ticket_id
    assert data["trial"]["template"] == template
    assert data["advice"][0] == first_advice
    # docomo files filtered mail as junk: the mailbox advice follows the ticket's own.
    assert "check_spam_folder" in data["advice"]


def test_sso_ticket_sends_the_sso_variant(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "h.sqlite3"
    result = CliRunner().invoke(
        main,
        ["diagnose", "a@gmail.com", "--offline", "--ticket", "sso_registration", "--db", str(db)],
    )
    assert result.exit_code == 0, result.stderr
    with sqlite3.connect(db) as conn:
        (raw,) = conn.execute("select raw from messages order by id desc limit 1").fetchone()
    from email import message_from_bytes, policy

    msg = message_from_bytes(raw, policy=policy.default)
    assert "/register/sso/complete" in msg.get_body(("plain",)).get_content()


def test_english_reply_draft() -> None:
    from maildoctor.address.check import check_offline
    from maildoctor.diagnose.reply import format_ticket_reply

    out = format_ticket_reply(check_offline("a@gmail.com"), ticket("customer_number"), lang="en")
    assert out.startswith("Dear customer,")
    assert "[Lentrance]会員登録完了のお知らせ" in out
    out = format_ticket_reply(check_offline("a@docomo.ne.jp"), ticket("not_arrived"), lang="en")
    assert "receive list" in out.lower() or "Receive" in out


# -- intake --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("メールアドレスはtaro@docomo.ne.jpです。よろしく", ["taro@docomo.ne.jp"]),
        ("登録: ｔａｒｏ＠ｇｍａｉｌ．ｃｏｍ お願いします", ["ｔａｒｏ＠ｇｍａｉｌ．ｃｏｍ"]),
        ("a@x.jp, b@y.co.jp and a@x.jp again.", ["a@x.jp", "b@y.co.jp"]),
        ("taro..yamada.@docomo.ne.jp", ["taro..yamada.@docomo.ne.jp"]),
        ("アドレスがありません", []),
    ],
    ids=["in-japanese", "full-width", "dedup", "legacy-dots", "none"],
)
def test_find_addresses(text: str, expected: list[str]) -> None:
    assert find_addresses(text) == expected


def test_decode_upload_utf8_bom_and_cp932() -> None:
    text = "メールアドレス,名前\r\ntaro@docomo.ne.jp,山田太郎\r\n"
    assert decode_upload(text.encode("cp932")) == (text, "cp932")
    assert decode_upload(text.encode("utf-8")) == (text, "utf-8")
    assert decode_upload(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "utf-8-sig")
    tsv = "メールアドレス\t名前\r\ntaro@docomo.ne.jp\t山田\r\n"
    assert decode_upload(tsv.encode("utf-16")) == (tsv, "utf-16")  # Excel's Unicode text
    assert read_list(tsv) == [{"address": "taro@docomo.ne.jp", "名前": "山田"}]
    with pytest.raises(UploadError):
        decode_upload(b"\x81\x20\xff\xfe")
    # Strict like check --file (one reader): no U+FFFD after a BOM, no binary as text.
    for broken in (b"\xef\xbb\xbfa@x.jp\xff", b"a@x.jp\x00"):
        with pytest.raises(UploadError):
            decode_upload(broken)


def test_read_list_csv_keeps_columns_and_plain_lists() -> None:
    rows = read_list("名前,メールアドレス\r\n山田,taro@docomo.ne.jp\r\n\r\n佐藤,hanako@au.com\r\n")
    assert rows == [
        {"address": "taro@docomo.ne.jp", "名前": "山田"},
        {"address": "hanako@au.com", "名前": "佐藤"},
    ]
    assert read_list("a@x.jp\n\n b@y.jp \n") == [{"address": "a@x.jp"}, {"address": "b@y.jp"}]


# -- history -------------------------------------------------------------------


def entry(address: str, verdict: str = "ok") -> dict:
    return {
        "ticket": "not_arrived",
        "check": {"address": address, "normalized": address.lower(), "verdict": verdict},
        "advice": ["check_spam_folder"],
        "reply_draft": f"draft for {address}",
    }


def test_history_newest_first_search_and_retention(tmp_path: Path) -> None:
    history = History(tmp_path / "d.sqlite3", max_entries=3)
    ids = [
        history.add(entry(a), lang="ja")
        for a in ("A@docomo.ne.jp", "b@au.com", "c_d@x.jp", "e@docomo.ne.jp")
    ]
    assert [e.id for e in history.search()] == ids[:0:-1]  # the oldest was pruned
    assert history.get(ids[0]) is None
    assert [e.address for e in history.search("DOCOMO")] == ["e@docomo.ne.jp"]
    assert [e.address for e in history.search("_")] == ["c_d@x.jp"]  # LIKE wildcards are literal
    assert history.count("%") == 0
    full = history.get(ids[-1])
    assert full is not None and full.result == entry("e@docomo.ne.jp")
    assert full.draft == "draft for e@docomo.ne.jp"
    assert full.advice == ("check_spam_folder",)


def test_a_broken_history_file_is_one_line_per_operation(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match=r"^Cannot open the desk history .*isdir"):
        (tmp_path / "isdir").mkdir()
        History(tmp_path / "isdir")
    path = tmp_path / "d.sqlite3"
    history = History(path)
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(HistoryError, match=r"^Cannot read the desk history .*not a database"):
        history.search()
    with pytest.raises(HistoryError, match=r"^Cannot write to the desk history .*not a database"):
        history.add(entry("a@x.jp"), lang="ja")
