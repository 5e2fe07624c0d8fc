"""Issue 10, items 1, 2 and 6 in the small: the canary check shared by ``sender`` and
the harness's verification, temperror instead of permerror, spoofing filters that do
not decide on temperror, and the spoofing row's "as published today", against real
DNS servers on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.diagnose.spoofing import SenderAuth, auth_header
from maildoctor.harness.policy import MessageFacts, Outcome, Profile, decide
from maildoctor.sender.audit_facts import SenderFacts, gather
from maildoctor.sender.auth import authenticate, make_resolver, txt_lookup, verify_dkim
from maildoctor.sender.domain_audit import assess, requirement_for_carrier
from maildoctor.sender.trust import CanaryGate, TrustedResolver, canary_failure
from tests.dnsserver import ZONES_DIR, DNSTestServer
from tests.test_harness_auth import signed

SINKHOLE_WHY = ". NS: NXDOMAIN; gmail.com MX: NXDOMAIN"


@pytest.fixture(scope="module")
def sinkhole() -> Iterator[DNSTestServer]:
    """Answers NXDOMAIN for every name, as a captive portal or an offline laptop's."""
    with DNSTestServer() as server:
        yield server


@pytest.fixture(scope="module")
def sender_dns() -> Iterator[DNSTestServer]:
    with DNSTestServer.from_files(ZONES_DIR / "sender.zone") as server:
        yield server


# -- the canary check ------------------------------------------------------------------


def test_canary_passes_on_a_truthful_server(sender_dns: DNSTestServer) -> None:
    assert canary_failure([sender_dns.nameserver], timeout=2) is None


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({}, SINKHOLE_WHY),
        ({"timeout_names": ["."]}, ". NS: timeout; gmail.com MX: timeout"),
        ({"servfail_names": ["."]}, ". NS: SERVFAIL; gmail.com MX: SERVFAIL"),
        ({"refused_names": ["."]}, ". NS: REFUSED; gmail.com MX: REFUSED"),
    ],
    ids=["nxdomain", "silent", "servfail", "refused"],
)
def test_canary_says_what_failed(kwargs: dict[str, list[str]], why: str) -> None:
    with DNSTestServer(**kwargs) as server:
        assert canary_failure([server.nameserver], timeout=0.3) == why


def test_canary_names_can_be_replaced(sender_dns: DNSTestServer) -> None:
    assert canary_failure([sender_dns.nameserver], timeout=2, canaries=["good.example"]) is None
    failure = canary_failure([sender_dns.nameserver], timeout=2, canaries=["nope.example"])
    assert failure == "nope.example MX: NXDOMAIN"


def test_gate_keeps_its_verdict_and_notices_recovery() -> None:
    now = [0.0]
    with DNSTestServer() as server:
        gate = CanaryGate([server.nameserver], timeout=1, ttl=300, retry=30, clock=lambda: now[0])
        assert gate.failure() == SINKHOLE_WHY
        asked = server.queries
        now[0] = 29.0
        assert gate.failure() == SINKHOLE_WHY
        assert server.queries == asked  # kept, not asked again
        server.add_zone((ZONES_DIR / "test.zone").read_text(encoding="utf-8"))
        now[0] = 30.0  # a failure is re-checked after `retry` seconds: DNS came back
        assert gate.failure() is None
        asked = server.queries
        now[0] = 329.0
        assert gate.failure() is None
        assert server.queries == asked


# -- verification: temperror, never permerror ------------------------------------------


def test_a_sinkhole_used_to_give_permerror(sinkhole: DNSTestServer) -> None:
    """What the canary prevents: NXDOMAIN for the key reads as "no key"."""
    plain = make_resolver([sinkhole.nameserver])
    assert verify_dkim(signed(), txt_lookup(plain)).result == "permerror"


def test_an_untrusted_resolver_gives_temperror(sinkhole: DNSTestServer) -> None:
    gate = CanaryGate([sinkhole.nameserver], timeout=1)
    trusted = TrustedResolver(make_resolver([sinkhole.nameserver]), gate)
    sinkhole.reset()
    results = authenticate(
        signed(),
        ip="192.0.2.25",
        mail_from="b@lentrance.com",
        helo="x",
        resolver=trusted,  # type: ignore[arg-type]
    )
    assert (results.dkim.result, results.spf.result, results.dmarc.result) == (
        "temperror",
        "temperror",
        "temperror",
    )
    assert SINKHOLE_WHY in results.dkim.reason
    # Only the canaries were asked: nothing the sinkhole says about lentrance.com counts.
    assert {q for q, _, _ in sinkhole.query_log} == {".", "gmail.com."}
    assert "permerror" not in results.header


