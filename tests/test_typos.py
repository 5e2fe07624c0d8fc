"""Typo suggestions: the Japanese cases, silence on real domains, and the mailcheck vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from maildoctor.address.check import check_offline
from maildoctor.address.syntax import check_syntax
from maildoctor.address.typos import DomainTable, default_table, distance, suggest_domain

VECTORS = Path(__file__).parent / "data" / "vectors"


def _suggested(domain: str, table: DomainTable | None = None) -> str | None:
    suggestion = suggest_domain(domain, table)
    return suggestion.suggested if suggestion else None


JP_TYPOS = json.loads((VECTORS / "carriers_jp_typos.json").read_text("utf-8"))["cases"]


@pytest.mark.parametrize("case", JP_TYPOS, ids=[c["typed"].replace("*", "any") for c in JP_TYPOS])
def test_carriers_jp_typo_examples(case: dict[str, Any]) -> None:
    typed = case["typed"].replace("*", "shop-example")
    intended = case["intended"].replace("*", "shop-example")
    assert _suggested(typed) == intended


@pytest.mark.parametrize(
    ("typed", "meant", "rule"),
    [
        ("gmial.com", "gmail.com", "letters"),
        ("gmaik.com", "gmail.com", "letters"),
        ("gamil.com", "gmail.com", "letters"),
        ("gmail.con", "gmail.com", "suffix"),
        ("gmail.cm", "gmail.com", "confused_suffix"),
        ("gmail.co", "gmail.com", "confused_suffix"),
        ("gmail.jpp", "gmail.com", "explicit"),
        ("docomo.co.jp", "docomo.ne.jp", "confused_suffix"),
        ("docomo.ne.jpp", "docomo.ne.jp", "suffix"),
        ("docomo.ne", "docomo.ne.jp", "ending_missing"),
        ("ezweb.co.jp", "ezweb.ne.jp", "confused_suffix"),
        ("yahoo.cojp", "yahoo.co.jp", "dots"),
        ("yahoo.ne.jpp", "yahoo.ne.jp", "suffix"),
        ("yaoo.co.jp", "yahoo.co.jp", "letters"),
        ("hotmail.con", "hotmail.com", "suffix"),
        ("icluod.com", "icloud.com", "letters"),
        ("outlok.jp", "outlook.jp", "letters"),
        ("ocn.co.jp", "ocn.ne.jp", "confused_suffix"),
        ("biglobe.co.jp", "biglobe.ne.jp", "confused_suffix"),
        ("GMIAL.COM", "gmail.com", "letters"),
        ("shop.co.ip", "shop.co.jp", "suffix"),
    ],
    ids=lambda v: v,
)
def test_suggestions(typed: str, meant: str, rule: str) -> None:
    suggestion = suggest_domain(typed)
    assert suggestion is not None
    assert (suggestion.suggested, suggestion.rule) == (meant, rule)


@pytest.mark.parametrize(
    "domain",
    [
        # the popular domains themselves, and carrier domains and their patterns
        "gmail.com", "yahoo.co.jp", "yahoo.ne.jp", "docomo.ne.jp", "ezweb.ne.jp", "au.com",
        "i.softbank.jp", "softbank.ne.jp", "x.pdx.ne.jp", "biz.au.com", "rakumail.jp",
        # real domains that merely look like a popular one
        "yahoo.com", "yahoo.co.uk", "mail.com", "gmx.com", "gmx.net", "mac.com", "me.com",
        "live.com", "aol.jp", "hotmail.co.uk", "email.com", "proton.me",
        # ordinary domains far from any popular one
        "example.jp", "lentrance.com", "sony.co.jp", "company.co", "company.io", "nikkei.com",
        "mail.randomsmallcompany.cmo", "gmil.ai", "univ.ac.jp",
    ],
)  # fmt: skip
def test_silent_on_known_and_real_domains(domain: str) -> None:
    assert suggest_domain(domain) is None


def test_ties_abstain() -> None:
    table = DomainTable(
        targets=("bat.com", "hat.com"),
        known=frozenset({"bat.com", "hat.com"}),
        suffixes=frozenset({"com"}),
        suffix_slips={},
        confusable=frozenset(),
        explicit={},
        check_carriers=False,
    )
    assert suggest_domain("cat.com", table) is None


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [("gmail", "gmail", 0), ("gmial", "gmail", 1), ("gmai", "gmail", 1), ("gnaik", "gmail", 2),
     ("abc", "xyz", 3)],
)  # fmt: skip
def test_distance(a: str, b: str, d: int) -> None:
    assert distance(a, b, limit=3) == d


# --- mailcheck vectors: one suite per test ------------------------------------------

MAILCHECK = json.loads((VECTORS / "mailcheck.json").read_text("utf-8"))
LISTS = MAILCHECK["_meta"]["lists"]


def _table_for(case: dict[str, Any]) -> DomainTable:
    """The case's own domain list on our rules (suffix slips, confusions, ties abstain)."""
    base = default_table()
    domains = None
    if isinstance(case.get("lists"), dict):
        domains = case["lists"].get("domains")
    elif case.get("domains") in LISTS:
        domains = LISTS[case["domains"]]
        sld, tld = case.get("second_level_domains"), case.get("top_level_domains")
        if sld in LISTS and tld in LISTS:
            # mailcheck also matches second-level names against its top-level list.
            domains = [*domains, *(f"{s}.{t}" for s in LISTS[sld] for t in LISTS[tld])]
    if domains is None:
        return base
    return DomainTable(
        targets=tuple(domains),
        known=frozenset(domains),
        suffixes=base.suffixes,
        suffix_slips=base.suffix_slips,
        confusable=base.confusable,
        explicit={},
        check_carriers=False,
    )


