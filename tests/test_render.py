"""Rendering the notification templates into MIME, read back with the standard library."""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest

from maildoctor.mail.lint import links_of
from maildoctor.mail.render import (
    CHARSETS,
    CONTRACT_SUBJECTS,
    catalog,
    render_message,
    render_parts,
    sample_context,
)
from maildoctor.mail.templating import (
    ENV_VAR,
    ContextError,
    MissingVariable,
    TemplatesDirError,
    TemplatingError,
    UnencodableCharacter,
    UnknownTemplate,
    environment,
    templates_dir,
)

REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.fixture(autouse=True)
def _shipped_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the shipped templates, whatever the developer's environment."""
    monkeypatch.delenv(ENV_VAR, raising=False)


VARIANTS = [
    (name, variant.name)
    for name, info in catalog(REPO_TEMPLATES).items()
    for variant in info.variants
]
CASES = [
    pytest.param(name, variant, charset, id=f"{name}-{variant}-{charset}")
    for name, variant in VARIANTS
    for charset in CHARSETS
]


def reparse(msg: EmailMessage) -> EmailMessage:
    """The message as a receiver sees it: serialised, then parsed by the stdlib."""
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts_of(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


@pytest.fixture
def templates_copy(tmp_path: Path) -> Path:
    """A developer's own copy of the shipped templates."""
    return Path(shutil.copytree(REPO_TEMPLATES, tmp_path / "templates"))


def test_catalog_holds_the_contract_templates() -> None:
    templates = catalog(REPO_TEMPLATES)
    assert set(CONTRACT_SUBJECTS) <= set(templates)
    for name, subject in CONTRACT_SUBJECTS.items():
        assert templates[name].subject == subject
    assert [v.name for v in templates["provisional_registration"].variants] == ["email", "sso"]
    assert "provider" in templates["provisional_registration"].variables_of("sso")
    assert "provider" not in templates["provisional_registration"].variables_of("email")
    assert "customer_number" in templates["registration_complete"].variables


def test_declared_variables_are_the_ones_the_templates_use() -> None:
    """template.toml documents exactly the variables the bodies and subject read."""
    from jinja2 import meta

    env = environment(REPO_TEMPLATES)
    builtins = {"to", "variant", "site", "subject", "charset"}
    for name, info in catalog(REPO_TEMPLATES).items():
        used: set[str] = set()
        for file in ("body.txt.j2", "body.html.j2"):
            source = (REPO_TEMPLATES / name / file).read_text("utf-8")
            used |= meta.find_undeclared_variables(env.parse(source))
        used |= meta.find_undeclared_variables(env.parse(info.subject))
        declared = set(info.variables) | {k for v in info.variants for k in v.variables}
        assert used - builtins == declared, name


@pytest.mark.parametrize(("name", "variant", "charset"), CASES)
def test_rendered_message_reads_back(name: str, variant: str, charset: str) -> None:
    now = datetime(2026, 11, 24, 21, 30, tzinfo=timezone(timedelta(hours=9)))
    msg = render_message(name, to="taro@docomo.ne.jp", variant=variant, charset=charset, now=now)
    raw = msg.as_bytes()
    parsed = reparse(msg)

    assert parsed["Subject"] == CONTRACT_SUBJECTS[name]
    assert str(parsed["From"]) == "Lentrance <no-reply@lentrance.com>"
    assert parsed["From"].addresses[0].domain == "lentrance.com"
    assert str(parsed["To"]) == "taro@docomo.ne.jp"
    assert parsed["Date"].datetime == now
    assert re.fullmatch(r"<[^@<>\s]+@lentrance\.com>", str(parsed["Message-ID"]))
    assert parsed.get_content_type() == "multipart/alternative"
    assert msg.get_boundary() == parsed.get_boundary()  # set before serialising
    assert str(msg.get_boundary()).startswith("=_lentrance_")
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == charset for p in parsed.iter_parts())

    text, html = parts_of(parsed)
    sample = sample_context(name, variant, REPO_TEMPLATES)
    for value in sample.values():
        assert value in text
    assert set(links_of(text=text)) == set(links_of(html=html))
    assert all(url.startswith("https://") for url in links_of(text=text))

    assert raw.isascii()  # encoded words and 7bit/base64 bodies only
    assert max(len(line) for line in raw.splitlines()) <= 998
    subject_line = raw.split(b"\nSubject: ", 1)[1].split(b"\n")[0]
    assert subject_line.lower().startswith(f"=?{charset}?b?".encode())


