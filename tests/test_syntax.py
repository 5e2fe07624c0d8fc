"""Address syntax: RFC rules, lengths, IDNA, IME input and legacy carrier local parts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maildoctor.address.syntax import check_syntax, fold_ime


@pytest.mark.parametrize(
    ("address", "normalized"),
    [
        ("taro@example.jp", "taro@example.jp"),
        ("Taro.Yamada@EXAMPLE.JP", "Taro.Yamada@example.jp"),
        ("user+tag@gmail.com", "user+tag@gmail.com"),
        ("!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com"),
        ('"taro yamada"@example.jp', '"taro yamada"@example.jp'),
        ('"a\\"b"@example.jp', '"a\\"b"@example.jp'),
        ('"a..b"@example.com', '"a..b"@example.com'),
        ("山田@日本語.jp", "山田@xn--wgv71a119e.jp"),
        ("taro@xn--wgv71a119e.jp", "taro@xn--wgv71a119e.jp"),
        ("taro@BÜCHER.de", "taro@xn--bcher-kva.de"),
        ("x@[192.0.2.1]", "x@[192.0.2.1]"),
        ("x@[IPv6:2001:db8::1]", "x@[IPv6:2001:db8::1]"),
        ("a" * 64 + "@example.com", "a" * 64 + "@example.com"),
        ("x@" + "a" * 63 + ".com", "x@" + "a" * 63 + ".com"),
    ],
    ids=[
        "plain",
        "case-kept-in-local",
        "plus",
        "all-atext",
        "quoted-space",
        "quoted-pair",
        "quoted-dots",
        "idn-and-utf8-local",
        "a-label",
        "uts46-mapping",
        "ipv4-literal",
        "ipv6-literal",
        "local-64-octets",
        "label-63-octets",
    ],
)
def test_valid(address: str, normalized: str) -> None:
    result = check_syntax(address)
    assert result.problem is None
    assert result.parsed is not None
    assert result.parsed.normalized == normalized


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("", "empty"),
        ("taro.example.jp", "no_at"),
        ("@example.jp", "no_local"),
        ("taro@", "no_domain"),
        ("ta@ro@example.jp", "two_at"),
        ("taro yamada@example.jp", "space"),
        ("taro@exa\nmple.jp", "newline"),
        ("taro@example.jp\r\nBcc: x@evil.example", "newline"),
        ("ta\x00ro@example.jp", "control"),
        ("ta\x7fro@example.jp", "control"),
        ("a..b@example.com", "dots"),
        ("abc.@example.com", "dots"),
        (".abc@example.com", "dots"),
        ("a" * 65 + "@example.com", "local_too_long"),
        ("x@" + "a" * 64 + ".com", "label_too_long"),
        ("x@" + ".".join(["a" * 60] * 5) + ".com", "domain_too_long"),
        ("a" * 64 + "@" + ".".join(["b" * 62] * 3) + ".com", "too_long"),
        ("taro@example..jp", "domain_dots"),
        ("taro@-example.jp", "domain_hyphen"),
        ("taro@ab--cd.jp", "domain_hyphen"),
        ("taro@exa_mple.jp", "domain_char"),
        ("taro@example", "domain_no_dot"),
        ("taro@example.123", "domain_tld"),
        ("taro@example.jp.", "domain_dot"),
        ("taro@xn--zz.jp", "idna"),
        ('"unclosed@example.jp', "local_invalid"),
        ("x@[300.1.1.1]", "domain_literal"),
        ("Taro <taro@example.jp>", "domain_char"),
        ("me.\u037e@example.com", "local_char"),
        ("ｔａｒｏ＠ｇｍａｉｌ．ｃｏｍ", "fullwidth"),
    ],
    ids=lambda v: v if len(v) < 30 else v[:27] + "...",
)
def test_invalid(address: str, code: str) -> None:
    result = check_syntax(address)
    assert result.parsed is None
    assert result.problem is not None
    assert result.problem.code == code


def test_message_names_the_character() -> None:
    problem = check_syntax("taro;x@example.jp").problem
    assert problem is not None
    assert problem.reason_en == (
        "the part before the @-sign contains a character that is not allowed there: ';'"
    )
    assert problem.reason_ja == "「@」より前の部分に使えない文字 ';' が含まれています"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("ｔａｒｏ＠ｇｍａｉｌ．ｃｏｍ", "taro@gmail.com"),
        ("taro＠gmail.com", "taro@gmail.com"),
        ("taro@gmail．com", "taro@gmail.com"),
        ("taro@gmail。com", "taro@gmail.com"),
        ("taro@gmail｡com", "taro@gmail.com"),
        ("taro\u3000@docomo.ne.jp", "taro@docomo.ne.jp"),
        (" taro@gmail.com", "taro@gmail.com"),
        ("taro@gmail.com ", "taro@gmail.com"),
        ("\u3000taro@gmail.com\u3000", "taro@gmail.com"),
        ("ｙａｍａｄａ１２３@ezweb.ne.jp", "yamada123@ezweb.ne.jp"),
        ("Taro@GMAIL.COM ", "Taro@gmail.com"),
    ],
    ids=[
        "all-fullwidth",
        "fullwidth-at",
        "fullwidth-dot",
        "ideographic-full-stop",
        "halfwidth-ideographic-stop",
        "ideographic-space",
        "leading-space",
        "trailing-space",
        "ideographic-spaces-around",
        "fullwidth-digits",
        "case-kept",
    ],
)
def test_ime_input_is_invalid_with_the_meant_address(typed: str, meant: str) -> None:
    result = check_syntax(typed)
    assert not result.valid
    assert result.ime_input
    assert result.problem is not None and result.problem.code == "fullwidth"
    assert result.suggestion == meant


def test_ime_input_that_folds_to_nonsense_has_no_suggestion() -> None:
    result = check_syntax("ｔａｒｏ")
    assert result.ime_input and result.suggestion is None


@pytest.mark.parametrize(
    ("address", "legacy"),
    [
        ("taro..yamada@docomo.ne.jp", True),
        ("abc.@ezweb.ne.jp", True),
        (".abc@docomo.ne.jp", True),
        ("abc.@au.com", True),
        ("taro..yamada@softbank.ne.jp", False),
        ("taro..yamada@gmail.com", False),
        ("abc.@example.com", False),
    ],
    ids=["docomo-double-dot", "ezweb-trailing-dot", "docomo-leading-dot", "au-com",
         "softbank-never-issued", "gmail", "other-domain"],
)  # fmt: skip
def test_legacy_carrier_local_parts(address: str, legacy: bool) -> None:
    result = check_syntax(address)
    if legacy:
        assert result.parsed is not None and result.parsed.legacy_dots
    else:
        assert result.parsed is None
        assert result.problem is not None and result.problem.code == "dots"


def test_fold_ime() -> None:
    assert fold_ime("ｔａｒｏ\u3000＠ｇｍａｉｌ。ｃｏｍ ") == "taro@gmail.com"


@given(st.text())
def test_never_raises_and_valid_means_parsed(raw: str) -> None:
    result = check_syntax(raw)
    assert (result.parsed is None) == (result.problem is not None)
    if result.parsed is not None:
        assert "\r" not in result.parsed.normalized and "\n" not in result.parsed.normalized
        assert len(result.parsed.local.encode("utf-8", "surrogatepass")) <= 64
        assert result.parsed.ascii_domain.isascii()


@given(st.text(alphabet=st.sampled_from('ab.@"\\ \r\n[]:-ｔ＠。\u3000')))
def test_never_raises_on_punctuation_soup(raw: str) -> None:
    result = check_syntax(raw)
    if result.parsed is not None:
        assert "\n" not in result.parsed.normalized
