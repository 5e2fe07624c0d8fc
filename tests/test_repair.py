"""Repair, then match: input broken the way people break it gets the address they meant.

Covers the syntax repairs (maildoctor/address/repair.py), the typo rules that
finish them (an ending left out, the dots lost), the weak suggestions that wait
for DNS, disposable domains before typos, and smtputf8_required.
"""

from __future__ import annotations

import asyncio

import pytest

from maildoctor.address.assess import Facts, assess
from maildoctor.address.check import CheckResult, check_many, check_offline, check_one
from maildoctor.address.dnsprobe import DNSProbe, DomainDNS, make_resolver
from maildoctor.address.repair import fold_ime, ime_input, repair, trim_prose
from maildoctor.address.syntax import check_syntax
from maildoctor.address.typos import TypoSuggestion, suggest_domain
from tests.dnsserver import DNSTestServer


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("taro@docomo,ne.jp", "taro@docomo.ne.jp"),  # comma for dot
        ("taro@gmail..com", "taro@gmail.com"),  # doubled dot
        ("taro@.docomo.ne.jp", "taro@docomo.ne.jp"),  # leading dot
        ("taro@gmail.com.", "taro@gmail.com"),  # trailing dot
        ("taro@gmailcom", "taro@gmail.com"),  # the dot before the ending lost
        ("taro@yahoocojp", "taro@yahoo.co.jp"),
        ("taro@gmail", "taro@gmail.com"),  # the ending left out
        ("taro@docomo.ne", "taro@docomo.ne.jp"),  # the ending cut short
        ("taro@gmail com", "taro@gmail.com"),  # a space for the dot (phone)
        ("taro@gmail. com", "taro@gmail.com"),  # autocorrect's space after a dot
        ("taro@gmail、com", "taro@gmail.com"),  # IME comma for dot
        ("taro@gmail。com", "taro@gmail.com"),
        ("taro@soーnet.ne.jp", "taro@so-net.ne.jp"),  # IME long-vowel mark for -
        ("taro@k－opti.com", "taro@k-opti.com"),
        ("taro＠gmail．com ", "taro@gmail.com"),
        ("ｔａｒｏ１９８０＠ｙａｈｏｏ．ｃｏ．ｊｐ", "taro1980@yahoo.co.jp"),
        ("taro@gmaill.con", "taro@gmail.com"),  # a slip and a made-up ending
        ("taro@hotmail.net", "taro@hotmail.com"),  # a name that exists under several endings
        ("taro@yahoo.cok", "taro@yahoo.com"),  # the ending nearest the one typed
        # Japanese words typed around the address (an IME left on): the address inside,
        # never the words turned into a Unicode local part and an IDN label
        ("山田です。taro@docomo.ne.jpです", "taro@docomo.ne.jp"),
        ("taro@docomo.ne.jpです。よろしく", "taro@docomo.ne.jp"),
        ("taro@docomo.ne.jpです", "taro@docomo.ne.jp"),
        ("アドレスは　ｈａｎａｋｏ＠ｅｚｗｅｂ．ｎｅ．ｊｐ　です", "hanako@ezweb.ne.jp"),
    ],
)
def test_broken_input_gets_the_address_meant(typed: str, meant: str) -> None:
    result = check_offline(typed)
    assert result.suggestion == meant, result.codes


@pytest.mark.parametrize(
    "address",
    [
        # country variants of global webmail, ISP mailbox subdomains, short company
        # domains, and real look-alikes (the first from Thunderbird's ISPDB)
        "taro@hotmail.co.th", "taro@live.ie", "taro@yahoo.ie", "taro@outlook.kr",
        "taro@beach.ocn.ne.jp", "taro@d1.dion.ne.jp", "taro@kcn.ne.jp", "taro@dcn.ne.jp",
        "taro@ge.com", "taro@ms.com", "taro@m3.com", "taro@aa.com", "taro@love.com",
        "taro@cloud.com", "taro@foxmail.com", "taro@sannet.ne.jp", "taro@u-tokyo.ac.jp",
    ],
)  # fmt: skip
def test_real_domains_get_no_suggestion_offline(address: str) -> None:
    result = check_offline(address)
    assert result.suggestion is None, result.codes
    assert "syntax_invalid" not in result.codes


def test_ーin_a_japanese_local_part_is_not_a_slip() -> None:
    assert not ime_input("ターロー@example.jp")
    result = check_syntax("ターロー@example.jp")
    assert result.valid and result.parsed is not None and result.parsed.smtputf8
    assert fold_ime("soーnet@soーnet.ne.jp") == "so-net@so-net.ne.jp"