def test_iso_2022_jp_message_is_7bit_jis() -> None:
    msg = render_message("registration_complete", to="taro@ezweb.ne.jp", charset="iso-2022-jp")
    text_part = next(msg.iter_parts())
    assert text_part["Content-Transfer-Encoding"] == "7bit"
    body = text_part.get_payload(decode=True)
    assert b"\x1b$B" in body  # ESC $ B: switch to JIS X 0208 (RFC 1468)
    assert "お客様番号".encode("iso-2022-jp")[3:-3] in body  # the JIS bytes, no escapes


@pytest.mark.parametrize(
    ("value", "char"),
    [
        pytest.param("①2345", "①", id="circled-digit"),
        pytest.param("1234～5678", "～", id="fullwidth-tilde"),
        pytest.param("1234-5678 😀", "😀", id="emoji"),
    ],
)
def test_iso_2022_jp_names_the_character_it_cannot_encode(value: str, char: str) -> None:
    with pytest.raises(UnencodableCharacter) as info:
        render_message(
            "registration_complete",
            to="taro@ezweb.ne.jp",
            context={"customer_number": value},
            charset="iso-2022-jp",
        )
    assert info.value.char == char
    assert f"The character {char!r} (U+{ord(char):04X}) in the text part" in str(info.value)
    assert "iso-2022-jp" in str(info.value)


def test_iso_2022_jp_subject_character_is_named(templates_copy: Path) -> None:
    meta = templates_copy / "password_reset" / "template.toml"
    meta.write_text(meta.read_text("utf-8").replace("お知らせ", "お知らせ①"), encoding="utf-8")
    with pytest.raises(UnencodableCharacter, match=r"'①' \(U\+2460\) in the subject"):
        render_message(
            "password_reset", to="a@b.jp", templates_dir=templates_copy, charset="iso-2022-jp"
        )


HOSTILE = [
    pytest.param("x\r\nBcc: victim@example.com", id="crlf-bcc"),
    pytest.param("x\nSubject: hijacked", id="lf-subject"),
    pytest.param("x\rX-Injected: 1", id="cr-only"),
    pytest.param("x\u2028Bcc: victim@example.com", id="line-separator"),
    pytest.param("x\r\n\r\n<html>body</html>", id="blank-line-body"),
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_variables_cannot_inject_headers(hostile: str, templates_copy: Path) -> None:
    # A subject that uses a variable: the worst case for injection.
    meta = templates_copy / "provisional_registration" / "template.toml"
    meta.write_text(
        meta.read_text("utf-8").replace(
            'subject = "[Lentrance]仮登録完了のお知らせ"',
            'subject = "[Lentrance]仮登録完了のお知らせ {{ provider }}"',
        ),
        encoding="utf-8",
    )
    context = sample_context("provisional_registration", "sso", templates_copy)
    context["provider"] = hostile
    msg = render_message(
        "provisional_registration",
        to="taro@docomo.ne.jp",
        variant="sso",
        context=context,
        templates_dir=templates_copy,
    )
    parsed = reparse(msg)
    assert parsed["Bcc"] is None
    assert parsed["X-Injected"] is None
    assert len(parsed.get_all("Subject")) == 1
    assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]
    assert parsed["Subject"].startswith("[Lentrance]仮登録完了のお知らせ x")
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]


