"""The pytest plugin: the maildoctor_harness fixture, used directly and from a pytester run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from maildoctor.harness.policy import Profile
from maildoctor.mail.render import render_message
from maildoctor.pytest_plugin import HarnessFixture

pytest_plugins = ["pytester"]


def test_fixture_captures_and_parses(maildoctor_harness: HarnessFixture) -> None:
    msg = render_message("provisional_registration", to="taro@docomo.ne.jp")
    with maildoctor_harness.smtp() as smtp:
        smtp.send_message(msg)
    [sent] = maildoctor_harness.messages()
    assert sent.mail_from == "no-reply@lentrance.com"
    assert sent.rcpt_tos == ("taro@docomo.ne.jp",)
    assert sent.message["Subject"] == "[Lentrance]仮登録完了のお知らせ"
    assert sent.message["Message-ID"] == msg["Message-ID"]
    assert sent.raw.startswith(b"From: Lentrance <no-reply@lentrance.com>")
    assert sent.decision_for("taro@docomo.ne.jp").outcome == "delivered"
    assert sent.transcript[-1].startswith("S: 250")
    assert maildoctor_harness.http_url is None
    assert maildoctor_harness.db_path.exists()


def test_fixture_profiles_and_faults(maildoctor_harness: HarnessFixture) -> None:
    maildoctor_harness.set_profile("docomo.ne.jp", refuse_url=True)
    maildoctor_harness.set_profile("hanako@au.com", Profile.for_carrier("au", refuse_url=True))
    maildoctor_harness.set_faults("user_unknown,to=ghost@docomo.ne.jp")
    msg = render_message("password_reset", to="taro@docomo.ne.jp")
    with maildoctor_harness.smtp() as smtp:
        refused = smtp.send_message(
            msg, to_addrs=["taro@docomo.ne.jp", "hanako@au.com", "ghost@docomo.ne.jp"]
        )
    assert refused == {"ghost@docomo.ne.jp": (550, b"5.1.1 User unknown")}
    [sent] = maildoctor_harness.wait_for(1)
    outcomes = {d.recipient: (d.outcome, d.rule) for d in sent.deliveries}
    assert outcomes == {
        "ghost@docomo.ne.jp": ("rejected", "fault:user_unknown"),
        "taro@docomo.ne.jp": ("junk", "refuse_url"),
        "hanako@au.com": ("rejected", "refuse_url"),
    }
    assert maildoctor_harness.clear() == 1
    assert maildoctor_harness.messages() == []


def test_wait_for_times_out_with_a_clear_message(maildoctor_harness: HarnessFixture) -> None:
    with pytest.raises(AssertionError, match=r"expected 1 message\(s\) at 127\.0\.0\.1:\d+"):
        maildoctor_harness.wait_for(1, timeout=0.1)


@pytest.mark.slow
def test_plugin_in_a_fresh_pytest_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            import smtplib

            def test_uses_fixture(maildoctor_harness):
                raw = b"Subject: hi\\r\\n\\r\\nx\\r\\n"
                with smtplib.SMTP(*maildoctor_harness.smtp_address) as s:
                    s.sendmail("a@lentrance.com", ["b@example.com"], raw)
                [m] = maildoctor_harness.messages()
                assert m.subject == "hi"

            def test_unrelated():
                assert 1 + 1 == 2
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--maildoctor-web")
    result.assert_outcomes(passed=2)


def test_importing_the_plugin_is_cheap() -> None:
    code = (
        "import sys, maildoctor.pytest_plugin; "
        "print(sorted(m for m in ('aiosmtpd', 'aiohttp', 'sqlite3', 'maildoctor.harness.server')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
