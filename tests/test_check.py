"""check_address / check_many end to end: findings, verdicts, suggestions, the JSON contract."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maildoctor.address.check import (
    CheckResult,
    check_address,
    check_many,
    check_offline,
    check_one,
)
from maildoctor.address.dnsprobe import DNSProbe, make_resolver
from maildoctor.address.report import format_csv_row, format_jsonl, format_reply, format_text
from maildoctor.findings import codes


def check(raw: str, nameserver: str, lang: str = "ja") -> CheckResult:
    return check_one(raw, nameservers=[nameserver], dns_timeout=0.5, lang=lang)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("address", "verdict", "codes_", "suggestion"),
    [
        ("taro@gmail.com", "ok", [], None),
        ("taro@gmial.com", "undeliverable", ["typo_suspected", "domain_not_found"],
         "taro@gmail.com"),
        ("taro@docomo.ne.jp", "risky", ["carrier_mail"], None),
        ("taro..yamada@docomo.ne.jp", "risky", ["legacy_carrier_address", "carrier_mail"], None),
        ("abc.@example.jp", "undeliverable", ["syntax_invalid"], None),
        ("ｔａｒｏ＠ｇｍａｉｌ．ｃｏｍ", "undeliverable", ["syntax_invalid", "fullwidth_input"],
         "taro@gmail.com"),
        ("taro@null-mx.maildoctor.test", "undeliverable", ["null_mx"], None),
        ("taro@dangling-mx.maildoctor.test", "undeliverable", ["mx_unresolvable"], None),
        ("taro@txt-only.maildoctor.test", "undeliverable", ["no_mail_server"], None),
        ("taro@a-only.maildoctor.test", "risky", ["implicit_mx"], None),
        ("taro@servfail.maildoctor.test", "unknown", ["dns_unavailable"], None),
        ("taro@refused.maildoctor.test", "unknown", ["dns_unavailable"], None),
        ("info@example.jp", "ok", ["role_account"], None),
        ("taro@mailinator.com", "risky", ["disposable_domain"], None),
        # a UTF-8 local part: the Lentrance mails (no SMTPUTF8) never reach it (issue 12)
        ("山田@日本語.jp", "risky", ["smtputf8_required"], None),
    ],
    ids=["ok", "typo-nxdomain", "carrier", "legacy", "dots-elsewhere", "ime", "null-mx",
         "dangling", "txt-only", "implicit-mx", "servfail", "refused", "role", "disposable",
         "idn"],
)  # fmt: skip
def test_check_with_dns(
    nameserver: str, address: str, verdict: str, codes_: list[str], suggestion: str | None
) -> None:
    result = check(address, nameserver)
    assert (str(result.verdict), result.codes, result.suggestion) == (verdict, codes_, suggestion)


def test_legacy_docomo_offline_contract() -> None:
    data = check_offline("taro..yamada@docomo.ne.jp").to_dict()
    assert data["verdict"] == "risky"
    assert [f["code"] for f in data["findings"]] == ["legacy_carrier_address", "carrier_mail"]
    assert data["carrier"] == {"id": "docomo", "name": "NTTドコモ"}
    assert data["dns_checked"] is False


def test_mx_in_preference_order(nameserver: str) -> None:
    result = check("taro@multi-mx.maildoctor.test", nameserver)
    assert result.mx == (
        "mx1.multi-mx.maildoctor.test",
        "mx2.multi-mx.maildoctor.test",
        "mx3.multi-mx.maildoctor.test",
    )


def test_sinkhole_resolver_gives_unknown_never_not_found() -> None:
    from tests.dnsserver import DNSTestServer

    with DNSTestServer("") as sinkhole:
        result = check("taro@gmail.com", sinkhole.nameserver)
    assert str(result.verdict) == "unknown"
    assert result.codes == ["dns_unavailable"]
    assert result.findings[0].evidence["reason"] == "canary"


def test_gmial_text_report_says_register_again(nameserver: str) -> None:
    text = format_text(check("taro@gmial.com", nameserver), "ja")
    assert "判定: 配信不可" in text
    assert "修正候補: taro@gmail.com" in text
    assert "新規会員登録ページから、再度手続きを行ってください。" in text


def test_english_messages(nameserver: str) -> None:
    result = check("taro@gmial.com", nameserver, lang="en")
    assert (
        result.findings[1].message
        == 'The domain "gmial.com" does not exist (DNS answered NXDOMAIN).'
    )
    assert "verdict: undeliverable" in format_text(result, "en")


def test_reply_for_docomo_names_the_settings() -> None:
    reply = format_reply(check_offline("taro@docomo.ne.jp"))
    assert "受信リスト設定" in reply
    assert "lentrance.com" in reply
    assert "NTTドコモの場合" in reply


def test_reply_for_typo_gives_the_address_and_registration_page(nameserver: str) -> None:
    reply = format_reply(check("taro@gmial.com", nameserver))
    assert "正しくは「taro@gmail.com」ではないでしょうか。" in reply
    assert "新規会員登録ページから" in reply
    assert "DNS" not in reply  # agent-only advice stays out of the customer's reply


def test_reply_for_ime_input() -> None:
    reply = format_reply(check_offline("taro＠gmail.com"))
    assert "半角英数字" in reply and "「taro@gmail.com」" in reply


def test_check_many_keeps_input_order_and_asks_each_domain_once(dns_server: Any) -> None:
    domains = ["gmail.com", "example.jp", "gmial.com", "docomo.ne.jp", "null-mx.maildoctor.test"]
    addresses = [f"user{i}@{domains[i % len(domains)]}" for i in range(300)] + ["bad"]

    async def run() -> list[CheckResult]:
        probe = DNSProbe(make_resolver([dns_server.nameserver], 1.0))
        return [r async for r in check_many(iter(addresses), probe=probe, window=16)]

    results = asyncio.run(run())
    assert [r.address for r in results] == addresses
    mx_queries = [q for q in dns_server.query_log if q[1] == "MX"]
    assert len(mx_queries) == len(domains) + 1  # + the gmail.com canary


#: Local parts that change a result (role names, carrier-legacy dots, UTF-8, quotes,
#: upper case) beside plain ones, for domains with every kind of DNS answer.
BATCH_LOCALS = ["taro", "Hanako.Sato", "info", "support+shop", "a..b", "太郎", '"a b"', "x_1"]
BATCH_DOMAINS = ["gmail.com", "GMAIL.COM", "docomo.ne.jp", "gmial.com", "mailinator.com",
                 "null-mx.maildoctor.test", "a-only.maildoctor.test", "nope.maildoctor.test",
                 "servfail.maildoctor.test", "ドコモ.jp", "example.jp"]  # fmt: skip


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("dns", [True, False], ids=["dns", "offline"])
def test_check_many_shares_a_domains_diagnosis_and_agrees_with_one_address(
    dns_server: Any, lang: str, dns: bool
) -> None:
    """A batch makes the diagnosis of an address whose findings all come from its
    domain once per domain, and every result is the one check_address gives alone."""
    addresses = [f"{local}@{domain}" for domain in BATCH_DOMAINS for local in BATCH_LOCALS]
    addresses += [f"{local}@{domain}" for local in BATCH_LOCALS for domain in BATCH_DOMAINS]

    async def run() -> tuple[list[CheckResult], list[CheckResult]]:
        resolver = make_resolver([dns_server.nameserver], 1.0)
        probe = DNSProbe(resolver) if dns else None
        many = [r async for r in check_many(addresses, probe=probe, lang=lang, window=7)]
        alone = [
            await check_address(a, probe=DNSProbe(resolver) if dns else None, lang=lang)
            for a in addresses
        ]
        return many, alone

    many, alone = asyncio.run(run())
    assert [r.to_dict() for r in many] == [r.to_dict() for r in alone]
    plain = [r for r in many if r.address.startswith(("taro@gmail.com", "x_1@gmail.com"))]
    assert len(plain) == 4 and len({id(r.diagnosis) for r in plain}) == 1


def test_check_many_streams_lazily() -> None:
    consumed = 0

    def source() -> Iterator[str]:
        nonlocal consumed
        for i in range(10_000):
            consumed += 1
            yield f"user{i}@example.jp"

    async def first_result() -> CheckResult:
        async for result in check_many(source(), window=10):
            return result
        raise AssertionError("no result")

    assert asyncio.run(first_result()).address == "user0@example.jp"
    assert consumed < 100


# --- the JSON contract, for any input ---------------------------------------------

CONTRACT_KEYS = {"address", "normalized", "verdict", "findings", "suggestion", "carrier", "mx"}


def assert_contract(data: dict[str, Any], raw: str) -> None:
    assert set(data) >= CONTRACT_KEYS
    assert data["address"] == raw
    assert data["verdict"] in {"ok", "risky", "undeliverable", "unknown"}
    assert data["normalized"] is None or isinstance(data["normalized"], str)
    assert data["suggestion"] is None or isinstance(data["suggestion"], str)
    assert data["carrier"] is None or set(data["carrier"]) == {"id", "name"}
    assert all(isinstance(h, str) for h in data["mx"])
    for finding in data["findings"]:
        assert set(finding) == {"code", "severity", "message", "advice", "evidence"}
        assert finding["code"] in codes()
        assert finding["severity"] in {"error", "warning", "info"}
        assert isinstance(finding["message"], str) and "\n" not in finding["message"]
    if data["normalized"] is not None:
        assert "\n" not in data["normalized"] and "\r" not in data["normalized"]


@given(st.text(), st.sampled_from(["ja", "en"]))
def test_any_input_gives_contract_json_offline(raw: str, lang: str) -> None:
    result = check_offline(raw, lang=lang)  # type: ignore[arg-type]
    data = json.loads(format_jsonl(result))
    assert_contract(data, raw)
    format_text(result, lang)  # type: ignore[arg-type]
    format_csv_row(result)


ADDRESSY = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.text(min_size=0, max_size=12),
    st.sampled_from(
        ["gmail.com", "gmial.com", "docomo.ne.jp", "null-mx.maildoctor.test",
         "servfail.maildoctor.test", "ｇｍａｉｌ．ｃｏｍ", "txt-only.maildoctor.test", "", "-x.jp",
         "日本語.jp"]
    ),
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=ADDRESSY)
def test_any_input_gives_contract_json_with_dns(nameserver: str, raw: str) -> None:
    async def run() -> CheckResult:
        probe = DNSProbe(make_resolver([nameserver], 0.5))
        return await check_address(raw, probe=probe)

    data = json.loads(format_jsonl(asyncio.run(run())))
    assert_contract(data, raw)