@pytest.mark.parametrize(
    "to",
    [
        pytest.param("taro@docomo.ne.jp\r\nBcc: victim@example.com", id="crlf"),
        pytest.param("taro@docomo.ne.jp\nBcc: victim@example.com", id="lf"),
        pytest.param("taro@docomo.ne.jp\x00", id="nul"),
    ],
)
def test_recipient_with_line_break_is_a_clear_error(to: str) -> None:
    with pytest.raises(ContextError, match="contains a line break or control character"):
        render_message("password_reset", to=to)


@pytest.mark.parametrize(
    ("to", "header"),
    [
        pytest.param("a..b@docomo.ne.jp", "a..b@docomo.ne.jp", id="legacy-double-dot"),
        pytest.param("abc.@ezweb.ne.jp", "abc.@ezweb.ne.jp", id="legacy-trailing-dot"),
        pytest.param("taro@例え.jp", "taro@xn--r8jz45g.jp", id="idn-domain"),
        pytest.param("a@docomo.ne.jp,b@au.com", "a@docomo.ne.jp, b@au.com", id="two-recipients"),
    ],
)
def test_recipient_header(to: str, header: str) -> None:
    parsed = reparse(render_message("password_reset", to=to))
    assert str(parsed["To"]) == header


@pytest.mark.parametrize(
    ("to", "message"),
    [
        pytest.param("たろう@example.jp", "non-ASCII characters before '@'", id="utf8-local"),
        pytest.param("taro.example.jp", "not an address", id="no-at"),
        pytest.param("@example.jp", "not an address", id="no-local"),
        pytest.param("a@b.jp,", "not an address of the form name@domain ('' is not)", id="comma"),
        pytest.param("Taro <a@b.jp>", "not one plain address", id="display-name"),
        pytest.param("a b@c.jp", "not one plain address", id="space"),
        pytest.param("a@b@c.jp", "not one plain address", id="two-at"),
    ],
)
def test_bad_recipient_is_a_clear_error(to: str, message: str) -> None:
    with pytest.raises(ContextError, match=re.escape(message)):
        render_message("password_reset", to=to)


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("<script>alert(1)</script>", id="script"),
        pytest.param('"><img src=x onerror=alert(1)>', id="attr-break"),
        pytest.param("</span></div><form action=x><input name=p>", id="close-and-form"),
        pytest.param("A&B &amp; <b>", id="ampersand"),
    ],
)
def test_html_escapes_variables(value: str) -> None:
    parts = render_parts(
        "registration_complete", to="taro@docomo.ne.jp", context={"customer_number": value}
    )
    shipped = _Elements(render_parts("registration_complete", to="taro@docomo.ne.jp").html)
    hostile = _Elements(parts.html)
    assert [tag for tag, _ in hostile.elements] == [tag for tag, _ in shipped.elements]
    assert value in "".join(hostile.text)  # shown as text, exactly as given
    assert value in parts.text  # the text part is plain text: nothing to escape


def test_hostile_url_variable_stays_inside_href() -> None:
    context = sample_context("password_reset")
    context["reset_url"] = 'https://lentrance.com/x" onclick="alert(1)'
    parts = render_parts("password_reset", to="taro@docomo.ne.jp", context=context)
    elements = _Elements(parts.html).elements
    assert not any(k.startswith("on") for _, attrs in elements for k in attrs)
    assert ("a", context["reset_url"]) in [(t, a.get("href")) for t, a in elements]


def test_missing_variable_is_an_error_naming_it() -> None:
    with pytest.raises(MissingVariable) as info:
        render_message(
            "provisional_registration",
            to="taro@docomo.ne.jp",
            variant="sso",
            context={"registration_url": "https://lentrance.com/r", "expires_at": "明日"},
        )
    assert info.value.name == "provider"
    assert str(info.value) == (
        "The template 'provisional_registration' uses the variable 'provider', but no value "
        "was given; pass it with --var provider=VALUE or in the --context file."
    )


