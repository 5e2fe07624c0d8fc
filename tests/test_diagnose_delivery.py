"""The delivery record in ``diagnose``: the record first, advice ranked by the evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.events import EventStore
from maildoctor.events.ingest import ingest_source

DATA = Path(__file__).parent / "data" / "events"
ESCALATE = "送信記録なし: 開発チームへエスカレーション"


@pytest.fixture(scope="module")
def events_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("events") / "events.sqlite3"
    with EventStore(db) as store:
        for name in ("postfix-maillog.log", "ses-bounce-sns.json", "sendgrid-events.json"):
            assert not ingest_source(store, str(DATA / name)).error
    return db


def diagnose(tmp_path: Path, address: str, db: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        [
            "diagnose",
            address,
            "--offline",
            "--db",
            str(tmp_path / "h.sqlite3"),
            "--events-db",
            str(db),
            "--events-days",
            "0",  # the samples' dates age; everything kept is searched
            *args,
        ],
    )
    return result.exit_code, result.stdout


def as_json(tmp_path: Path, address: str, db: Path, *args: str) -> dict:
    _, out = diagnose(tmp_path, address, db, "--format", "json", *args)
    return json.loads(out)


def test_accepted_mail_puts_the_mailbox_first(tmp_path: Path, events_db: Path) -> None:
    _, out = diagnose(tmp_path, "accept@docomo.ne.jp", events_db)
    first = out.split("1. ")[0]
    assert "配信記録" in first and "受信サーバーが受理" in first, out
    doc = as_json(tmp_path, "accept@docomo.ne.jp", events_db)
    delivery = doc["delivery"]
    assert delivery["verdict"] == "accepted"
    assert delivery["records"][0]["status"] == "sent"
    assert delivery["records"][0]["message_id"] == "m0@lentrance.test"
    searched = delivery["searched"]
    assert {s["source"] for s in searched["sources"]} == {"postfix", "ses", "sendgrid"}
    assert searched["since"] and searched["until"]
    assert doc["advice"][:3] == ["check_spam_folder", "carrier_settings", "allow_sender_domain"]


def test_markdown_opens_with_the_record(tmp_path: Path, events_db: Path) -> None:
    _, out = diagnose(tmp_path, "defer@softbank.ne.jp", events_db, "--format", "markdown")
    assert out.index("### 配信記録") < out.index("### 1.")
    assert "期限切れ(送信者へ返送)" in out


def test_a_hard_bounce_asks_for_another_address(tmp_path: Path, events_db: Path) -> None:
    doc = as_json(tmp_path, "Hanako@example.jp", events_db)
    assert doc["delivery"]["verdict"] == "bounced_hard"
    assert doc["delivery"]["suppressed"]["why"] == "hard_bounce"
    assert doc["advice"][0] == "use_other_address"
    assert "check_spam_folder" not in doc["advice"]
    assert "正しいメールアドレスで再度ご登録ください" in doc["reply_draft"]
    assert "迷惑メールフォルダ" not in doc["reply_draft"]


def test_a_delay_is_the_carriers_not_the_customers(tmp_path: Path, events_db: Path) -> None:
    doc = as_json(tmp_path, "defer@softbank.ne.jp", events_db)
    assert doc["delivery"]["verdict"] == "delayed"
    assert doc["delivery"]["records"][0]["status"] == "expired"
    assert doc["advice"][:2] == ["retry_later", "sender_side_fix"]
    assert "受け取りが一時的に遅れて" in doc["reply_draft"]
    # The reason in the agent's sentence is named in words, not Sisimai's id.
    reason = doc["delivery"]["records"][0]["reason"]
    assert reason == "blocked"
    assert "(送信元のブロック)" in doc["delivery"]["summary"]
    assert f"({reason})" not in doc["delivery"]["summary"]


def test_an_esp_drop_is_suppression_since_then(tmp_path: Path, events_db: Path) -> None:
    _, out = diagnose(tmp_path, "gone@example.jp", events_db, "--lang", "en")
    first = out.split("1. ")[0]
    assert "Suppressed since 2026-11-30 01:08 UTC" in first and "Bounced Address" in first


def test_no_record_escalates_and_blames_nobody(tmp_path: Path, events_db: Path) -> None:
    _, out = diagnose(tmp_path, "nobody@docomo.ne.jp", events_db)
    head = out.split("1. ")[0]
    assert ESCALATE in head and "検索: postfix ×1, sendgrid ×1, ses ×1" in head
    doc = as_json(tmp_path, "nobody@docomo.ne.jp", events_db)
    assert doc["delivery"]["verdict"] == "no_record" and doc["delivery"]["records"] == []
    # --events-days 0: everything kept, so the period starts at the oldest record.
    assert doc["delivery"]["searched"]["since"] == "2026-11-30T00:41:02.669000Z"
    assert not {"check_spam_folder", "carrier_settings", "allow_sender_domain"} & set(doc["advice"])
    # First: have nothing-sent looked into, not "refused by the sending side's DNS".
    assert doc["advice"][0] == "escalate_not_sent"
    draft = doc["reply_draft"]
    assert "お客様の設定に起因するものではございません" in draft and "迷惑メール" not in draft
    en = as_json(tmp_path, "nobody@docomo.ne.jp", events_db, "--lang", "en")
    assert en["delivery"]["summary"].startswith("No send record: escalate")


def test_no_record_of_an_address_that_cannot_take_mail_asks_for_the_address(
    tmp_path: Path, events_db: Path
) -> None:
    """Nothing could be sent to a malformed address: no escalation, and the draft does
    not tell the customer that their address is not the problem (it was before)."""
    _, out = diagnose(tmp_path, "nobody@@docomo.ne.jp", events_db)
    assert ESCALATE not in out and "送信記録なし: このアドレスはメールを受け取れません" in out
    doc = as_json(tmp_path, "nobody@@docomo.ne.jp", events_db)
    assert doc["check"]["verdict"] == "undeliverable"
    assert doc["delivery"]["verdict"] == "no_record_address"
    assert "sender_side_fix" not in doc["advice"]
    assert "お客様の設定に起因するものではございません" not in doc["reply_draft"]


def test_without_records_nothing_is_claimed(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    _, out = diagnose(tmp_path, "nobody@docomo.ne.jp", missing)
    assert "配信記録" not in out.split("1. ")[0] and ESCALATE not in out
    doc = as_json(tmp_path, "nobody@docomo.ne.jp", missing)
    assert doc["delivery"]["verdict"] == "not_searched" and doc["delivery"]["searched"] is None
    assert "check_spam_folder" in doc["advice"]


def test_a_damaged_store_is_said_not_hidden(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"not a database" * 200)
    doc = as_json(tmp_path, "taro@docomo.ne.jp", broken)
    assert doc["delivery"]["verdict"] == "not_searched"
    assert "not an SQLite database" in doc["delivery"]["error"]
    _, out = diagnose(tmp_path, "taro@docomo.ne.jp", broken)
    assert "not an SQLite database" in out.split("1. ")[0]


def test_the_english_draft_follows_the_record_too(events_db: Path) -> None:
    from maildoctor.diagnose.delivery import delivery_draft, delivery_for

    hard = delivery_for("hanako@example.jp", events_db, days=0)
    assert hard.verdict == "bounced_hard"
    draft = delivery_draft(hard, "hanako@example.jp", None, "en")
    # The bounce draft of `bounce --reply --lang en`, as the Japanese desk gets the Japanese one.
    assert draft is not None and draft.startswith("Dear customer,")
    assert "cannot receive mail at the moment (it does not exist" in draft
    ja = delivery_draft(hard, "hanako@example.jp", None, "ja")
    assert ja is not None and "現在メールを受け取れない状態" in ja
    nothing = delivery_for("nobody@docomo.ne.jp", events_db, days=0)
    draft = delivery_draft(nothing, "nobody@docomo.ne.jp", None, "en")
    assert draft is not None and "not caused by your settings" in draft
    accepted = delivery_for("accept@docomo.ne.jp", events_db, days=0)
    assert delivery_draft(accepted, "accept@docomo.ne.jp", None, "en") is None  # the rules' own


def test_handed_over_but_unanswered_is_neither_accepted_nor_unsent(tmp_path: Path) -> None:
    from maildoctor.diagnose.delivery import delivery_for

    db = tmp_path / "e.sqlite3"
    with EventStore(db) as store:
        send = (DATA / "ses-events.jsonl").read_text().splitlines()[0]  # the Send record
        (tmp_path / "send.json").write_text(send)
        assert ingest_source(store, str(tmp_path / "send.json")).events == 1
    found = delivery_for("jiro@docomo.ne.jp", db, days=0)
    assert found.verdict == "queued"
    assert "受信サーバーの応答はまだ記録にありません" in found.summary("ja")
