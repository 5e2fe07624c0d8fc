"""lint_message: every rule, on shipped messages broken one way at a time."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from maildoctor.findings import Severity
from maildoctor.mail.lint import RULES, LintFinding, links_of, lint_message
from maildoctor.mail.render import CHARSETS, Rendered, build_message, catalog, render_parts
from maildoctor.mail.templating import ENV_VAR

TO = "taro@docomo.ne.jp"
REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.fixture(autouse=True)
def _shipped_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the shipped templates, whatever the developer's environment."""
    monkeypatch.delenv(ENV_VAR, raising=False)


def parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def codes(findings: list[LintFinding]) -> set[str]:
    return {f.code for f in findings}


@pytest.mark.parametrize(
    ("name", "variant", "charset"),
    [
        pytest.param(n, v.name, c, id=f"{n}-{v.name}-{c}")
        for n, info in catalog(REPO_TEMPLATES).items()
        for v in info.variants
        for c in CHARSETS
    ],
)
def test_shipped_templates_are_clean(name: str, variant: str, charset: str) -> None:
    rendered = render_parts(name, to=TO, variant=variant, charset=charset)
    msg = build_message(rendered, to=TO, charset=charset)
    assert lint_message(msg, template=name) == []
    assert lint_message(parse(msg.as_bytes())) == []  # recognised by its subject


# --- body mutations: (template, change to the rendered parts, expected codes) ----------

Edit = Callable[[Rendered], Rendered]


def html(old: str, new: str) -> Edit:
    return lambda r: dataclasses.replace(r, html=r.html.replace(old, new, 1))


def text(old: str, new: str) -> Edit:
    return lambda r: dataclasses.replace(r, text=r.text.replace(old, new))


def both(old: str, new: str) -> Edit:
    return lambda r: dataclasses.replace(
        r, text=r.text.replace(old, new), html=r.html.replace(old, new)
    )


def body_end(snippet: str) -> Edit:
    return html("</body>", snippet + "</body>")


RESET = "https://lentrance.com/password/reset?token=Hn4Rt8Lq1Wv6Ys3Kd9Pm2Xc5"
BODY_CASES = [
    ("password_reset", body_end("<script>alert(1)</script>"), {"html_script"}, "script"),
    ("password_reset", body_end("<iframe></iframe>"), {"html_script"}, "iframe"),
    ("password_reset", html("<p ", '<p onclick="x()" '), {"html_script"}, "event-handler"),
    ("password_reset", body_end("<form><input name=a></form>"), {"html_form"}, "form"),
    (
        "password_reset",
        html("</head>", '<link rel="stylesheet" href="https://lentrance.com/a.css"></head>'),
        {"html_external_css"},
        "link-stylesheet",
    ),
    (
        "password_reset",
        html("</head>", "<style>@import 'https://lentrance.com/a.css';</style></head>"),
        {"html_external_css", "html_style_block"},
        "css-import",
    ),
    ("password_reset", html("</head>", "<style>p{}</style></head>"), {"html_style_block"}, "style"),
    (
        "password_reset",
        body_end('<img src="https://lentrance.com/l.png">'),
        {"img_without_alt", "remote_image", "image_without_size"},
        "img",
    ),
    (
        "password_reset",
        body_end('<img src="https://lentrance.com/l.png" alt="" width="120" height="40">'),
        {"remote_image"},
        "img-alt",
    ),
    (
        "password_reset",
        both(RESET, RESET.replace("https:", "http:")),
        {"link_not_https", "link_missing"},
        "http",
    ),
    (
        "password_reset",
        both(RESET, "/password/reset?token=x"),
        {"link_not_https", "link_missing", "links_differ"},
        "relative",
    ),
    (
        "password_reset",
        both(RESET, "https://lentrance.example.net/reset"),
        {"link_foreign_domain", "link_missing"},
        "foreign",
    ),
    (
        "password_reset",
        both(RESET, "https://bit.ly/3abcd"),
        {"url_shortener", "link_missing"},
        "shortener",
    ),
    (
        "password_reset",
        both(RESET, "https://auth.lentrance.com/r/Hn4Rt8Lq1Wv6Ys3Kd9"),
        set(),
        "subdomain-ok",
    ),
    (
        "password_reset",
        html(f'href="{RESET}"', 'href="https://lentrance.com/other"'),
        {"links_differ"},
        "parity",
    ),
    ("password_reset", both("有効期限", "期限"), {"expiry_missing"}, "no-expiry"),
    (
        "provisional_registration",
        both("有効期限", "期限"),
        {"expiry_missing"},
        "provisional-no-expiry",
    ),
    (
        "registration_complete",
        both("1024-5839-6617", "(未発行)"),
        {"customer_number_missing"},
        "no-number",
    ),
    (
        "registration_complete",
        both("お客様番号", "会員番号"),
        {"customer_number_missing"},
        "no-number-label",
    ),
]


