"""Ties: a mistyped domain one slip from two or three known domains is "one of" them.

The suggester's rules end in a tie (no candidate likelier than the others): it picks
none, as before, but keeps the candidates, likeliest first, in a ``tie``; ``check``
reports it as ``typo_ambiguous`` (no suggestion), the sign-up API lists it without
filling one in, the reply draft asks the customer to check the address, and with
``--dns-repair`` DNS's answer wins. By kind of tie, on small tables of our own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.address.check import check_offline, check_one
from maildoctor.address.report import format_reply
from maildoctor.address.typos import DomainTable, repair_candidates, suggest_domain
from maildoctor.cli import main
from maildoctor.harness.server import HarnessThread
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig
from tests.dnsserver import ZONES_DIR, DNSTestServer
from tests.test_desk_api import post_json
from tests.test_signup_api import check as api_check


def _table(*targets: str, top: int = 0, known: tuple[str, ...] = ()) -> DomainTable:
    return DomainTable(
        targets=targets,
        known=frozenset(targets) | frozenset(known),
        suffixes=frozenset({"com", "jp", "ne.jp", "ad.jp", "ac.jp"}),
        suffix_slips={},
        confusable=frozenset(),
        explicit={},
        top_targets=top,
        core_targets=len(targets),
        check_carriers=False,
    )


def test_a_letter_slip_between_two_names_is_one_of_both_in_table_order() -> None:
    """hallo.com: a far key from hello.com and from hullo.com alike: one of the two."""
    found = suggest_domain("hallo.com", _table("hello.com", "hullo.com"))
    assert found is not None and found.is_tie
    assert found.candidates == ("hello.com", "hullo.com") and found.suggested == "hello.com"
    assert found.rule == "letters"


def test_a_keyboard_slip_comes_before_a_far_key() -> None:
    """hqllo.com: q is next to a and w (hallo, hwllo), far from u (hullo, first listed)."""
    found = suggest_domain("hqllo.com", _table("hullo.com", "hallo.com", "hwllo.com"))
    assert found is not None and found.candidates == ("hallo.com", "hwllo.com", "hullo.com")


def test_too_many_ties_keep_only_the_keyboard_slips_or_none() -> None:
    """Four names one slip away: the two a keyboard explains, or nothing when all are
    as likely (a list of four is no help)."""
    four = _table("hullo.com", "hallo.com", "hwllo.com", "hello.com")
    found = suggest_domain("hqllo.com", four)
    assert found is not None and found.candidates == ("hallo.com", "hwllo.com")
    far = _table("hallo.com", "hello.com", "hillo.com", "hullo.com")  # p is near none
    assert suggest_domain("hpllo.com", far) is None


def test_one_likelier_candidate_is_still_a_suggestion_not_a_tie() -> None:
    """hqllo.com with hullo.com and hallo.com only: the keyboard explains hallo alone."""
    found = suggest_domain("hqllo.com", _table("hullo.com", "hallo.com"))
    assert found is not None and not found.is_tie and found.suggested == "hallo.com"


def test_a_name_without_its_ending_between_big_domains_is_one_of_them() -> None:
    found = suggest_domain("hotmail")
    assert found is not None and found.is_tie and found.rule == "ending_missing"
    assert found.candidates == ("hotmail.co.jp", "hotmail.com")


def test_a_jp_second_level_one_edit_from_two_known_types_is_one_of_them() -> None:
    """xyz.nd.jp: nd is no JPRS type; xyz.ne.jp and xyz.ad.jp both exist."""
    found = suggest_domain("xyz.nd.jp", _table("xyz.ne.jp", "xyz.ad.jp"))
    assert found is not None and found.is_tie and found.rule == "suffix"
    assert set(found.candidates) == {"xyz.ne.jp", "xyz.ad.jp"}


def test_a_tie_under_a_mailbox_label_keeps_the_label() -> None:
    plain = suggest_domain("tuus.ac.jp")
    sub = suggest_domain("s.tuus.ac.jp")
    assert plain is not None and plain.is_tie and len(plain.candidates) >= 2
    assert sub is not None and sub.candidates == tuple(f"s.{c}" for c in plain.candidates)


def test_a_tie_is_never_a_suggestion_offline() -> None:
    result = check_offline("taro@tuus.ac.jp", lang="en")
    assert result.suggestion is None
    assert result.codes == ["typo_ambiguous"] and result.verdict == "risky"
    finding = result.findings[0]
    assert finding.evidence["candidates"] == list(suggest_domain("tuus.ac.jp").candidates)  # type: ignore[union-attr]
    for c in finding.evidence["candidates"]:
        assert c in finding.message
    assert list(finding.advice) == ["confirm_address"]


def test_repair_candidates_do_not_change_for_a_tie() -> None:
    """The DNS repair asks what it asked before ties were kept: ranked by its own rules."""
    assert repair_candidates("aichipu.ac.jp") == ("aichi-pu.ac.jp", "aichi-u.ac.jp")


def test_the_reply_draft_names_no_candidate() -> None:
    result = check_offline("taro@tuus.ac.jp")
    draft = format_reply(result)
    assert "taro@tuus.ac.jp" in draft  # the address as typed, for the customer to check
    assert "一文字ずつ" in draft
    for c in result.findings[0].evidence["candidates"]:
        assert c not in draft


def test_cli_json_and_csv() -> None:
    runner = CliRunner()
    got = runner.invoke(main, ["check", "--offline", "--format", "json", "taro@aichipu.ac.jp"])
    assert got.exit_code == 1, got.output
    data = json.loads(got.output)
    assert data["suggestion"] is None
    tie = data["findings"][0]
    assert tie["code"] == "typo_ambiguous"
    assert tie["evidence"]["candidates"] == ["aichi-pu.ac.jp", "aichi-u.ac.jp"]
    csv_out = runner.invoke(main, ["check", "--offline", "--format", "csv", "taro@aichipu.ac.jp"])
    row = csv_out.output.splitlines()[1]
    assert "typo_ambiguous" in row and "aichi-pu.ac.jp, aichi-u.ac.jp" in row


# -- with DNS (the loopback server) --------------------------------------------------

U = "$TTL 300\n$ORIGIN aichi-u.ac.jp.\n@ IN MX 10 mx.aichi-u.ac.jp.\nmx IN A 192.0.2.51\n"
TYPO = "$TTL 300\n$ORIGIN aichipu.ac.jp.\n@ IN MX 10 mx.aichipu.ac.jp.\nmx IN A 192.0.2.52\n"
TYPED = "taro@aichipu.ac.jp"


def _dns(*zones: str) -> DNSTestServer:
    server = DNSTestServer.from_files(ZONES_DIR / "test.zone")
    for zone in zones:
        server.add_zone(zone)
    return server


def _ties(result: object) -> list[list[str]]:
    return [f.evidence["candidates"] for f in result.findings if f.code == "typo_ambiguous"]  # type: ignore[attr-defined]


def test_with_dns_a_typed_domain_that_takes_no_mail_keeps_the_tie() -> None:
    with _dns() as server:  # the zone has aichi-pu.ac.jp; aichipu.ac.jp does not exist
        result = check_one(TYPED, nameservers=[server.nameserver], dns_timeout=0.5)
    assert result.suggestion is None
    assert _ties(result) == [["aichi-pu.ac.jp", "aichi-u.ac.jp"]]
    assert "domain_not_found" in result.codes
    tie = next(f for f in result.findings if f.code == "typo_ambiguous")
    assert tie.evidence["likelihood"] == "likely"


def test_with_dns_a_typed_domain_that_takes_mail_is_nobodys_typo() -> None:
    with _dns(TYPO) as server:
        result = check_one(TYPED, nameservers=[server.nameserver], dns_timeout=0.5)
    assert result.codes == [] and result.verdict == "ok"


def test_dns_repair_wins_over_the_tie() -> None:
    with _dns() as server:  # the zone has aichi-pu.ac.jp, not aichi-u.ac.jp
        one = check_one(TYPED, nameservers=[server.nameserver], dns_timeout=0.5, repair=True)
    assert one.suggestion == "taro@aichi-pu.ac.jp" and _ties(one) == []
    with _dns(U) as server:
        both = check_one(TYPED, nameservers=[server.nameserver], dns_timeout=0.5, repair=True)
    assert both.suggestion is None  # two take mail: still one of the two
    assert _ties(both) == [["aichi-pu.ac.jp", "aichi-u.ac.jp"]]
    with _dns() as server:  # neither tus.ac.jp nor tuis.ac.jp takes mail here
        none = check_one(
            "taro@tuus.ac.jp", nameservers=[server.nameserver], dns_timeout=0.5, repair=True
        )
    assert none.suggestion is None and _ties(none) == []  # no "one of" dead domains
    assert {status for _, status in none.repairs_asked} == {"nxdomain"}


# -- the APIs (real HTTP) ------------------------------------------------------------


@pytest.fixture
def web(tmp_path: Path, nameserver: str) -> Iterator[HarnessThread]:
    config = WebConfig(nameservers=(nameserver,), check_nameservers=(nameserver,), dns_timeout=2.0)
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        yield h


def test_signup_api_lists_the_candidates_and_fills_in_none(web: HarnessThread) -> None:
    data = api_check(web, "taro@tuus.ac.jp")
    assert data["suggestion"] is None
    candidates = _api_ties(data)[0]
    assert data["message"].startswith("もしかして ")
    for c in candidates:
        assert f"taro@{c}" in data["message"]
    en = api_check(web, "taro@tuus.ac.jp", lang="en")
    assert en["message"].startswith("Did you mean one of ")


def test_desk_diagnose_api_shows_the_tie(web: HarnessThread) -> None:
    status, data = post_json(web, "/api/diagnose", {"address": "taro@tuus.ac.jp"})
    assert status == 200, data
    assert data["check"]["suggestion"] is None
    candidates = _api_ties(data["check"])[0]
    assert "confirm_address" in data["advice"]
    for c in candidates:
        assert c not in data["reply_draft"]


def _api_ties(check: dict[str, object]) -> list[list[str]]:
    findings = check["findings"]
    assert isinstance(findings, list)
    ties = [f["evidence"]["candidates"] for f in findings if f["code"] == "typo_ambiguous"]
    assert ties and len(ties[0]) >= 2, findings
    return ties
