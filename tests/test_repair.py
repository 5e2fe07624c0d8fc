"""Repair, then match: input broken the way people break it gets the address they meant.

Covers the syntax repairs (maildoctor/address/repair.py), the typo rules that
finish them (an ending left out, the dots lost), the weak suggestions that wait
for DNS, disposable domains before typos, and smtputf8_required.
"""

from __future__ import annotations

import pytest

from maildoctor.address.assess import Facts, assess
from maildoctor.address.check import CheckResult, check_offline, check_one
from maildoctor.address.dnsprobe import DomainDNS
from maildoctor.address.repair import fold_ime, ime_input, repair
from maildoctor.address.syntax import check_syntax
from maildoctor.address.typos import TypoSuggestion, suggest_domain


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