@pytest.mark.parametrize(
    ("name", "edit", "expected"),
    [pytest.param(n, e, x, id=i) for n, e, x, i in BODY_CASES],
)
def test_body_rules(name: str, edit: Edit, expected: set[str]) -> None:
    rendered = edit(render_parts(name, to=TO))
    assert codes(lint_message(build_message(rendered, to=TO), template=name)) == expected


# --- header and structure mutations ---------------------------------------------------

Change = Callable[[EmailMessage], None]


def set_header(name: str, value: str) -> Change:
    def change(msg: EmailMessage) -> None:
        del msg[name]
        if value:
            msg[name] = value

    return change


def html_first(msg: EmailMessage) -> None:
    msg.set_payload(list(reversed(msg.get_payload())))  # type: ignore[arg-type]


def text_only(msg: EmailMessage) -> None:
    text_part = msg.get_body(preferencelist=("plain",))
    assert text_part is not None
    content = text_part.get_content()
    msg.clear_content()
    msg.set_content(content)


HEADER_CASES = [
    ("subject", set_header("Subject", "仮登録のお知らせ"), {"subject_mismatch"}),
    ("from-gmail", set_header("From", "Lentrance <lentrance@gmail.com>"), {"from_domain"}),
    (
        "from-subdomain",
        set_header("From", "Lentrance <no-reply@mail.lentrance.com>"),
        {"from_domain"},
    ),
    ("no-from", set_header("From", ""), {"header_missing"}),
    ("no-message-id", set_header("Message-ID", ""), {"header_missing"}),
    ("no-date", set_header("Date", ""), {"header_missing"}),
    (
        "message-id-domain",
        set_header("Message-ID", "<1.2@mailer.example.net>"),
        {"message_id_domain"},
    ),
    ("html-first", html_first, {"part_order"}),
    ("text-only", text_only, {"not_alternative", "part_missing"}),
]


@pytest.mark.parametrize(
    ("change", "expected"), [pytest.param(c, x, id=i) for i, c, x in HEADER_CASES]
)
def test_header_and_structure_rules(change: Change, expected: set[str]) -> None:
    rendered = render_parts("provisional_registration", to=TO)
    msg = build_message(rendered, to=TO)
    change(msg)
    assert codes(lint_message(msg, template="provisional_registration")) == expected


def raw_message(subject: bytes, body: bytes) -> bytes:
    return (
        b"From: Lentrance <no-reply@lentrance.com>\r\nTo: taro@docomo.ne.jp\r\n"
        b"Subject: " + subject + b"\r\nDate: Tue, 24 Nov 2026 21:30:00 +0900\r\n"
        b"Message-ID: <1@lentrance.com>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/alternative; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body
        + b"\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>x</p>\r\n--b--\r\n"
    )


RAW_CASES = [
    (
        "raw-utf8-subject",
        "[Lentrance]お知らせ".encode(),
        b"x",
        {"header_not_encoded", "subject_unknown"},
    ),
    (
        "long-line",
        b"=?utf-8?q?x?=",
        b"a" * 999,
        {"line_too_long", "text_line_too_long", "subject_unknown"},
    ),
    (
        "too-large",
        b"=?utf-8?q?x?=",
        (b"a" * 76 + b"\r\n") * 14_000,
        {"message_too_large", "subject_unknown"},
    ),
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [pytest.param(raw_message(s, b), x, id=i) for i, s, b, x in RAW_CASES],
)
def test_raw_message_rules(raw: bytes, expected: set[str]) -> None:
    assert codes(lint_message(parse(raw), raw=raw)) == expected