def test_missing_site_fact_is_an_error_naming_it(templates_copy: Path) -> None:
    site = templates_copy / "_site.toml"
    site.write_text(site.read_text("utf-8").replace("support_url", "help_url"), "utf-8")
    with pytest.raises(MissingVariable, match="'support_url'"):
        render_message("password_reset", to="a@b.jp", templates_dir=templates_copy)


def test_empty_string_is_a_value_not_missing() -> None:
    parts = render_parts(
        "registration_complete", to="taro@docomo.ne.jp", context={"customer_number": ""}
    )
    assert "■お客様番号\n\n" in parts.text


@pytest.mark.parametrize(
    ("name", "variant", "message"),
    [
        pytest.param("welcome", None, "There is no template 'welcome'", id="unknown-template"),
        pytest.param("_layout.html.j2", None, "There is no template", id="layout-is-not-one"),
        pytest.param("../templates", None, "There is no template", id="path-traversal"),
        pytest.param(
            "provisional_registration",
            "line",
            "has no variant 'line'; its variants are: email, sso",
            id="unknown-variant",
        ),
    ],
)
def test_unknown_names_are_clear_errors(name: str, variant: str | None, message: str) -> None:
    with pytest.raises(UnknownTemplate, match=re.escape(message)):
        render_message(name, to="a@b.jp", variant=variant)


def test_bad_charset_is_a_clear_error() -> None:
    with pytest.raises(ContextError, match="'shift_jis' is not supported"):
        render_message("password_reset", to="a@b.jp", charset="shift_jis")
    # The parts alone too: the templates would otherwise declare a charset never used.
    with pytest.raises(ContextError, match="'shift_jis' is not supported"):
        render_parts("password_reset", to="a@b.jp", charset="shift_jis")


def test_jinja_syntax_error_names_file_and_line(templates_copy: Path) -> None:
    body = templates_copy / "password_reset" / "body.txt.j2"
    body.write_text(body.read_text("utf-8").replace("{{ reset_url }}", "{{ reset_url }"), "utf-8")
    with pytest.raises(TemplatingError, match=r"body\.txt\.j2 line \d+: .*fix the Jinja2 syntax"):
        render_message("password_reset", to="a@b.jp", templates_dir=templates_copy)


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        pytest.param(
            "_layout.txt.j2",
            "{% block content %}",
            "{% block content %}{% if %}",
            r"_layout\.txt\.j2 line \d+: .*fix the Jinja2 syntax there",
            id="layout-syntax",
        ),
        pytest.param(
            "password_reset/body.txt.j2",
            '{% extends "_layout.txt.j2" %}',
            '{% extends "_nope.txt.j2" %}',
            "uses the file '_nope.txt.j2', which does not exist",
            id="missing-layout",
        ),
        pytest.param(
            "password_reset/body.txt.j2",
            "{{ reset_url }}",
            "{{ reset_url + 1 }}",
            "Rendering the template 'password_reset' failed: TypeError:",
            id="expression-error",
        ),
    ],
)
def test_template_errors_are_clear(
    templates_copy: Path, file: str, old: str, new: str, message: str
) -> None:
    path = templates_copy / file
    path.write_text(path.read_text("utf-8").replace(old, new, 1), "utf-8")
    with pytest.raises(TemplatingError, match=message):
        render_message("password_reset", to="a@b.jp", templates_dir=templates_copy)


def test_missing_body_file_is_a_clear_error(templates_copy: Path) -> None:
    (templates_copy / "password_reset" / "body.html.j2").unlink()
    with pytest.raises(
        TemplatingError, match=re.escape("lacks the file 'password_reset/body.html.j2'")
    ):
        render_message("password_reset", to="a@b.jp", templates_dir=templates_copy)


