"""The core tables: carrier domains, finding codes, the advice catalog, the verdict rule."""

from __future__ import annotations

import pytest

from maildoctor.advice import CATALOG, advice_for, advice_text, carrier_steps
from maildoctor.carriers import CARRIERS, NOT_CARRIER_MAIL, carrier_for_domain
from maildoctor.findings import Finding, Severity, Verdict, codes, make_finding, verdict_of

CONTRACT_CARRIER_DOMAINS = [
    ("docomo.ne.jp", "docomo"),
    ("ezweb.ne.jp", "au"),
    ("au.com", "au"),
    ("abc.biz.au.com", "au"),
    ("abc.biz.ezweb.ne.jp", "au"),
    ("ca.ezweb.ne.jp", "au"),
    ("softbank.ne.jp", "softbank"),
    ("i.softbank.jp", "softbank"),
    ("disney.ne.jp", "softbank"),
    ("t.vodafone.ne.jp", "softbank"),
    ("ymobile.ne.jp", "ymobile"),
    ("y-mobile.ne.jp", "ymobile"),
    ("willcom.com", "ymobile"),
    ("pdx.ne.jp", "ymobile"),
    ("di.pdx.ne.jp", "ymobile"),
    ("emnet.ne.jp", "ymobile"),
    ("emobile.ne.jp", "ymobile"),
    ("rakumail.jp", "rakuten"),
    ("uqmobile.jp", "uqmobile"),
    ("DOCOMO.NE.JP.", "docomo"),
]


@pytest.mark.parametrize(("domain", "carrier_id"), CONTRACT_CARRIER_DOMAINS, ids=lambda v: str(v))
def test_contract_carrier_domains(domain: str, carrier_id: str) -> None:
    carrier = carrier_for_domain(domain)
    assert carrier is not None
    assert carrier.id == carrier_id


@pytest.mark.parametrize(
    "domain",
    ["gmail.com", "mineo.jp", "mopera.net", "notdocomo.ne.jp", "docomo.ne.jp.example.com", "au.co"],
)
def test_not_carrier_mail(domain: str) -> None:
    assert carrier_for_domain(domain) is None


def test_carrier_lookup_agrees_with_the_patterns() -> None:
    """The indexed look-up answers as trying every carrier's patterns in order would, on
    every pattern, its subdomains, its parents and look-alikes around it."""
    patterns = [p for c in CARRIERS.values() for p in (*c.domains, *c.legacy_domains)]
    domains = set()
    for pattern in patterns:
        bare = pattern.removeprefix("*.")
        labels = bare.split(".")
        domains.update({bare, f"x.{bare}", f"a.b.{bare}", f"x{bare}", f"{bare}.example"})
        domains.update(".".join(labels[i:]) for i in range(len(labels)))
    matched = 0
    for domain in sorted(domains):
        scan = next((c for c in CARRIERS.values() if c.matches(domain)), None)
        if domain in NOT_CARRIER_MAIL:
            scan = None
        assert carrier_for_domain(domain) is scan, domain
        matched += scan is not None
    assert 0 < matched < len(domains)


def test_contract_carrier_ids() -> None:
    assert set(CARRIERS) == {"docomo", "au", "softbank", "ymobile", "rakuten", "uqmobile"}


def test_carrier_filter_behaviour_follows_2025_facts() -> None:
    assert CARRIERS["docomo"].filtered_outcome == "junk"
    assert CARRIERS["au"].filtered_outcome == "rejected"
    assert CARRIERS["au"].reject_reply == (550, "User unknown")


@pytest.mark.parametrize("carrier_id", sorted(CARRIERS))
def test_every_carrier_has_a_receive_list_step_naming_lentrance(carrier_id: str) -> None:
    setting = CARRIERS[carrier_id].setting("receive_list")
    assert setting is not None
    assert "lentrance.com" in setting.steps_ja
    assert "lentrance.com" in setting.steps_en


CONTRACT_CODES = {
    "syntax_invalid": "error",
    "legacy_carrier_address": "warning",
    "typo_suspected": "warning",
    "domain_not_found": "error",
    "null_mx": "error",
    "no_mail_server": "error",
    "mx_unresolvable": "error",
    "dns_unavailable": "info",
    "carrier_mail": "warning",
    "disposable_domain": "warning",
    "role_account": "info",
}


