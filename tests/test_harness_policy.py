"""The recipient policy (pure): every profile rule, per carrier, and the profiles file."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from maildoctor.harness.policy import (
    MessageFacts,
    Outcome,
    Profile,
    UnsupportedSetting,
    decide,
    scenario_profiles,
)
from maildoctor.harness.profiles import ProfileBook, ProfileError, load_profiles, parse_profile

LENTRANCE = "no-reply@lentrance.com"


def mail(
    *,
    body: str = "こんにちは",
    html: str | None = None,
    header_from: str = LENTRANCE,
    charset: str = "utf-8",
    auth: str | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = header_from
    msg["To"] = "taro@docomo.ne.jp"
    msg["Subject"] = "テスト"
    if auth:
        msg["Authentication-Results"] = auth
    msg.set_content(body, charset=charset)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def facts(envelope: str = LENTRANCE, **kwargs: object) -> MessageFacts:
    return MessageFacts.from_message(mail(**kwargs), envelope)  # type: ignore[arg-type]


URL_MAIL = {"body": "登録はこちら https://lentrance.com/register?token=abc"}
PLAIN_MAIL = {"body": "お問い合わせありがとうございます。"}
RECEIVE = ["lentrance.com"]

# (id, profile, message facts, outcome, rule, reply)
CASES = [
    ("open-delivers", Profile.open(), facts(**URL_MAIL), "delivered", "default", "250"),
    (
        "docomo-url-junk",
        Profile.for_carrier("docomo", refuse_url=True),
        facts(**URL_MAIL),
        "junk",
        "refuse_url",
        "250",
    ),
    (
        "docomo-url-no-url",
        Profile.for_carrier("docomo", refuse_url=True),
        facts(**PLAIN_MAIL),
        "delivered",
        "default",
        "250",
    ),
    (
        "au-url-rejected-user-unknown",
        Profile.for_carrier("au", refuse_url=True),
        facts(**URL_MAIL),
        "rejected",
        "refuse_url",
        "550 User unknown",
    ),
    (
        "softbank-url-filtered",
        Profile.for_carrier("softbank", refuse_url=True),
        facts(**URL_MAIL),
        "filtered",
        "refuse_url",
        "250",
    ),
    (
        "docomo-pc-junk",
        Profile.for_carrier("docomo", refuse_pc=True),
        facts(**PLAIN_MAIL),
        "junk",
        "refuse_pc",
        "250",
    ),
    (
        "au-pc-rejected",
        Profile.for_carrier("au", refuse_pc=True),
        facts(**PLAIN_MAIL),
        "rejected",
        "refuse_pc",
        "550 User unknown",
    ),
    (
        "docomo-pc-phone-mail-passes",
        Profile.for_carrier("docomo", refuse_pc=True),
        facts("hanako@ezweb.ne.jp", header_from="hanako@ezweb.ne.jp", **PLAIN_MAIL),
        "delivered",
        "default",
        "250",
    ),
    (
        "docomo-pc-receive-list-wins",
        Profile.for_carrier("docomo", refuse_pc=True, receive_list=RECEIVE),
        facts(**URL_MAIL),
        "delivered",
        "receive_list",
        "250",
    ),
    (
        "docomo-url-receive-list-wins",
        Profile.for_carrier("docomo", refuse_url=True, receive_list=RECEIVE),
        facts(**URL_MAIL),
        "delivered",
        "receive_list",
        "250",
    ),
    (
        "receive-list-matches-subdomain",
        Profile.for_carrier("docomo", refuse_pc=True, receive_list=RECEIVE),
        facts("bounce@mail.lentrance.com", header_from="info@mail.lentrance.com", **PLAIN_MAIL),
        "delivered",
        "receive_list",
        "250",
    ),
    (
        "softbank-url-beats-receive-list",
        Profile.for_carrier("softbank", refuse_url=True, receive_list=RECEIVE),
        facts(**URL_MAIL),
        "filtered",
        "refuse_url",
        "250",
    ),
    (
        "softbank-pc-receive-list-wins",
        Profile.for_carrier("softbank", refuse_pc=True, receive_list=RECEIVE),
        facts(**PLAIN_MAIL),
        "delivered",
        "receive_list",
        "250",
    ),
    (
        "docomo-spoofing-misaligned",
        Profile.for_carrier("docomo", spoofing=True),
        facts("bounces@esp.example", **PLAIN_MAIL),
        "junk",
        "spoofing",
        "250",
    ),
    (
        "docomo-spoofing-aligned-passes",
        Profile.for_carrier("docomo", spoofing=True),
        facts(**PLAIN_MAIL),
        "delivered",
        "default",
        "250",
    ),
    (
        "spoofing-auth-results-fail",
        Profile.for_carrier("docomo", spoofing=True),
        facts(auth="mx.docomo.ne.jp; spf=fail smtp.mailfrom=lentrance.com", **PLAIN_MAIL),
        "junk",
        "spoofing",
        "250",
    ),
    (
        "softbank-default-spoofing-on",
        Profile.for_carrier("softbank"),
        facts("bounces@esp.example", **PLAIN_MAIL),
        "filtered",
        "spoofing",
        "250",
    ),
    (
        "softbank-spoofing-off",
        Profile.for_carrier("softbank", spoofing=False),
        facts("bounces@esp.example", **PLAIN_MAIL),
        "delivered",
        "default",
        "250",
    ),
    (
        "docomo-deny-list",
        Profile.for_carrier("docomo", deny_list=["lentrance.com"]),
        facts(**PLAIN_MAIL),
        "junk",
        "deny_list",
        "250",
    ),
    (
        "deny-list-address",
        Profile.for_carrier("au", deny_list=[LENTRANCE]),
        facts(**PLAIN_MAIL),
        "rejected",
        "deny_list",
        "550 User unknown",
    ),
    (
        "receive-only-not-listed",
        Profile(receive_list=("example.org",), receive_only=True),
        facts(**PLAIN_MAIL),
        "rejected",
        "receive_only",
        "550 5.7.1",
    ),
    (
        "url-in-html-only",
        Profile.for_carrier("docomo", refuse_url=True),
        facts(body="本文", html='<a href="https://lentrance.com/x">登録</a>'),
        "junk",
        "refuse_url",
        "250",
    ),
    (
        "url-in-iso-2022-jp",
        Profile.for_carrier("au", refuse_url=True),
        facts(body="こちら www.lentrance.com から", charset="iso-2022-jp"),
        "rejected",
        "refuse_url",
        "550 User unknown",
    ),
]


@pytest.mark.parametrize(
    ("profile", "message_facts", "outcome", "rule", "reply"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_decide(
    profile: Profile, message_facts: MessageFacts, outcome: str, rule: str, reply: str
) -> None:
    decision = decide(profile, message_facts)
    assert (decision.outcome, decision.rule) == (Outcome(outcome), rule)
    assert decision.reply.startswith(reply)


def test_decision_carries_the_carrier_setting_name() -> None:
    decision = decide(Profile.for_carrier("docomo", refuse_url=True), facts(**URL_MAIL))
    assert decision.rule_name == "特定URL付メール拒否設定"


@pytest.mark.parametrize(
    ("carrier", "settings", "message"),
    [
        (
            "rakuten",
            {"refuse_url": True},
            "Rakuten Mobile (Rakumail) has no refuse url setting; its settings are: receive_list.",
        ),
        ("nosuch", {}, "Unknown carrier 'nosuch'; known carriers are: docomo, au,"),
    ],
    ids=["setting-missing", "unknown-carrier"],
)
def test_for_carrier_errors(carrier: str, settings: dict[str, bool], message: str) -> None:
    with pytest.raises(UnsupportedSetting) as err:
        Profile.for_carrier(carrier, **settings)
    assert str(err.value).startswith(message)


def test_scenarios_for_the_diagnosis() -> None:
    docomo = scenario_profiles("docomo")
    assert list(docomo) == ["defaults", "refuse_pc", "refuse_url", "spoofing", "receive_list"]
    assert docomo["receive_list"].receive_list == ("lentrance.com",)
    assert list(scenario_profiles("rakuten")) == ["defaults", "receive_list"]
    url = facts(**URL_MAIL)
    assert decide(docomo["receive_list"], url).outcome is Outcome.DELIVERED
    assert decide(docomo["refuse_pc"], url).outcome is Outcome.JUNK


# -- profiles file --------------------------------------------------------------


def test_book_precedence_and_builtins() -> None:
    book = ProfileBook(
        {
            "taro@docomo.ne.jp": Profile(name="address"),
            "docomo.ne.jp": Profile(name="domain"),
            "*": Profile(name="star"),
        }
    )
    assert book.lookup("TARO@docomo.ne.jp").name == "address"
    assert book.lookup("jiro@docomo.ne.jp").name == "domain"
    assert book.lookup("x@gmail.com").name == "star"
    book.remove("*")
    assert book.lookup("x@gmail.com") == Profile.open()
    assert book.lookup("hanako@ezweb.ne.jp").carrier == "au"
    assert book.lookup("hanako@ezweb.ne.jp").spoofing is True


def test_load_profiles_file(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text(
        '["taro@docomo.ne.jp"]\nrefuse_url = true\n\n'
        '["ezweb.ne.jp"]\nrefuse_pc = true\nreceive_list = ["lentrance.com"]\n\n'
        '["example.org"]\ncarrier = "softbank"\noutcome = "rejected"\n'
        'reply = "550 5.7.1 Go away"\nrefuse_url = true\n',
        "utf-8",
    )
    book = load_profiles(path)
    taro = book.lookup("taro@docomo.ne.jp")
    assert (taro.carrier, taro.refuse_url, taro.filtered_outcome) == ("docomo", True, "junk")
    au = book.lookup("a@ezweb.ne.jp")
    assert (au.refuse_pc, au.receive_list) == (True, ("lentrance.com",))
    org = book.lookup("x@example.org")
    decision = decide(org, facts(**URL_MAIL))
    assert (decision.outcome, decision.reply) == ("rejected", "550 5.7.1 Go away")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('["a.jp"]\nrefuse_ur = true\n', "Profile 'a.jp' has unknown keys refuse_ur"),
        ('["a.jp"]\noutcome = "lost"\n', "Profile 'a.jp': outcome must be one of"),
        ('["a.jp"]\nrefuse_pc = "yes"\n', "Profile 'a.jp': refuse_pc must be true or false"),
        ('["a.jp"]\nreply = "no way"\n', "Profile 'a.jp': a reply must start with a 3-digit"),
        (
            '["rakumail.jp"]\nrefuse_url = true\n',
            "Profile 'rakumail.jp': Rakuten Mobile (Rakumail) has no",
        ),
        ('"a.jp" = 1\n', "must be a table"),
        ("[a.jp\n", "is not valid TOML"),
        (
            '["softbank.ne.jp"]\nreceive_only = "no"\n',
            "Profile 'softbank.ne.jp': receive_only must be true or false, not 'no'.",
        ),
        ('["docomo.ne.jp"]\ndefaults = 0\n', "defaults must be true or false, not 0."),
        (
            "[lentrance.com]\nrefuse_url = true\n",
            "[lentrance.com] was read as nested tables (TOML splits bare keys at dots): "
            'quote it, ["lentrance.com"].',
        ),
        ("[mail.docomo.ne.jp]\n", 'quote it, ["mail.docomo.ne.jp"].'),
    ],
    ids=[
        "unknown-key",
        "bad-outcome",
        "bad-bool",
        "bad-reply",
        "unsupported",
        "value",
        "toml",
        "receive-only-string",
        "defaults-number",
        "dotted-key",
        "dotted-key-no-settings",
    ],
)
def test_profiles_file_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ProfileError) as err:
        load_profiles(path)
    assert message in str(err.value)


def test_parse_profile_plain_domain() -> None:
    profile = parse_profile("example.com", {"deny_list": ["Lentrance.com"]})
    assert profile.carrier is None
    assert decide(profile, facts(**PLAIN_MAIL)).rule == "deny_list"