def test_a_trusted_resolver_verifies(sender_dns: DNSTestServer) -> None:
    gate = CanaryGate([sender_dns.nameserver], timeout=2)
    trusted = TrustedResolver(make_resolver([sender_dns.nameserver]), gate)
    results = authenticate(
        signed(),
        ip="192.0.2.25",
        mail_from="b@lentrance.com",
        helo="x",
        resolver=trusted,  # type: ignore[arg-type]
    )
    assert (results.dkim.result, results.spf.result) == ("pass", "pass")


def test_gather_untrusted_asks_nothing(sinkhole: DNSTestServer) -> None:
    sinkhole.reset()
    facts = gather(
        "lentrance.com",
        resolver=make_resolver([sinkhole.nameserver]),
        ip="192.0.2.25",
        selector="s2048",
        untrusted=SINKHOLE_WHY,
    )
    assert sinkhole.queries == 0
    assert (facts.mx, facts.spf_records, facts.dkim, facts.dmarc_records) == (None,) * 4
    audit = assess(facts, "en")
    assert [f.code for f in audit.findings] == ["sender_dns_untrusted"]
    assert audit.untrusted == SINKHOLE_WHY


# -- the spoofing filters never decide on temperror --------------------------------------


def _facts(auth: str, envelope: str = "bounce@lentrance.com") -> MessageFacts:
    msg = EmailMessage()
    msg["From"] = "no-reply@lentrance.com"
    msg["Authentication-Results"] = auth
    msg.set_content("こんにちは")
    return MessageFacts.from_message(msg, envelope, authserv_id="maildoctor.harness")


TEMPERROR = "maildoctor.harness; dkim=temperror (DNS); spf=temperror; dmarc=temperror"

POLICY = [
    # (id, carrier, settings, auth, envelope, outcome, rule)
    ("softbank-temperror", "softbank", {}, TEMPERROR, None, "delivered", "spoofing_unchecked"),
    ("au-temperror", "au", {}, TEMPERROR, None, "delivered", "spoofing_unchecked"),
    (
        "au-temperror-unaligned-envelope",
        "au",
        {},
        TEMPERROR,
        "bounce@esp.example",
        "delivered",
        "spoofing_unchecked",
    ),
    (
        "spf-fail-but-dkim-temperror",
        "softbank",
        {},
        "maildoctor.harness; dkim=temperror; spf=fail; dmarc=temperror",
        None,
        "delivered",
        "spoofing_unchecked",
    ),
    (
        "pass-outweighs-temperror",
        "softbank",
        {},
        "maildoctor.harness; dkim=pass header.d=lentrance.com; spf=temperror; dmarc=pass",
        None,
        "delivered",
        "default",
    ),
    (
        "fail-still-filtered",
        "softbank",
        {},
        "maildoctor.harness; dkim=fail; spf=fail; dmarc=fail",
        None,
        "filtered",
        "spoofing",
    ),
    # Another filter still decides what it decides without authentication.
    (
        "url-filter-still-decides",
        "softbank",
        {"refuse_pc": True},
        TEMPERROR,
        None,
        "filtered",
        "refuse_pc",
    ),
    # SoftBank's spoofing filter outranks its receive list: delivered, but unchecked.
    (
        "receive-list-after-unchecked",
        "softbank",
        {"receive_list": ["lentrance.com"]},
        TEMPERROR,
        None,
        "delivered",
        "spoofing_unchecked",
    ),
    # docomo's receive list comes first and decides by itself.
    (
        "docomo-receive-list-first",
        "docomo",
        {"spoofing": True, "receive_list": ["lentrance.com"]},
        TEMPERROR,
        None,
        "delivered",
        "receive_list",
    ),
]


@pytest.mark.parametrize(
    ("carrier", "settings", "auth", "envelope", "outcome", "rule"),
    [c[1:] for c in POLICY],
    ids=[c[0] for c in POLICY],
)
def test_spoofing_filter_on_temperror(
    carrier: str,
    settings: dict[str, object],
    auth: str,
    envelope: str | None,
    outcome: str,
    rule: str,
) -> None:
    profile = Profile.for_carrier(carrier, **settings)  # type: ignore[arg-type]
    decision = decide(profile, _facts(auth, envelope or "bounce@lentrance.com"))
    assert (decision.outcome, decision.rule) == (Outcome(outcome), rule)
    if rule == "spoofing_unchecked":
        assert decision.reply_code == 250
        assert decision.rule_name == profile.setting_names["spoofing"]