def test_charset_missing() -> None:
    raw = raw_message(b"=?utf-8?q?x?=", "こんにちは".encode()).replace(
        b"text/plain; charset=utf-8", b"text/plain"
    )
    assert codes(lint_message(parse(raw), raw=raw)) == {"charset_missing", "subject_unknown"}


def test_shortener_and_foreign_link_in_text_only() -> None:
    rendered = render_parts("registration_complete", to=TO)
    rendered = dataclasses.replace(rendered, text=rendered.text + "\nhttps://t.co/abc\n")
    found = lint_message(build_message(rendered, to=TO), template="registration_complete")
    assert codes(found) == {"url_shortener", "links_differ"}
    shortener = next(f for f in found if f.code == "url_shortener")
    assert shortener.severity == Severity.ERROR
    assert shortener.message == (
        "The link 'https://t.co/abc' in the text/plain part uses the URL shortener 't.co'."
    )
    assert shortener.fix == (
        "Use the full lentrance.com URL: carrier filters refuse mail with shortened URLs."
    )


def test_subject_mismatch_wording() -> None:
    msg = build_message(render_parts("password_reset", to=TO), to=TO)
    msg.replace_header("Subject", "パスワード再設定")
    (finding,) = lint_message(msg, template="password_reset")
    assert finding.to_dict() == {
        "code": "subject_mismatch",
        "severity": "error",
        "message": "The subject is 'パスワード再設定', but the contract's subject for "
        "password_reset is '[Lentrance]パスワード再設定のお知らせ'.",
        "fix": "Set subject = '[Lentrance]パスワード再設定のお知らせ' in "
        "password_reset/template.toml: the FAQ tells customers to look for exactly this subject.",
        "rule": "subject_mismatch",
        "carrier": None,
        "source": None,
        "feature": None,
        "allowed": False,
    }


def test_errors_come_before_warnings() -> None:
    msg = build_message(render_parts("password_reset", to=TO), to=TO)
    msg.replace_header("Message-ID", "<1@example.net>")
    msg.replace_header("From", "x@example.net")
    found = lint_message(msg)
    assert [f.severity for f in found] == [Severity.ERROR, Severity.WARNING]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "詳しくは https://lentrance.com/a?b=1。または（https://lentrance.com/c）",
            ["https://lentrance.com/a?b=1", "https://lentrance.com/c"],
            id="japanese-punctuation",
        ),
        pytest.param("see http://x.jp/a.", ["http://x.jp/a"], id="trailing-dot"),
        pytest.param("www.lentrance.com/help", ["www.lentrance.com/help"], id="schemeless"),
    ],
)
def test_text_links(source: str, expected: list[str]) -> None:
    assert links_of(text=source) == expected


def test_every_rule_is_exercised() -> None:
    """Each row of RULES appears in this file's tables (render_failed: test_lint_cli)."""
    exercised = {c for *_, x, _ in BODY_CASES for c in x}
    exercised |= {c for *_, x in HEADER_CASES for c in x}
    exercised |= {c for *_, x in RAW_CASES for c in x}
    exercised |= {"url_shortener", "render_failed", "charset_missing"}
    exercised |= {"too_many_links", "not_jis_x0208"}  # tests/test_lint_limits.py
    exercised |= {  # tests/test_lint_links.py
        "link_text_mismatch", "tracking_parameter", "token_not_unique",
        "token_placeholder_missing", "image_too_large", "image_without_size",
    }  # fmt: skip
    exercised |= {"link_refused", "link_unreachable"}  # tests/test_linkcheck.py
    exercised |= {"client_unsupported"}  # tests/test_caniemail.py
    exercised |= {"spam_score"}  # tests/test_spamd.py
    exercised |= {"carrier_spoofing_warning", "carrier_may_filter"}  # test_carrier_display.py
    assert set(RULES) == exercised