def _mailcheck_suggestion(case: dict[str, Any]) -> str | None:
    result = check_syntax(case["email"].strip())
    if result.parsed is None or result.parsed.domain_literal:
        return None
    suggestion = suggest_domain(result.parsed.ascii_domain, _table_for(case))
    return f"{result.parsed.local}@{suggestion.suggested}" if suggestion else None


def _expected(case: dict[str, Any]) -> str | None:
    return case.get("expected_full")


#: email -> why maildoctor disagrees with mailcheck's v1 spec.
V1_DISAGREE = {
    "test@#gmail.com": "an invalid address gets syntax_invalid, not a domain guess",
}
#: email -> why maildoctor disagrees with mailcheck's 2.0 beta correctness suite.
V2_DISAGREE = {
    "person@gmail.co": "issue 2: .co after a popular name is a slip of .com",
    "person@hotmail.co": "as gmail.co: .co after a popular name is a slip of .com",
    '<script>alert("x")</script>@gmial.com': "invalid local part: syntax_invalid, no guess",
    "person@gmial.com": "a tie (gmail.com, gmiel.com) goes to the keyboard slip: two letters "
    "swapped, not a far key (e for a)",
}


def _cases(suite: str) -> list[dict[str, Any]]:
    return [c for c in MAILCHECK["cases"] if c["suite"] == suite and c["kind"] == "suggest"]