# -- "as published today" ---------------------------------------------------------------


def _audit(spf: tuple[str, ...] | None, dmarc: tuple[str, ...] | None) -> SenderAuth:
    facts = SenderFacts(
        domain="lentrance.com", ip=None, mail_from_domain="lentrance.com", mx=("mx.l",),
        spf_records=spf, spf_lookups=0 if spf else None, spf_eval=None, dkim=None,
        dmarc_records=dmarc, dmarc_name="_dmarc.lentrance.com", ptr_names=None,
        ptr_confirmed=None,
    )  # fmt: skip
    return SenderAuth(audit=assess(facts, "en"))


SPF = ("v=spf1 ip4:192.0.2.25 -all",)
DMARC = ("v=DMARC1; p=reject; rua=mailto:d@lentrance.com",)


@pytest.mark.parametrize(
    ("spf", "dmarc", "carrier", "published"),
    [
        (SPF, DMARC, "softbank", "pass"),
        # SoftBank judges SPF, and DMARC since April 2024 where the domain publishes it
        # (data/receivers.toml): without a record, SPF decides.
        (SPF, (), "softbank", "pass"),
        ((), (), "softbank", "fail"),
        (SPF, ("v=DMARC1; p=reject; aspf=s",), "softbank", "pass"),
        ((), DMARC, "docomo", "fail"),
        (SPF, DMARC, "au", "unknown"),  # au also needs DKIM: no selector, no verdict
        (SPF, DMARC, "ymobile", "pass"),  # SoftBank's rule (sender_rules.toml)
        (SPF, DMARC, "rakuten", "pass"),  # no rule: SPF/DKIM aligned + DMARC
        (None, DMARC, "softbank", "unknown"),  # the SPF lookup went unanswered
    ],
)
def test_published_status(
    spf: tuple[str, ...] | None, dmarc: tuple[str, ...], carrier: str, published: str
) -> None:
    status, why = _audit(spf, dmarc).for_carrier(carrier, "en")
    assert status == published
    assert "DMARC" in why  # the audit checks it rests on


def test_untrusted_audit_is_unknown() -> None:
    facts = gather("lentrance.com", resolver=make_resolver(["127.0.0.1:9"]), untrusted="x")
    status, why = SenderAuth(audit=assess(facts), reason="DNS not trusted: x").for_carrier(
        "softbank", "en"
    )
    assert (status, why) == ("unknown", "DNS not trusted: x")


def test_requirement_for_carrier_reads_the_rules_file() -> None:
    audit = _audit(SPF, DMARC).audit
    assert audit is not None
    softbank = requirement_for_carrier(audit, "ymobile")
    assert softbank is not None and softbank.id == "softbank"
    assert softbank.checks == ("spf", "dmarc")
    assert requirement_for_carrier(audit, "uqmobile") is None


def test_auth_header_is_read_by_the_filters() -> None:
    msg = EmailMessage()
    msg["From"] = "no-reply@lentrance.com"
    msg.set_content("x")
    raw_ok = auth_header(passes=True) + msg.as_bytes()
    raw_ng = auth_header(passes=False) + msg.as_bytes()
    from email import message_from_bytes

    ok = MessageFacts.from_message(message_from_bytes(raw_ok), "no-reply@lentrance.com")
    ng = MessageFacts.from_message(message_from_bytes(raw_ng), "no-reply@lentrance.com")
    assert (ok.spoofed, ng.spoofed) == (False, True)


LENTRANCE_PASSES = """
$ORIGIN lentrance.com.
@       IN TXT "v=spf1 ip4:192.0.2.25 -all"
_dmarc  IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@lentrance.com"
"""


@pytest.mark.parametrize(
    ("extra", "published", "defaults"),
    [(LENTRANCE_PASSES, "pass", "delivered"), ("", "fail", "filtered")],
    ids=["lentrance-publishes-spf-and-dmarc", "lentrance-publishes-neither"],
)
def test_diagnose_spoofing_rows_follow_lentrance_dns(
    tmp_path: Path, extra: str, published: str, defaults: str
) -> None:
    with DNSTestServer.from_files(ZONES_DIR / "test.zone") as server:
        if extra:
            server.add_zone(extra)
        result = CliRunner().invoke(
            main,
            [
                "diagnose",
                "taro@softbank.ne.jp",
                "--nameserver",
                server.nameserver,
                "--db",
                str(tmp_path / "h.sqlite3"),
                "--format",
                "json",
            ],
        )
    assert result.exit_code == 1, result.output  # carrier mail: risky
    rows = {s["scenario"]: s for s in json.loads(result.stdout)["trial"]["scenarios"]}
    spoofing = rows["spoofing"]
    assert spoofing["authentication"]["published"] == published
    assert spoofing["outcome"] == ("delivered" if published == "pass" else "filtered")
    # SoftBank's spoofing filter is on by default: the defaults row depends on it too.
    assert rows["defaults"]["outcome"] == defaults
    assert rows["defaults"]["authentication"]["published"] == published


