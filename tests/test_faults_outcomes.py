"""Issue 10's items one by one: the ticket's subject, a trial that does not apply,
send's per-recipient outcomes, the store's failure log and start checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.harness.health import FailureLog
from maildoctor.harness.policy import Profile
from maildoctor.web.app import run_in_thread
from tests.dnsserver import ZONES_DIR, DNSTestServer

SUBJECTS = {
    "provisional_registration": "[Lentrance]仮登録完了のお知らせ",
    "registration_complete": "[Lentrance]会員登録完了のお知らせ",
    "password_reset": "[Lentrance]パスワード再設定のお知らせ",
    "withdrawal_complete": "[Lentrance]退会手続き完了のお知らせ",
}


def diagnose(*args: str, db: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["diagnose", *args, "--db", str(db)])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout


# -- item 4: every sentence names the subject of the ticket's mail ------------------------


@pytest.mark.parametrize("template", sorted(SUBJECTS))
@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_advice_and_reply_name_the_ticket_mail(tmp_path: Path, template: str, fmt: str) -> None:
    code, out = diagnose(
        "taro@docomo.ne.jp", "--offline", "--template", template, "--format", fmt,
        db=tmp_path / "h.sqlite3",
    )  # fmt: skip
    assert code == 1
    subject = SUBJECTS[template]
    assert f"「{subject}」のメールが届かない件" in out
    assert f"件名は「{subject}」です" in out
    for other in set(SUBJECTS.values()) - {subject}:
        assert other not in out
    if fmt == "json":
        assert json.loads(out)["trial"]["subject"] == subject


# -- item 5: no "delivered" row for an address that cannot receive mail ---------------------


@pytest.fixture(scope="module")
def ns() -> object:
    with DNSTestServer.from_files(ZONES_DIR / "test.zone") as server:
        yield server.nameserver


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("taro@@docomo.ne.jp", "syntax_invalid"),
        ("taro@nothing-here.maildoctor.test", "domain_not_found"),
        ("taro@null-mx.maildoctor.test", "null_mx"),
        ("taro@txt-only.maildoctor.test", "no_mail_server"),
        ("taro@dangling-mx.maildoctor.test", "mx_unresolvable"),
    ],
)
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_trial_does_not_apply_when_mail_cannot_arrive(
    tmp_path: Path, ns: str, address: str, code: str, lang: str
) -> None:
    exit_code, out = diagnose(
        address, "--nameserver", ns, "--lang", lang, db=tmp_path / "h.sqlite3"
    )
    assert exit_code == 1
    assert code in out
    for delivered in ("届く(受信箱)", "テストではどの設定でも届きました", "arrives (inbox)",
                      "Every setting tried let the trial message through"):  # fmt: skip
        assert delivered not in out
    why = "配信テストは当てはまりません" if lang == "ja" else "the trial does not apply"
    assert why in out
    assert not (tmp_path / "h.sqlite3").exists() or _stored(tmp_path / "h.sqlite3") == 0


def _stored(db: Path) -> int:
    from maildoctor.harness.store import Store

    store = Store(db)
    try:
        return store.count()
    finally:
        store.close()


# -- item 7: send says what each recipient's mailbox did ---------------------------------


@pytest.fixture
def harness(tmp_path: Path):
    with run_in_thread(tmp_path / "h.sqlite3", http_port=None) as h:
        yield h


def send(h, *args: str):  # type: ignore[no-untyped-def]
    host, port = h.smtp_address
    return CliRunner().invoke(
        main, ["send", "provisional_registration", *args, "--smtp", f"{host}:{port}"]
    )


def test_junk_filtered_and_rejected_are_not_shown_as_250(harness) -> None:  # type: ignore[no-untyped-def]
    harness.set_profile("taro@docomo.ne.jp", Profile.for_carrier("docomo", refuse_url=True))
    harness.set_profile("jiro@softbank.ne.jp", Profile.for_carrier("softbank", refuse_url=True))
    harness.set_profile("hanako@au.com", Profile.for_carrier("au", refuse_url=True))
    result = send(
        harness, "--to", "taro@docomo.ne.jp, jiro@softbank.ne.jp", "--to", "hanako@au.com"
    )
    assert result.exit_code == 1  # hanako's mailbox refused it
    lines = result.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [
        "taro@docomo.ne.jp", "jiro@softbank.ne.jp", "hanako@au.com",
    ]  # fmt: skip
    assert lines[0].endswith("\tjunk (rule refuse_url)")
    assert lines[1].endswith("\tfiltered (rule refuse_url)")
    assert lines[2].endswith("\trejected (rule refuse_url)")
    [stored] = harness.messages()
    assert stored.rcpt_tos == ("taro@docomo.ne.jp", "jiro@softbank.ne.jp", "hanako@au.com")
    assert result.stderr == ""


def test_one_rcpt_per_address_in_a_comma_list(harness) -> None:  # type: ignore[no-untyped-def]
    result = send(harness, "--to", "a@gmail.com, b@gmail.com")
    assert result.exit_code == 0, result.output
    [stored] = harness.messages()
    assert stored.rcpt_tos == ("a@gmail.com", "b@gmail.com")
    assert sum(line.startswith("C: RCPT") for line in stored.transcript) == 2


@pytest.mark.parametrize("value", ["bad addr", "a@gmail.com b@gmail.com", "", "a@b@c.jp"])
def test_a_value_that_is_not_addresses_exits_2(harness, value: str) -> None:  # type: ignore[no-untyped-def]
    result = send(harness, "--to", value)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert harness.messages() == []


def test_another_server_cannot_show_its_filtering(tmp_path: Path) -> None:
    """A plain aiosmtpd server: 250, and a note that the outcome cannot be seen."""
    import asyncio
    import threading

    from aiosmtpd.smtp import SMTP

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            return "250 2.0.0 Ok: queued"

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(lambda: SMTP(Handler()), "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        port = server.sockets[0].getsockname()[1]
        result = CliRunner().invoke(
            main,
            ["send", "password_reset", "--to", "taro@docomo.ne.jp", "--smtp", f"127.0.0.1:{port}"],
        )
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
    assert result.exit_code == 0
    assert result.stdout == "taro@docomo.ne.jp\t250 2.0.0 Ok: queued\n"
    assert "is not a maildoctor harness" in result.stderr
    assert "cannot be seen over SMTP" in result.stderr


# -- item 9: the operator hears about failed writes, once per cause per interval -------------


def test_failure_log_is_rate_limited_and_counts() -> None:
    import sqlite3

    now = [0.0]
    said: list[str] = []
    log = FailureLog(Path("/x/h.sqlite3"), interval=10, write=said.append, clock=lambda: now[0])
    full = sqlite3.OperationalError("database or disk is full")
    for _ in range(5):
        log.report(full)
        now[0] += 1
    assert len(said) == 1
    now[0] = 11
    log.report(full, messages=2)
    assert said[1].endswith("Free some disk space. (4 more since the last report)")
    assert said[1].startswith("maildoctor: 2 messages were not stored (clients got 451): ")
    log.report(sqlite3.OperationalError("attempt to write a readonly database"))
    assert len(said) == 3  # another cause is told at once
    assert log.failures == 8
