"""Issue 23: the opt-in mailbox probe over real SMTP on loopback: the maildoctor harness
(faults for each reply) and a private Postfix (an access map for accept, reject 550,
greylist 451, catch-all and a refusal about the sender). Never DATA; the receivers
whose replies do not tell are never connected to; the web app never loads the probe."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.harness.server import run_in_thread
from maildoctor.probe import ProbeLimiter, ProbeResult, ProbeSettings, probe_address
from maildoctor.probe.probe import MAILBOX_REASONS
from tests import postfixproc
from tests.ports import free_port

RANDOM = "md-probe-fixed"


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[object]:
    with run_in_thread(tmp_path / "h.sqlite3", http_port=None) as running:
        yield running


def _probe(address: str, host: tuple[str, int], lang: str = "en", **kw: object) -> ProbeResult:
    settings = ProbeSettings(host=host, helo="probe.lentrance.test", timeout=5,
                             random_local=lambda: RANDOM, **kw)  # type: ignore[arg-type]  # fmt: skip

    async def run() -> ProbeResult:
        limiter = ProbeLimiter(min_interval=0, per_host=1, total=2)
        return await probe_address(address, (), settings=settings, limiter=limiter, lang=lang)  # type: ignore[arg-type]

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("faults", "outcome", "reason"),
    [
        ("", "catch_all", "catch_all"),
        (f"user_unknown,to={RANDOM}@example.jp", "deliverable", "accepted"),
        ("user_unknown,to=taro@example.jp", "undeliverable", "rejected"),
        ("mailbox_full,to=taro@example.jp", "undeliverable", "rejected"),
        ("greylist", "unknown", "temporary"),
        (f"rcpt=451 4.3.0 Try later,to={RANDOM}@example.jp", "deliverable",
         "accepted_random_unclear"),
        ("rcpt=554 5.7.1 Client host rejected: listed at a DNSBL,to=taro@example.jp",
         "unknown", "refused_not_mailbox"),
        ("mail=530 5.7.0 Must issue a STARTTLS command first", "unknown", "tls_required"),
        ("rate_limit", "unknown", "session_refused"),
    ],
    ids=["catch-all", "deliverable", "user-unknown", "mailbox-full", "greylist-450",
         "random-address-4xx",
         "dnsbl-refusal", "tls-required", "421-at-connect"],
)  # fmt: skip
def test_outcomes_against_the_harness(
    harness: object, faults: str, outcome: str, reason: str
) -> None:
    harness.set_faults(faults)  # type: ignore[attr-defined]
    result = _probe("taro@example.jp", harness.smtp_address)  # type: ignore[attr-defined]
    assert (result.outcome, result.reason) == (outcome, reason), result
    assert result.probed
    if reason == "rejected":
        assert result.bounce_reason in ("userunknown", "mailboxfull")
        assert result.reply.startswith(("550 5.1.1", "552 5.2.2"))
    if reason == "refused_not_mailbox":
        # about the sender, not the mailbox: unknown, whatever reason the classifier names
        assert result.bounce_reason and result.bounce_reason not in MAILBOX_REASONS
    assert harness.messages() == []  # type: ignore[attr-defined]  # never DATA


def test_port_closed_is_unknown() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _probe("taro@example.jp", ("127.0.0.1", port))
    assert (result.outcome, result.reason) == ("unknown", "port_blocked")
    assert f"127.0.0.1:{port}: connection refused" in result.text
    assert not result.probed  # no connection: the report must not say a probe was made


def test_an_mx_name_that_does_not_resolve_is_unknown() -> None:
    result = _probe("taro@example.jp", ("mx.nonexistent.invalid", 25))
    assert (result.outcome, result.reason, result.probed) == ("unknown", "host_unresolved", False)
    assert "mx.nonexistent.invalid:25: host name not resolved" in result.text


def test_receivers_whose_replies_do_not_tell_are_never_asked() -> None:
    with socket.socket() as listener:  # would count any connection
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        for address in ("taro@docomo.ne.jp", "hanako@au.com", "jiro@i.softbank.jp",
                        "saburo@yahoo.co.jp", "x@ymobile.ne.jp"):  # fmt: skip
            result = _probe(address, listener.getsockname())
            assert (result.outcome, result.reason, result.probed) == ("unknown", "unprobed", False)
            assert result.source.startswith("http")
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_limiter_spaces_connections_to_one_host() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    async def run() -> None:
        limiter = ProbeLimiter(min_interval=2.0, per_host=1, total=4, clock=lambda: now[0],
                               sleep=sleep)  # fmt: skip
        async with limiter.slot("MX.example.jp"):
            now[0] += 0.5  # the conversation takes half a second
        async with limiter.slot("mx.example.jp"):
            pass
        async with limiter.slot("other.example.jp"):  # another host: no wait
            pass

    asyncio.run(run())
    assert waits == [1.5]


def test_limiter_caps_connections_per_host() -> None:
    async def run() -> int:
        limiter = ProbeLimiter(min_interval=0, per_host=1, total=4)
        inside = peak = 0

        async def one() -> None:
            nonlocal inside, peak
            async with limiter.slot("mx.example.jp"):
                inside += 1
                peak = max(peak, inside)
                await asyncio.sleep(0.01)
                inside -= 1

        await asyncio.gather(*(one() for _ in range(5)))
        return peak

    assert asyncio.run(run()) == 1


def test_check_probe_cli(harness: object) -> None:
    host = "{}:{}".format(*harness.smtp_address)  # type: ignore[attr-defined]
    harness.set_faults("user_unknown,to=nobody@example.jp")  # type: ignore[attr-defined]
    out = CliRunner().invoke(
        main, ["check", "nobody@example.jp", "taro@example.jp", "--offline", "--probe",
               "--probe-host", host, "--probe-from", "postmaster@lentrance.com",
               "--format", "json"],
    )  # fmt: skip
    assert out.exit_code == 1, out.output  # the server refused nobody@: undeliverable
    rows = json.loads(out.stdout)
    assert [r["probe"]["outcome"] for r in rows] == ["undeliverable", "catch_all"]
    assert rows[0]["probe"]["bounce_reason"] == "userunknown"
    assert rows[0]["probe"]["probed"] is True and rows[0]["probe"]["host"] == host
    text = (
        CliRunner()
        .invoke(main, ["check", "taro@example.jp", "--offline", "--probe", "--probe-host", host])
        .stdout
    )
    assert "メールボックスの確認(SMTPプローブ): どの宛先も受け付けるドメイン" in text
    assert f"※ {host} にSMTPで接続し、RCPT TOまで確認しました" in text
    plain = CliRunner().invoke(main, ["check", "taro@example.jp", "--offline"]).stdout
    assert "SMTP" not in plain  # off by default
    assert harness.messages() == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--probe-host", "127.0.0.1:x"], "is not HOST[:PORT]"),
        (["--probe-from", "not an address"], "is not an address"),
        (["--format", "csv"], "--probe shows in --format text, json or jsonl"),
    ],
)
def test_probe_usage_errors(args: list[str], message: str) -> None:
    out = CliRunner().invoke(main, ["check", "taro@example.jp", "--offline", "--probe", *args])
    assert out.exit_code == 2 and message in out.stderr and "Traceback" not in out.output


def test_diagnose_probe(harness: object, tmp_path: Path) -> None:
    host = "{}:{}".format(*harness.smtp_address)  # type: ignore[attr-defined]
    args = ["diagnose", "taro@example.jp", "--offline", "--db", str(tmp_path / "d.sqlite3"),
            "--probe", "--probe-host", host, "--lang", "en"]  # fmt: skip
    out = CliRunner().invoke(main, [*args, "--format", "json"])
    assert out.exit_code in (0, 1), out.output
    assert json.loads(out.stdout)["probe"]["outcome"] == "catch_all"
    text = CliRunner().invoke(main, args).stdout
    assert "Mailbox probe (SMTP): catch-all" in text
    assert f"A probe was made: maildoctor connected to {host} over SMTP" in text


def test_the_web_app_never_loads_the_probe() -> None:
    """The sign-up API and the desk do not probe: the web app does not even import it."""
    code = (
        "import sys, maildoctor.web.app, maildoctor.web.signup; "
        "print('maildoctor.probe' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# -- a real Postfix on loopback -------------------------------------------------------------

ACCESS = """\
taro@accept.test      OK
accept.test           550 5.1.1 Recipient address rejected: User unknown in local recipient table
greylist.test         451 4.7.1 Greylisted, see https://www.postfix.org/SMTPD_POLICY_README.html
blocked.test          554 5.7.1 Client host rejected: access denied
"""


@pytest.fixture(scope="module")
def postfix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[postfixproc.PostfixInstance]:
    if not postfixproc.available():
        # As conftest's postfix_relay: a missing Postfix fails, never hides the probe's tests.
        pytest.fail("A private Postfix needs Debian's postfix and root (.ci/run installs it).")
    maps = Path(tempfile.mkdtemp(prefix="maildoctor-probe-maps-"))
    maps.chmod(0o755)
    access = maps / "recipient_access"
    access.write_text(ACCESS)
    access.chmod(0o644)
    settings = {
        "smtpd_recipient_restrictions": f"check_recipient_access texthash:{access}, "
        "permit_mynetworks, reject",
    }
    base = tmp_path_factory.mktemp("postfix")
    try:
        with postfixproc.PostfixInstance(
            base, relay=("127.0.0.1", free_port()), settings=settings
        ) as mta:
            yield mta
    finally:
        access.unlink()
        maps.rmdir()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("address", "outcome", "reason"),
    [
        ("taro@accept.test", "deliverable", "accepted"),
        ("nobody@accept.test", "undeliverable", "rejected"),
        ("taro@greylist.test", "unknown", "temporary"),
        ("taro@catchall.test", "catch_all", "catch_all"),
        ("taro@blocked.test", "unknown", "refused_not_mailbox"),
    ],
    ids=["accept", "reject-550", "greylist-451", "catch-all", "refused-about-the-sender"],
)
def test_outcomes_against_postfix(
    postfix: postfixproc.PostfixInstance, address: str, outcome: str, reason: str
) -> None:
    result = _probe(address, postfix.smtp_address, mail_from="postmaster@lentrance.com")
    assert (result.outcome, result.reason) == (outcome, reason), (result, postfix.log()[-2000:])
    if reason == "rejected":
        assert result.bounce_reason == "userunknown"
        assert result.reply.startswith("550 5.1.1")
    log = postfix.log()
    assert "NOQUEUE" in log or reason in ("accepted", "catch_all")
    assert "status=sent" not in log  # never DATA: nothing was queued or relayed