def test_edits_to_a_copy_show_up_without_restarting(templates_copy: Path) -> None:
    body = templates_copy / "password_reset" / "body.txt.j2"
    first = render_parts("password_reset", to="a@b.jp", templates_dir=templates_copy)
    body.write_text(body.read_text("utf-8").replace("受け付けました", "承りました"), "utf-8")
    stat = body.stat()
    os.utime(body, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    second = render_parts("password_reset", to="a@b.jp", templates_dir=templates_copy)
    assert "受け付けました" in first.text and "承りました" in second.text


def test_html_has_inlined_css_and_no_style_block() -> None:
    parts = render_parts("provisional_registration", to="taro@docomo.ne.jp")
    assert "<style" not in parts.html
    assert 'class="button"' in parts.html and "style=" in parts.html
    assert "<script" not in parts.html and "<img" not in parts.html


@pytest.mark.parametrize(
    ("variant", "phrases"),
    [
        pytest.param("email", ["パスワードを設定してください", "/register/password?"], id="email"),
        pytest.param("sso", ["GoogleのIDでの会員登録", "会員登録を完了してください"], id="sso"),
    ],
)
def test_provisional_variants_say_what_the_link_does(variant: str, phrases: list[str]) -> None:
    text = render_parts("provisional_registration", to="a@b.jp", variant=variant).text
    for phrase in phrases:
        assert phrase in text


@pytest.mark.parametrize(
    ("name", "phrases"),
    [
        pytest.param(
            "provisional_registration",
            ["有効期限は", "お心当たりのない場合", "送信専用", "https://support.lentrance.com/"],
            id="provisional",
        ),
        pytest.param(
            "registration_complete",
            ["お客様番号", "1024-5839-6617", "大切に保管してください", "送信専用"],
            id="complete",
        ),
        pytest.param(
            "password_reset",
            ["有効期限は", "パスワードは変更されません", "送信専用"],
            id="reset",
        ),
        pytest.param(
            "withdrawal_complete",
            ["データは破棄されました", "同じメールアドレスで再度会員登録", "復旧されません"],
            id="withdrawal",
        ),
    ],
)
def test_templates_say_what_the_faq_promises(name: str, phrases: list[str]) -> None:
    parts = render_parts(name, to="taro@docomo.ne.jp")
    for phrase in phrases:
        assert phrase in parts.text
        assert phrase in parts.html


def test_templates_dir_resolution(
    monkeypatch: pytest.MonkeyPatch, templates_copy: Path, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert templates_dir() == REPO_TEMPLATES  # editable install: the repository's templates/
    monkeypatch.setenv(ENV_VAR, str(templates_copy))
    assert templates_dir() == templates_copy
    assert templates_dir(REPO_TEMPLATES) == REPO_TEMPLATES  # --templates beats the variable
    missing = tmp_path / "nope"
    with pytest.raises(TemplatesDirError, match=f"{ENV_VAR} at a copy"):
        templates_dir(missing)
    monkeypatch.setenv(ENV_VAR, str(missing))
    with pytest.raises(TemplatesDirError, match=f"from \\${ENV_VAR}"):
        templates_dir()


def test_environment_is_built_once_per_folder(templates_copy: Path) -> None:
    assert environment(REPO_TEMPLATES) is environment(REPO_TEMPLATES)
    assert environment(templates_copy) is not environment(REPO_TEMPLATES)


def test_environment_escapes_html_only_and_is_strict(tmp_path: Path) -> None:
    import jinja2

    for name in ("a.html.j2", "a.txt.j2", "a.html"):
        (tmp_path / name).write_text("{{ x }}", "utf-8")
    env = environment(tmp_path)
    assert env.get_template("a.html.j2").render(x="<b>") == "&lt;b&gt;"
    assert env.get_template("a.html").render(x="<b>") == "&lt;b&gt;"
    assert env.get_template("a.txt.j2").render(x="<b>") == "<b>"
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("a.txt.j2").render()