def test_japanese_that_is_the_address_own_is_kept() -> None:
    """Only words around one ASCII address are cut: a Japanese local part, an IDN
    domain, or two addresses in the words stay as typed."""
    kept = ("ヤマダー@example.jp", "taro@例え.jp", "山田 a@x.jp と b@y.jp", "taro@docomo.ne.jp")
    for text in kept:
        assert trim_prose(text) == text
    assert check_offline("taro@例え.jp").codes == []  # a real IDN under .jp: nothing to say


def test_an_ending_no_registry_has_is_said_offline_and_left_to_dns_online() -> None:
    offline = check_offline("taro@example.qqqq")
    assert offline.verdict == "risky" and "tld_unknown" in offline.codes
    assert offline.suggestion is None  # nothing to suggest: the ending is simply unknown
    zone = (
        "$ORIGIN example.qqqq.\n@ 3600 IN SOA ns hostmaster 1 7200 900 1209600 300\n"
        "@ 3600 IN MX 10 mx\nmx 3600 IN A 192.0.2.25\n"
    )
    with DNSTestServer(zone) as server:
        online = check_one("taro@example.qqqq", nameservers=[server.nameserver], canaries=())
    # A TLD newer than the bundled list: DNS answered, so DNS decides.
    assert "tld_unknown" not in online.codes and online.verdict == "ok"


def test_repair_keeps_what_it_cannot_fix() -> None:
    assert repair("no at sign") is None
    assert repair("taro@gmail") == "taro@gmail"
    assert repair("Taro@GMAIL,,COM.") == "Taro@gmail.com"


def test_smtputf8_required_for_a_utf8_local_part() -> None:
    result = check_offline("山田@gmail.com")
    assert result.codes == ["smtputf8_required"]
    assert str(result.verdict) == "risky"
    finding = result.findings[0]
    assert finding.advice == ("register_ascii_address",)
    assert "SMTPUTF8" in finding.message
    assert check_offline("taro@日本語.jp").codes == []  # an IDN domain goes out as A-labels


def test_a_disposable_domain_is_never_a_typo() -> None:
    yop = check_offline("taro@yopmail.com")
    assert (yop.codes, yop.suggestion) == (["disposable_domain"], None)
    # gmial.com is on the disposable lists only because it catches mistyped mail
    assert check_offline("taro@gmial.com").suggestion == "taro@gmail.com"


def _with_dns(typed: str, status: str) -> CheckResult:
    static = check_offline(typed)
    typo = suggest_domain(typed.rpartition("@")[2])
    diagnosis = assess(
        Facts(
            syntax=check_syntax(typed),
            typo=typo,
            dns=DomainDNS(domain=typed.rpartition("@")[2], status=status),  # type: ignore[arg-type]
        )
    )
    return CheckResult(
        address=typed,
        normalized=static.normalized,
        diagnosis=diagnosis,
        carrier=None,
        mx=(),
        dns_checked=True,
    )


@pytest.mark.parametrize(
    ("typed", "status", "suggestion", "likelihood"),
    [
        # a weak suggestion (a short name, a country-only ending) waits for DNS
        ("taro@mw.com", "nxdomain", "taro@me.com", "likely"),
        ("taro@mw.com", "ok", None, None),
        ("taro@mw.com", "unavailable", None, None),
        ("taro@yahoo.ie", "no_mail_server", "taro@yahoo.com", "likely"),
        ("taro@yahoo.ie", "ok", None, None),
        # a strong one is the fix when the domain takes no mail, a question when it does
        ("taro@gmial.com", "nxdomain", "taro@gmail.com", "likely"),
        ("taro@gmial.com", "null_mx", "taro@gmail.com", "likely"),
        ("taro@gmial.com", "ok", "taro@gmail.com", "possible"),
        ("taro@gmial.com", "unavailable", "taro@gmail.com", "unchecked"),
    ],
)
def test_dns_decides_how_strongly(
    typed: str, status: str, suggestion: str | None, likelihood: str | None
) -> None:
    result = _with_dns(typed, status)
    assert result.suggestion == suggestion
    typo = [f for f in result.findings if f.code == "typo_suspected"]
    assert [f.evidence["likelihood"] for f in typo] == ([likelihood] if likelihood else [])


def test_weak_strength_is_data_of_the_suggestion() -> None:
    assert suggest_domain("mw.com") == TypoSuggestion(
        domain="mw.com", suggested="me.com", rule="letters", strength="weak"
    )
    assert suggest_domain("ocm.ne.jp") is not None  # weak: kcn, dcn, tcn.ne.jp are real ISPs
    assert suggest_domain("ocn.ne.j") == TypoSuggestion(
        domain="ocn.ne.j", suggested="ocn.ne.jp", rule="letters", strength="strong"
    )  # an ending no registry has: the domain cannot exist, whatever its size