@pytest.mark.parametrize(
    ("suite", "disagree"),
    [("v1_spec", V1_DISAGREE), ("v2_beta_correctness", V2_DISAGREE)],
    ids=["v1", "v2"],
)
def test_mailcheck_suite(suite: str, disagree: dict[str, str]) -> None:
    cases = _cases(suite)
    agree = 0
    for case in cases:
        got = _mailcheck_suggestion(case)
        want = _expected(case)
        same = (got or "").lower() == (want or "").strip().lower()
        agree += same
        if case["email"] in disagree:
            assert not same, disagree[case["email"]]
        else:
            assert same, (case["email"], want, got)
    assert agree / len(cases) >= 0.9


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("taro@gmailーcom", "taro@gmail.com"),  # the IME's long-vowel mark for the dot
        ("taro@gmail-com", "taro@gmail.com"),
        ("taro@docomo-ne-jp", "taro@docomo.ne.jp"),
        ("taro@docomo.n.jp", "taro@docomo.ne.jp"),  # no one- or two-letter .jp type but these
        ("taro@ocn.ns.jp", "taro@ocn.ne.jp"),
        ("taro@ybb.nee.jp", "taro@ybb.ne.jp"),  # three letters: only towards a known domain
        ("taro@ybb.or.jp", "taro@ybb.ne.jp"),  # an ISP's ne.jp typed or.jp
        ("taro@gmail.com.jp", "taro@gmail.com"),  # no com.jp type exists
        ("taro@au.om", "taro@au.com"),
        ("taro@me.cm", "taro@me.com"),
        ("taro@au.bom", "taro@au.com"),
        ("taro@kyoto-u.ac.jo", "taro@kyoto-u.ac.jp"),  # a campus domain (Hipo's list)
        ("taro@st.kyoti-u.ac.jp", "taro@st.kyoto-u.ac.jp"),  # in a campus mailbox subdomain
        ("taro@beach.ocn.ne.jo", "taro@beach.ocn.ne.jp"),  # an ISP mailbox subdomain
    ],
)
def test_japanese_shapes(typed: str, meant: str) -> None:
    assert check_offline(typed).suggestion == meant


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("kokugakuen.ac.jp", "kokugakuin.ac.jp"),  # a far key: one vowel for another
        ("kyotu-u.ac.jp", "kyoto-u.ac.jp"),  # keeps a romanised name a name (meikai, meikei)
        ("nagoya-cy.ac.jp", "nagoya-cu.ac.jp"),  # only the campus code differs (-u, -cu, -wu)
        ("py-toyama.ac.jp", "pu-toyama.ac.jp"),  # the code before the place (u-, pu-)
        ("way.ac.jp", "wayo.ac.jp"),  # a three-letter name is somebody's initials
        ("kanagwau.ac.jp", "kanagawa-u.ac.jp"),  # two edits in a .jp name (kagawa, kanagawa)
    ],
)
def test_slips_where_real_names_crowd_wait_for_dns(typed: str, meant: str) -> None:
    """The typed name is as likely a real one the list lacks: weak (shown only when DNS
    says the typed domain takes no mail), or nothing."""
    found = suggest_domain(typed)
    assert found is not None and (found.suggested, found.strength) == (meant, "weak")
    assert check_offline(f"taro@{typed}").suggestion is None


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("yb.ne.jp", "ybb.ne.jp"),  # JPRS: no .jp name of two letters
        ("okinawa-uu.ac.jp", "okinawa-u.ac.jp"),  # a letter struck twice, even in the code
        ("gooo.jp", "goo.jp"),  # struck twice, straight under .jp
        ("tuus.ac.jp", None),  # tus struck twice or tuis one key off: a tie, no guess
        ("hukuoka-u.ac.jp", "fukuoka-u.ac.jp"),  # kunrei's hu for fu: a far key, a habit
        ("kyouto-u.ac.jp", "kyoto-u.ac.jp"),  # the long vowel written out
        ("hirosima-u.ac.jp", "hiroshima-u.ac.jp"),  # kunrei's si for shi
    ],
)
def test_jprs_length_and_doubled_letters(typed: str, meant: str | None) -> None:
    assert check_offline(f"taro@{typed}").suggestion == (f"taro@{meant}" if meant else None)


