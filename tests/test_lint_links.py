"""The link, token and image rules: shipped messages changed to trip each one."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from email.message import EmailMessage

import pytest

from maildoctor.mail.lint import LintFinding, allow_findings, lint_message, one_time_url
from maildoctor.mail.render import Rendered, build_message, load_template, render_parts

TO = "taro@docomo.ne.jp"
RESET = "https://lentrance.com/password/reset?token=Hn4Rt8Lq1Wv6Ys3Kd9Pm2Xc5"
Edit = Callable[[Rendered], Rendered]


def codes(findings: list[LintFinding]) -> set[str]:
    return {f.code for f in findings}


def html(old: str, new: str) -> Edit:
    return lambda r: dataclasses.replace(r, html=r.html.replace(old, new, 1))


def both(old: str, new: str) -> Edit:
    return lambda r: dataclasses.replace(
        r, text=r.text.replace(old, new), html=r.html.replace(old, new)
    )


def link(href: str, label: str) -> Edit:
    """Append a link to both parts (so the links-parity rule stays quiet)."""
    return lambda r: dataclasses.replace(
        r,
        text=r.text + f"\n{href}\n",
        html=r.html.replace("</body>", f'<a href="{href}">{label}</a></body>'),
    )


CASES = [
    # visible text naming another host or URL than the href: phishing-shaped
    (
        link("https://lentrance.com/login", "lentrance.com.example.net"),
        {"link_text_mismatch"},
        "host",
    ),
    (
        link("https://lentrance.com/login", "https://lentrance.com/mypage"),
        {"link_text_mismatch"},
        "url",
    ),
    (link("https://lentrance.com/login", "ログインはこちら"), set(), "words-ok"),
    (link("https://lentrance.com/login", "example.comからログイン"), {"link_text_mismatch"}, "jp"),
    (link("https://lentrance.com/guide", "guide.pdf を開く"), set(), "file-name-ok"),
    (link("https://lentrance.com/login", "lentrance.com"), set(), "same-host-ok"),
    (link("https://www.lentrance.com/login", "lentrance.com"), set(), "www-ok"),
    (link("https://lentrance.com/login/", "https://lentrance.com/login"), set(), "slash-ok"),
    # tracking parameters
    (
        link("https://lentrance.com/sale?utm_source=mail&utm_medium=x", "セール"),
        {"tracking_parameter"},
        "utm",
    ),
    (link("https://lentrance.com/a?fbclid=abc", "a"), {"tracking_parameter"}, "fbclid"),
    (link("https://lentrance.com/a?page=2", "a"), set(), "plain-query-ok"),
    # the one-time token: one token, from its variable, in both parts
    (
        html(RESET, RESET.replace("Hn4Rt8Lq1Wv6Ys3Kd9Pm2Xc5", "Zz9Rt8Lq1Wv6Ys3Kd9Pm2Xc5")),
        {"token_not_unique", "links_differ", "token_placeholder_missing"},
        "two-tokens",
    ),
    # images: size attributes, and over 1 MiB carried in the mail
    (
        html("</body>", '<img src="cid:logo" alt="" width="1" height="1"></body>'),
        set(),
        "sized-ok",
    ),
    (
        html("</body>", '<img src="cid:logo" alt="" width="1"></body>'),
        {"image_without_size"},
        "no-height",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), [pytest.param(e, x, id=i) for e, x, i in CASES])
def test_link_and_image_rules(edit: Edit, expected: set[str]) -> None:
    rendered = edit(render_parts("password_reset", to=TO))
    msg = build_message(rendered, to=TO)
    token = one_time_url(dict(load_template("password_reset").variant().sample))
    assert codes(lint_message(msg, template="password_reset", token_url=token)) == expected


def test_the_one_time_url_is_found_in_the_sample() -> None:
    info = load_template("provisional_registration")
    assert one_time_url(dict(info.variant("sso").sample)) == (
        "registration_url",
        "https://lentrance.com/register/sso/complete?token=F3kP8sQw2ZxV6nJr5HtY0MbC",
    )
    assert one_time_url({"store_url": "https://lentrance.com/"}) is None


def test_a_hard_coded_token_is_caught() -> None:
    """The template writes a fixed URL instead of {{ reset_url }}: the sample's URL is absent."""
    fixed = "https://lentrance.com/password/reset?token=AAAAAAAAAAAAAAAAAAAAAAAA"
    msg = build_message(both(RESET, fixed)(render_parts("password_reset", to=TO)), to=TO)
    found = lint_message(msg, template="password_reset", token_url=("reset_url", RESET))
    missing = [f for f in found if f.code == "token_placeholder_missing"]
    assert sorted(f.message for f in missing) == [
        "The one-time URL given to the template as reset_url does not appear in the text/html "
        "part.",
        "The one-time URL given to the template as reset_url does not appear in the text/plain "
        "part.",
    ]
    assert "{{ reset_url }}" in missing[0].fix


def _with_image(size: int, *, inline: bool) -> EmailMessage:
    msg = build_message(render_parts("password_reset", to=TO), to=TO)
    data = b"\x89PNG" + b"\0" * (size - 4)
    html_part = msg.get_body(("html",))
    assert html_part is not None
    if inline:
        src = "data:image/png;base64," + base64.b64encode(data).decode()
    else:
        html_part.add_related(data, "image", "png", cid="<logo@lentrance.com>")
        html_part = msg.get_body(("html",))
        assert html_part is not None
        src = "cid:logo@lentrance.com"
    content = html_part.get_content().replace(
        "</body>", f'<img src="{src}" alt="" width="10" height="10"></body>'
    )
    html_part.set_content(content, subtype="html")
    return msg


@pytest.mark.parametrize("inline", [True, False], ids=["data-uri", "cid-part"])
def test_images_over_one_mebibyte(inline: bool) -> None:
    small = _with_image(1024 * 1024, inline=inline)
    large = _with_image(1024 * 1024 + 1, inline=inline)
    assert "image_too_large" not in codes(lint_message(small, template="password_reset"))
    (finding,) = [
        f for f in lint_message(large, template="password_reset") if f.code == "image_too_large"
    ]
    assert "1048577 bytes" in finding.message


def test_link_rules_can_be_allowed() -> None:
    edit = link("https://lentrance.com/a?utm_source=mail", "a")
    found = lint_message(build_message(edit(render_parts("password_reset", to=TO)), to=TO))
    assert codes(found) == {"tracking_parameter"}  # once per part
    assert len(found) == 2
    assert all(f.allowed for f in allow_findings(found, ["tracking_parameter"]))
    assert not any(f.allowed for f in allow_findings(found, ["url_shortener"]))