def test_squatted_look_alike_with_mx_is_a_question(nameserver: str) -> None:
    result = check_one("taro@hotmial.com", nameservers=[nameserver], dns_timeout=0.5)
    assert result.suggestion == "taro@hotmail.com"
    assert result.codes == ["typo_suspected"]
    finding = result.findings[0]
    assert finding.evidence["likelihood"] == "possible"
    assert "メールサーバーがあります" in finding.message
    missing = check_one("taro@gmial.com", nameservers=[nameserver], dns_timeout=0.5)
    assert missing.findings[0].evidence["likelihood"] == "likely"


# --- repair, then ask DNS about the address meant (the loopback server of conftest) --------


@pytest.mark.parametrize(
    ("typed", "suggestion", "code", "likelihood", "dns_codes", "mx"),
    [
        # the repair alone is the fix, and its domain takes mail
        ("taro@docomo,ne.jp", "taro@docomo.ne.jp", "typo_suspected", "likely", [],
         ["mfsmax.docomo.ne.jp"]),
        ("taro@@docomo.ne.jp", "taro@docomo.ne.jp", "extra_at_sign", "likely", [],
         ["mfsmax.docomo.ne.jp"]),
        ("taro@example.jp@", "taro@example.jp", "extra_at_sign", "likely", [],
         ["mx.example.jp"]),
        # the repaired domain takes no mail either: the repair is doubtful
        ("taro@lentrnce,com", "taro@lentrnce.com", "typo_suspected", "doubtful",
         ["domain_not_found"], []),
        ("taro@@null-mx.maildoctor.test", "taro@null-mx.maildoctor.test", "extra_at_sign",
         "doubtful", ["null_mx"], []),
        # a typo of the repaired domain: DNS of the repaired domain says how strongly
        ("taro@gmial..com", "taro@gmail.com", "typo_suspected", "likely",
         ["domain_not_found"], []),
        ("taro@hotmial..com", "taro@hotmail.com", "typo_suspected", "possible", [],
         ["mx.hotmial.com"]),
        ("ｔａｒｏ＠ｇｍｉａｌ．ｃｏｍ", "taro@gmail.com", "typo_suspected", "likely",
         ["domain_not_found"], []),
        # a weak guess stands only where the repaired domain takes no mail
        ("taro@mw..com", "taro@me.com", "typo_suspected", "likely", ["domain_not_found"], []),
        ("taro@aa..com", "taro@aa.com", "typo_suspected", "likely", [], ["mx.aa.com"]),
    ],
)  # fmt: skip
def test_dns_judges_the_repaired_domain(
    nameserver: str,
    typed: str,
    suggestion: str,
    code: str,
    likelihood: str,
    dns_codes: list[str],
    mx: list[str],
) -> None:
    result = check_one(typed, nameservers=[nameserver], dns_timeout=0.5)
    assert result.suggestion == suggestion
    assert str(result.verdict) == "undeliverable"  # as typed, it is no address
    repaired = repair(typed)
    assert repaired is not None
    assert result.dns_checked and result.dns_domain == repaired.rpartition("@")[2]
    [finding] = [f for f in result.findings if f.code == code]
    assert finding.evidence["likelihood"] == likelihood
    assert finding.evidence["suggestion"] == suggestion
    dns = {"domain_not_found", "null_mx", "no_mail_server", "mx_unresolvable", "dns_unavailable"}
    assert [c for c in result.codes if c in dns] == dns_codes
    assert list(result.mx) == mx


def test_repaired_notes_name_the_domain_dns_was_asked_about(nameserver: str) -> None:
    ok = check_one("taro@docomo,ne.jp", nameservers=[nameserver], dns_timeout=0.5, lang="en")
    typo = ok.findings[1]
    assert typo.message == (
        'The domain "docomo,ne.jp" looks like a typo of "docomo.ne.jp". '
        "The repaired domain docomo.ne.jp takes mail."
    )
    dead = check_one("taro@lentrnce,com", nameservers=[nameserver], dns_timeout=0.5)
    assert "修正後のドメイン「lentrnce.com」もメールを受け取れない" in dead.findings[1].message
    squat = check_one("taro@hotmial..com", nameservers=[nameserver], dns_timeout=0.5)
    assert "修正後のドメイン「hotmial.com」にはメールサーバーがあります" in (
        squat.findings[1].message
    )