def test_contract_codes_have_contract_severity() -> None:
    table = codes()
    for code, severity in CONTRACT_CODES.items():
        assert table[code].severity == severity, code
    assert table["implicit_mx"].severity in {"info", "warning"}


@pytest.mark.parametrize("code", sorted(codes()))
def test_every_finding_advice_id_is_in_the_catalog(code: str) -> None:
    assert set(codes()[code].advice) <= set(CATALOG)


def test_faq_checklist_is_in_the_catalog() -> None:
    body = {advice_id: advice_text(advice_id, "ja")[1] for advice_id in CATALOG}
    allow = "「@lentrance.com」ドメインからのメールを受信できるように設定"
    assert allow in body["allow_sender_domain"]
    assert "迷惑メール" in body["check_spam_folder"]
    assert "PCから届くメールや本文にURLリンク" in body["carrier_settings"]
    assert "新規会員登録ページから、再度手続き" in body["reregister"]
    assert "パスワードを再設定" in body["already_registered"]
    assert "復旧されません" in body["withdrawn_reregister"]


def test_carrier_advice_names_that_carriers_settings() -> None:
    _, docomo = advice_text("carrier_settings", "ja", CARRIERS["docomo"])
    assert "受信リスト設定" in docomo
    assert "迷惑メールフォルダ" in docomo
    _, au = advice_text("carrier_settings", "en", CARRIERS["au"])
    assert "必ず受信" in au
    assert "{" not in docomo + au


def test_carrier_steps_put_the_spam_folder_first_for_docomo() -> None:
    assert carrier_steps(CARRIERS["docomo"], "ja")[0].startswith("迷惑メールフォルダ")


def test_advice_for_merges_in_order_once() -> None:
    assert advice_for([("a", "b"), ("b", "c"), ("a",)]) == ["a", "b", "c"]


def test_make_finding_fills_the_message_in_each_language() -> None:
    facts = {"domain": "gmial.com", "suggested_domain": "gmail.com", "note_ja": "", "note_en": ""}
    ja = make_finding("typo_suspected", "ja", **facts)
    en = make_finding("typo_suspected", "en", **facts)
    assert ja.message == "ドメイン「gmial.com」は「gmail.com」の入力ミスの可能性があります。"
    assert en.message == 'The domain "gmial.com" looks like a typo of "gmail.com".'
    assert ja.to_dict()["severity"] == "warning"
    assert ja.to_dict()["evidence"] == facts


ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


@pytest.mark.parametrize(
    ("findings", "verdict"),
    [
        ([], Verdict.OK),
        ([("role_account", INFO)], Verdict.OK),
        ([("carrier_mail", WARN)], Verdict.RISKY),
        ([("dns_unavailable", INFO), ("carrier_mail", WARN)], Verdict.UNKNOWN),
        ([("dns_unavailable", INFO), ("syntax_invalid", ERR)], Verdict.UNDELIVERABLE),
        ([("typo_suspected", WARN), ("domain_not_found", ERR)], Verdict.UNDELIVERABLE),
    ],
    ids=["none", "info-only", "warning", "dns-unknown-beats-warning", "error-beats-unknown", "err"],
)
def test_verdict_rule(findings: list[tuple[str, Severity]], verdict: Verdict) -> None:
    built = [Finding(code=code, severity=sev, message="") for code, sev in findings]
    assert verdict_of(built) == verdict


def test_filter_order_and_defaults_are_carrier_data() -> None:
    # SoftBank and Y!mobile check spoofing and URL links before their allow list.
    for carrier_id in ("softbank", "ymobile"):
        order = CARRIERS[carrier_id].filter_order
        assert order is not None
        assert order.index("refuse_url") < order.index("receive_list")
    assert CARRIERS["docomo"].filter_order is None
    assert {c for c in CARRIERS if "spoofing" in CARRIERS[c].defaults_on} == {
        "au",
        "softbank",
        "ymobile",
    }
