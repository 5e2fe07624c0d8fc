"""Fault SPEC parsing and the seeded fault plan (pure), then every fault over real SMTP."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from maildoctor.harness.faults import PRESETS, Fault, FaultError, FaultPlan, Stage, parse_faults
from maildoctor.harness.server import HarnessThread
from maildoctor.web.app import run_in_thread


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("greylist", [PRESETS["greylist"]]),
        (
            "user_unknown,to=taro@docomo.ne.jp",
            [
                Fault(
                    name="user_unknown",
                    stage=Stage.RCPT,
                    code=550,
                    text="5.1.1 User unknown",
                    to="taro@docomo.ne.jp",
                )
            ],
        ),
        (
            "rcpt=452 4.2.2 Mailbox full,p=0.5",
            [
                Fault(
                    name="rcpt",
                    stage=Stage.RCPT,
                    code=452,
                    text="4.2.2 Mailbox full",
                    probability=0.5,
                )
            ],
        ),
        (
            "after_data=451 4.3.0 Try later,times=2; connect,drop,p=0.1",
            [
                Fault(
                    name="after_data",
                    stage=Stage.AFTER_DATA,
                    code=451,
                    text="4.3.0 Try later",
                    times=2,
                ),
                Fault(name="connect", stage=Stage.CONNECT, drop=True, probability=0.1),
            ],
        ),
        ("mail,delay=0.5", [Fault(name="mail", stage=Stage.MAIL, delay=0.5)]),
        ("rate_limit", [PRESETS["rate_limit"]]),
        ("", []),
    ],
    ids=["preset", "preset-to", "stage-code-p", "two-items", "delay", "rate-limit", "empty"],
)
def test_parse_faults(spec: str, expected: list[Fault]) -> None:
    assert parse_faults(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("slow", "Unknown fault 'slow': use a preset (greylist, mailbox_full, user_unknown,"),
        ("rcpt=55 no", "Fault 'rcpt=55 no': the reply must start with a 3-digit SMTP code."),
        ("rcpt=550 x,p=2", "Fault 'rcpt=550 x,p=2': 'p=2' has a bad value."),
        ("mail,delay=nan", "Fault 'mail,delay=nan': 'delay=nan' has a bad value."),
        ("mail,delay=inf", "Fault 'mail,delay=inf': 'delay=inf' has a bad value."),
        ("rcpt=550 x,times=0", "Fault 'rcpt=550 x,times=0': 'times=0' has a bad value."),
        ("rcpt=550 x,colour=red", "unknown option 'colour=red'; options are p=, delay=,"),
        ("mail", "Fault 'mail' does nothing: give a reply code, drop, or delay=."),
    ],
    ids=[
        "unknown",
        "bad-code",
        "bad-p",
        "nan-delay",
        "endless-delay",
        "bad-times",
        "bad-option",
        "no-effect",
    ],
)
def test_parse_fault_errors(spec: str, message: str) -> None:
    with pytest.raises(FaultError) as err:
        parse_faults(spec)
    assert message in str(err.value)


def test_plan_is_deterministic_under_a_seed() -> None:
    def run(seed: int) -> list[bool]:
        plan = FaultPlan(parse_faults("rcpt=450 later,p=0.5"), seed=seed)
        return [plan.pick(Stage.RCPT, recipient=f"u{i}@x.jp") is not None for i in range(40)]

    assert run(7) == run(7)
    assert run(7) != run(8)
    assert 5 < sum(run(7)) < 35


def test_times_counts_per_recipient() -> None:
    plan = FaultPlan([PRESETS["greylist"]])
    assert plan.pick(Stage.RCPT, recipient="a@x.jp") is not None
    assert plan.pick(Stage.RCPT, recipient="a@x.jp") is None
    assert plan.pick(Stage.RCPT, recipient="b@x.jp") is not None


# -- over real SMTP -------------------------------------------------------------


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[HarnessThread]:
    with run_in_thread(tmp_path / "h.sqlite3", http_port=None, seed=1) as h:
        yield h


def message(to: str = "taro@docomo.ne.jp") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "no-reply@lentrance.com"
    msg["To"] = to
    msg["Subject"] = "fault test"
    msg.set_content("hello\n")
    return msg


def client(h: HarnessThread) -> smtplib.SMTP:
    return smtplib.SMTP(*h.smtp_address, timeout=10)


def test_connect_421_rate_limit(harness: HarnessThread) -> None:
    harness.set_faults("rate_limit")
    with pytest.raises(smtplib.SMTPConnectError) as err:
        client(harness)
    assert (err.value.smtp_code, err.value.smtp_error) == (
        421,
        b"4.7.0 Too many connections, slow down",
    )


def test_connect_drop(harness: HarnessThread) -> None:
    harness.set_faults("connect,drop")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        client(harness)


def test_helo_fault(harness: HarnessThread) -> None:
    harness.set_faults("helo=554 5.7.1 Go away")
    with client(harness) as smtp:
        assert smtp.ehlo() == (554, b"5.7.1 Go away")
        assert smtp.helo() == (554, b"5.7.1 Go away")


def test_mail_fault(harness: HarnessThread) -> None:
    harness.set_faults("mail=451 4.3.2 System busy")
    with client(harness) as smtp, pytest.raises(smtplib.SMTPSenderRefused) as err:
        smtp.send_message(message())
    assert err.value.smtp_code == 451


def test_greylisting_450_once_then_accept(harness: HarnessThread) -> None:
    harness.set_faults("greylist")
    with client(harness) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
            smtp.send_message(message())
        assert err.value.recipients["taro@docomo.ne.jp"][0] == 450
        smtp.rset()
        assert smtp.send_message(message()) == {}
    [stored] = harness.messages()
    assert stored.decision_for("taro@docomo.ne.jp").outcome == "delivered"
    assert stored.reply.startswith("250")


@pytest.mark.parametrize(
    ("preset", "code", "text"),
    [
        ("user_unknown", 550, b"5.1.1 User unknown"),
        ("mailbox_full", 552, b"5.2.2 Mailbox full"),
    ],
    ids=["user-unknown", "mailbox-full"],
)
def test_rcpt_presets_for_one_recipient(
    harness: HarnessThread, preset: str, code: int, text: bytes
) -> None:
    harness.set_faults(f"{preset},to=jiro@docomo.ne.jp")
    with client(harness) as smtp:
        refused = smtp.send_message(message(), to_addrs=["taro@docomo.ne.jp", "jiro@docomo.ne.jp"])
    assert refused == {"jiro@docomo.ne.jp": (code, text)}
    [stored] = harness.messages()
    jiro = stored.decision_for("jiro@docomo.ne.jp")
    assert (jiro.outcome, jiro.rule, jiro.decision.reply_code) == (
        "rejected",
        f"fault:{preset}",
        code,
    )
    assert stored.decision_for("taro@docomo.ne.jp").outcome == "delivered"


def test_data_command_fault(harness: HarnessThread) -> None:
    harness.set_faults("data=554 5.3.0 No thanks")
    with client(harness) as smtp, pytest.raises(smtplib.SMTPDataError) as err:
        smtp.send_message(message())
    assert (err.value.smtp_code, err.value.smtp_error) == (554, b"5.3.0 No thanks")
    assert harness.messages() == []


def test_after_data_fault_is_stored_with_its_rule(harness: HarnessThread) -> None:
    harness.set_faults("after_data=451 4.3.0 Try again later")
    with client(harness) as smtp, pytest.raises(smtplib.SMTPDataError) as err:
        smtp.send_message(message())
    assert err.value.smtp_code == 451
    [stored] = harness.messages()
    assert stored.reply == "451 4.3.0 Try again later"
    d = stored.decision_for("taro@docomo.ne.jp")
    assert (d.outcome, d.rule) == ("rejected", "fault:after_data")
    assert stored.transcript[-1] == "S: 451 4.3.0 Try again later"


def test_after_data_fault_with_a_2xx_reply_delivers(harness: HarnessThread) -> None:
    harness.set_faults("after_data=250 2.0.0 Accepted slowly,delay=0.05")
    with client(harness) as smtp:
        smtp.send_message(message())
    [stored] = harness.messages()
    assert stored.reply == "250 2.0.0 Accepted slowly"
    d = stored.decision_for("taro@docomo.ne.jp")
    assert (d.outcome, d.rule) == ("delivered", "fault:after_data")


def test_after_data_drop(harness: HarnessThread) -> None:
    harness.set_faults("after_data,drop")
    with client(harness) as smtp, pytest.raises(smtplib.SMTPServerDisconnected):
        smtp.send_message(message())


def test_delay(harness: HarnessThread) -> None:
    harness.set_faults("rcpt,delay=0.4")
    with client(harness) as smtp:
        started = time.monotonic()
        assert smtp.send_message(message()) == {}
        assert time.monotonic() - started >= 0.4


def test_421_at_rcpt_closes_the_connection(harness: HarnessThread) -> None:
    harness.set_faults("rcpt=421 4.7.0 Rate limited")
    with client(harness) as smtp:
        smtp.ehlo()
        smtp.mail("no-reply@lentrance.com")
        assert smtp.rcpt("taro@docomo.ne.jp") == (421, b"4.7.0 Rate limited")
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.noop()


def test_probability_is_repeatable_over_smtp(tmp_path: Path) -> None:
    def run(db: Path) -> list[int]:
        with run_in_thread(db, http_port=None, faults="rcpt=450 later,p=0.5", seed=42) as h:
            codes = []
            with client(h) as smtp:
                smtp.ehlo()
                smtp.mail("no-reply@lentrance.com")
                for i in range(20):
                    codes.append(smtp.rcpt(f"u{i}@docomo.ne.jp")[0])
            return codes

    first, second = run(tmp_path / "a.sqlite3"), run(tmp_path / "b.sqlite3")
    assert first == second
    assert set(first) == {250, 450}


@pytest.mark.parametrize(
    "stage", ["connect", "helo", "mail", "rcpt", "data", "after_data"], ids=str
)
def test_delay_only_fault_changes_nothing_but_the_time(harness: HarnessThread, stage: str) -> None:
    harness.set_faults(f"{stage},delay=0.1")
    started = time.monotonic()
    with client(harness) as smtp:
        assert smtp.send_message(message()) == {}
    assert time.monotonic() - started >= 0.1
    [stored] = harness.messages()
    assert stored.reply.startswith("250 2.0.0 OK: stored")
    d = stored.decision_for("taro@docomo.ne.jp")
    assert (d.outcome, d.rule) == ("delivered", "default")


def test_connection_counters_are_forgotten_when_the_connection_ends() -> None:
    plan = FaultPlan(parse_faults("mail=451 4.3.2 Busy,times=1"))
    assert plan.pick(Stage.MAIL, key="c1") is not None
    assert plan.pick(Stage.MAIL, key="c1") is None  # once per connection
    plan.forget("c1")
    assert plan._per_connection == {}
    assert plan.pick(Stage.MAIL, key="c1") is not None  # a new connection with a reused key


def test_a_long_serve_keeps_no_counter_per_finished_connection(harness: HarnessThread) -> None:
    harness.set_faults("mail=451 4.3.2 Busy,times=1")
    for _ in range(20):
        with client(harness) as smtp:
            smtp.ehlo()
            assert smtp.mail("no-reply@lentrance.com")[0] == 451
            assert smtp.mail("no-reply@lentrance.com")[0] == 250
    deadline = time.monotonic() + 5
    while harness.harness.faults._per_connection and time.monotonic() < deadline:
        time.sleep(0.01)
    assert harness.harness.faults._per_connection == {}