@pytest.mark.parametrize(
    "address",
    [
        "taro@keio.jp",  # a campus holds NAME.jp and NAME.ac.jp: both real
        "taro@g.ecc.u-tokyo.ac.jp",  # a campus subdomain is a mailbox domain
        "taro@is.naist.jp",  # naist.jp is the registered domain of Hipo's bs.naist.jp
        "taro@beach.ocn.ne.jp",
        "taro@docomo-ne.jp",  # a real .jp shape: a hyphen guess is DNS's to decide
    ],
)
def test_real_japanese_domains_left_alone(address: str) -> None:
    assert check_offline(address).suggestion is None


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("taro@ua.com", "taro@au.com"),
        ("taro@auu.com", "taro@au.com"),
        ("taro@zu.com", "taro@au.com"),
    ],
)
def test_a_keyboard_slip_of_a_big_short_domain_is_said(typed: str, meant: str) -> None:
    """au.com holds millions of Japanese mailboxes; ua.com is nobody's known mail domain."""
    assert check_offline(typed).suggestion == meant


def test_a_slip_far_from_the_keyboard_or_of_a_rarer_short_domain_waits_for_dns() -> None:
    assert check_offline("taro@pu.com").suggestion is None  # p is nowhere near a
    assert check_offline("taro@m3.com").suggestion is None  # me.com is not one of the big
    assert check_offline("taro@icn.ne.jp").suggestion is None  # may be a cable ISP


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("taro@abuu.ac.jp", "taro@abu.ac.jp"),  # a letter of a listed campus struck twice
        ("taro@st.abbu.ac.jp", "taro@st.abu.ac.jp"),  # in a campus mailbox subdomain
        ("taro@yybb.ne.jp", "taro@ybb.ne.jp"),  # a listed ISP
    ],
)
def test_a_doubled_letter_of_a_short_jp_name_is_said(typed: str, meant: str) -> None:
    """Short initials under a JPRS type: a neighbouring key lands on other real initials
    (icn.ne.jp), a repeated letter seldom does."""
    assert check_offline(typed).suggestion == meant
    assert check_offline("taro@icn.ne.jp").suggestion is None
    assert check_offline("taro@ssu.ac.jp").suggestion is None  # listed, repeats a letter


def test_a_mailbox_subdomain_is_kept_rather_than_read_across_the_dot() -> None:
    """s.hsinshu-u.ac.jp: one swap in shinshu-u under the mailbox label ``s``, not the dot
    lost and a letter more in shinshu-u.ac.jp."""
    assert check_offline("taro@s.hsinshu-u.ac.jp").suggestion == "taro@s.shinshu-u.ac.jp"


def test_a_name_missing_its_ending_between_two_big_domains_abstains() -> None:
    """hotmail: hotmail.co.jp or hotmail.com, both big: ties pick none ("one of" both,
    tests/test_typos_ties.py)."""
    found = suggest_domain("hotmail")
    assert found is not None and found.is_tie
    assert check_offline("taro@hotmail").suggestion is None
    assert _suggested("gmail") == "gmail.com"


def test_the_prefilter_finds_every_target_within_two_edits_in_table_order() -> None:
    """The letter-slip rules see only the targets rapidfuzz's one call lets through: they
    must be exactly those within two edits (no rule looks further), in the table's order
    (ties keep it), with their distances: checked against every target, one by one."""
    import random

    from maildoctor.address.typos import _near, _parts

    table = default_table()
    parts = _parts(table)
    rng = random.Random(24)
    domains = ["shop42-bench.co.jp", "gmial.com", "yahooo.co.jp", "docomo.ne.jo", "x"]
    for target in rng.sample(table.targets, 300):
        i = rng.randrange(len(target))
        domains += [target[:i] + target[i + 1 :], target[:i] + "xq" + target[i:], target[::-1]]
        domains.append(target[:i] + target[i + 1 : i + 2] + target[i : i + 1] + target[i + 2 :])
    within = 0
    for domain in domains:
        scanned = [
            (d, rank, t, name, ending)
            for rank, (t, name, ending) in enumerate(parts)
            if (d := distance(domain, t, 2)) <= 2
        ]
        assert _near(domain, table) == scanned, domain
        within += bool(scanned)
    assert within > len(domains) // 2