@pytest.mark.parametrize(
    ("typed", "suggestion"),
    [
        ("taro@docomo,ne.jp", "taro@docomo.ne.jp"),
        ("taro@gmial..com", "taro@gmail.com"),
        ("taro@@docomo.ne.jp", "taro@docomo.ne.jp"),
        ("taro@mw..com", "taro@mw.com"),  # the weak guess waits: the repair stands
    ],
)
def test_an_untrusted_resolver_leaves_the_repaired_domain_unknown(
    typed: str, suggestion: str
) -> None:
    # A sinkhole answers NXDOMAIN for every name, the canaries included.
    with DNSTestServer("") as sinkhole:
        result = check_one(typed, nameservers=[sinkhole.nameserver], dns_timeout=0.5)
    assert result.suggestion == suggestion
    assert [c for c in result.codes if c not in ("syntax_invalid", "carrier_mail")] == [
        "extra_at_sign" if "@@" in typed else "typo_suspected",
        "dns_unavailable",
    ]
    assert result.findings[1].evidence["likelihood"] == "unchecked"
    assert result.findings[2].evidence["reason"] == "canary"
    assert result.mx == ()


def test_offline_a_repair_is_unchecked_and_asks_nothing() -> None:
    result = check_offline("taro@gmial..com")
    assert (result.suggestion, result.dns_checked, result.dns_domain) == (
        "taro@gmail.com",
        False,
        None,
    )
    assert result.findings[1].evidence["likelihood"] == "unchecked"
    assert result.dns_skipped == "offline"  # the report says DNS was not asked
    # even repaired, taro@gmail is no address: it cannot take mail, DNS or not
    unwritable = check_offline("taro@gmail")
    assert unwritable.findings[1].evidence["likelihood"] == "likely"
    assert unwritable.dns_skipped is None  # nothing DNS could be asked about


def test_the_repaired_domain_shares_the_probe_and_its_cache(dns_server: DNSTestServer) -> None:
    addresses = ["taro@docomo,ne.jp", "hanako@docomo.ne.jp", "jiro@@docomo.ne.jp", "x@gmial..com"]

    async def run() -> list[CheckResult]:
        probe = DNSProbe(make_resolver([dns_server.nameserver], 1.0))
        return [r async for r in check_many(iter(addresses), probe=probe)]

    results = asyncio.run(run())
    assert [r.dns_domain for r in results] == [
        "docomo.ne.jp",
        "docomo.ne.jp",
        "docomo.ne.jp",
        "gmial.com",
    ]
    asked = [name for name, rdtype, _ in dns_server.query_log if rdtype == "MX"]
    assert sorted(asked) == ["docomo.ne.jp.", "gmail.com.", "gmial.com."]  # + the canary


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("taro@@docomo.ne.jp", "taro@docomo.ne.jp"),
        ("taro@docomo.ne.jp@", "taro@docomo.ne.jp"),
        ("@taro@docomo.ne.jp", "taro@docomo.ne.jp"),
        ("taro@@@gmail.com", "taro@gmail.com"),
        ("taro＠＠gmail.com", "taro@gmail.com"),  # the IME's ＠ twice
        ("taro@＠ gmail.com", "taro@gmail.com"),  # ＠ after @, and a stray space
    ],
)
def test_a_doubled_at_sign_is_reported_with_the_fix(typed: str, meant: str) -> None:
    result = check_offline(typed)
    assert result.suggestion == meant
    assert result.codes[:2] == ["syntax_invalid", "extra_at_sign"]
    finding = result.findings[1]
    assert finding.severity == "warning"
    assert finding.evidence["suggestion"] == meant
    assert f"「{meant}」と入力するつもりだった" in finding.message


@pytest.mark.parametrize(
    "typed",
    [
        "taro@gmail.com@docomo.ne.jp",  # two addresses run together
        "taro yamada@@docomo.ne.jp",  # a space inside the name is another mistake
        "taro yamada@docomo.ne.jp",
    ],
)
def test_what_the_at_sign_does_not_explain_is_not_repaired(typed: str) -> None:
    result = check_offline(typed)
    assert result.suggestion is None
    assert "extra_at_sign" not in result.codes


def test_reply_offers_a_repair_only_when_its_domain_may_take_mail(nameserver: str) -> None:
    from maildoctor.address.report import format_reply

    at = format_reply(check_one("taro@@docomo.ne.jp", nameservers=[nameserver]))
    assert "正しくは「taro@docomo.ne.jp」ではないでしょうか。" in at
    assert "全角" not in at
    dead = format_reply(check_one("taro@lentrnce,com", nameservers=[nameserver]))
    assert "taro@lentrnce.com" not in dead
    assert "形式に誤りがあるため" in dead