@pytest.mark.parametrize("published", ["pass", "fail"])
def test_spoofing_rows_in_a_verifying_harness(
    tmp_path: Path, sinkhole: DNSTestServer, published: str
) -> None:
    """The desk runs the trial in serve's harness, which verifies mail itself: the
    simulated header is trusted for the trial's mailbox, so the rows still follow
    lentrance.com's published authentication (not this machine's, nor the sinkhole's)."""
    import asyncio

    from maildoctor.address.check import check_address
    from maildoctor.diagnose.diagnosis import run_trial
    from maildoctor.harness.server import run_in_thread

    # No SPF and no DMARC: SoftBank's filter refuses it (data/receivers.toml).
    auth = _audit(SPF, DMARC) if published == "pass" else _audit((), ())
    result = asyncio.run(check_address("taro@softbank.ne.jp", probe=None, lang="en"))
    with run_in_thread(
        tmp_path / "h.sqlite3", http_port=None, auth_nameservers=(sinkhole.nameserver,)
    ) as running:
        trial = run_trial(result, running, lang="en", sender_auth=auth)
        stored = running.last()
    rows = {r.scenario.id: r for r in trial.results}
    expected = "delivered" if published == "pass" else "filtered"
    assert (rows["defaults"].outcome, rows["spoofing"].outcome) == (expected, expected)
    assert rows["spoofing"].spoofing is not None
    assert rows["spoofing"].spoofing.published == published
    # The harness did verify (against the sinkhole: temperror), and said so first.
    assert stored is not None
    assert stored.raw.startswith(b"Authentication-Results: maildoctor.harness;")


def test_only_the_trial_mailbox_trusts_the_simulated_header(tmp_path: Path) -> None:
    from maildoctor.diagnose.spoofing import AUTHSERV_ID
    from maildoctor.harness.server import run_in_thread

    with (
        DNSTestServer.from_files(ZONES_DIR / "sender.zone") as dns,
        run_in_thread(
            tmp_path / "h.sqlite3", http_port=None, auth_nameservers=(dns.nameserver,)
        ) as running,
    ):
        trusting = Profile.for_carrier("softbank").with_settings(
            trusted_authserv_ids=(AUTHSERV_ID,)
        )
        running.set_profile("taro@softbank.ne.jp", trusting)
        raw = auth_header(passes=True) + (
            b"From: Lentrance <no-reply@lentrance.com>\r\nSubject: x\r\n\r\nx\r\n"
        )
        import smtplib

        with smtplib.SMTP(*running.smtp_address, timeout=10) as smtp:
            smtp.sendmail(
                "no-reply@lentrance.com", ["taro@softbank.ne.jp", "jiro@softbank.ne.jp"], raw
            )
        stored = running.last()
    assert stored is not None
    # 127.0.0.1 is not in lentrance.com's SPF: the harness's own result is softfail.
    assert stored.decision_for("taro@softbank.ne.jp").outcome is Outcome.DELIVERED
    assert stored.decision_for("jiro@softbank.ne.jp").outcome is Outcome.FILTERED


def test_dmarc_is_temperror_when_dkim_could_not_be_checked(sender_dns: DNSTestServer) -> None:
    """RFC 7489: the DKIM result DNS could not give may have been the aligned pass."""
    from maildoctor.sender.auth import DkimResult, SpfResult, check_dmarc

    dkim = DkimResult(result="temperror", domain="good.example", selector="s", reason="DNS")
    spf = SpfResult(
        result="fail", ip="127.0.0.1", domain="good.example", mail_from="b@good.example",
        helo="x", explanation="", lookups=0,
    )  # fmt: skip
    resolver = make_resolver([sender_dns.nameserver])
    assert check_dmarc("good.example", dkim=dkim, spf=spf, resolver=resolver).result == "temperror"
    known = DkimResult(result="fail", domain="good.example", selector="s", reason="bad")
    assert check_dmarc("good.example", dkim=known, spf=spf, resolver=resolver).result == "fail"
