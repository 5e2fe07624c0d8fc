"""The notification templates as real MIME messages.

A template (see :mod:`maildoctor.mail.catalog` and ``templates/README.md``) is
rendered with Jinja2 into a subject, a text part and an HTML part (CSS inlined),
and :mod:`maildoctor.mail.mime` builds the message from them. The names of both
modules are re-exported here: ``maildoctor.mail.render`` is the one public surface.

Nothing here does I/O beyond reading the templates folder.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import css_inline
import jinja2

from maildoctor.mail.catalog import (
    CONTRACT_SUBJECTS,
    TemplateInfo,
    Variant,
    catalog,
    folder_of,
    load_template,
    sample_context,
    site_facts,
)
from maildoctor.mail.mime import (
    CHARSETS,
    FROM_ADDRESS,
    FROM_HEADER,
    JST,
    MAX_LINE_OCTETS,
    SMTP_POLICY,
    Rendered,
    build_message,
    one_line,
    require_charset,
)
from maildoctor.mail.templating import (
    MissingVariable,
    TemplatingError,
    environment,
)

__all__ = [
    "BUILTIN_VARIABLES",
    "CHARSETS",
    "CONTRACT_SUBJECTS",
    "FROM_ADDRESS",
    "FROM_HEADER",
    "JST",
    "MAX_LINE_OCTETS",
    "SMTP_POLICY",
    "Rendered",
    "TemplateInfo",
    "Variant",
    "build_message",
    "catalog",
    "load_template",
    "render_message",
    "render_parts",
    "sample_context",
]

#: Variables every template gets from render itself; a context cannot replace them.
BUILTIN_VARIABLES: dict[str, str] = {
    "to": "The recipient's address (--to).",
    "variant": "The variant being rendered.",
    "site": "Facts shared by every mail, from _site.toml (site.support_url, ...).",
    "subject": "The rendered subject (bodies only).",
    "charset": "The message's charset, utf-8 or iso-2022-jp (bodies only).",
}

_TEXT = "body.txt.j2"
_HTML = "body.html.j2"

_UNDEFINED = re.compile(r"'([^']+)' is undefined|has no attribute '([^']+)'")

#: keep_at_rules: @media rules (dark mode, narrow screens) cannot be inlined, so they stay
#: in a <style> block of their own; without any, no <style> is left.
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=True)


def _render(template: jinja2.Template, context: Mapping[str, Any], name: str) -> str:
    try:
        return template.render(context)
    except jinja2.UndefinedError as e:
        m = _UNDEFINED.search(str(e))
        variable = (m.group(1) or m.group(2)) if m else str(e)
        raise MissingVariable(variable, name) from e
    except jinja2.TemplateNotFound as e:  # a layout the template extends or includes
        raise TemplatingError(
            f"The template {name!r} uses the file {e.name!r}, which does not exist in the "
            "templates folder."
        ) from e
    except jinja2.TemplateSyntaxError as e:  # in a layout, compiled on first use
        raise TemplatingError(
            f"{e.filename or e.name} line {e.lineno}: {e.message}; fix the Jinja2 syntax there."
        ) from e
    except Exception as e:  # a template's own expression failed (a filter, arithmetic...)
        raise TemplatingError(
            f"Rendering the template {name!r} failed: {type(e).__name__}: {e}."
        ) from e


def _get(env: jinja2.Environment, path: str, name: str) -> jinja2.Template:
    try:
        return env.get_template(path)
    except jinja2.TemplateNotFound as e:
        raise TemplatingError(
            f"The template {name!r} lacks the file {e.name!r}; every template needs "
            f"{_TEXT} and {_HTML} (see templates/README.md)."
        ) from e
    except jinja2.TemplateSyntaxError as e:
        raise TemplatingError(
            f"{e.filename or path} line {e.lineno}: {e.message}; fix the Jinja2 syntax there."
        ) from e


@functools.lru_cache(maxsize=64)
def _subject_template(env: jinja2.Environment, source: str) -> jinja2.Template:
    return env.from_string(source)


def render_parts(
    name: str,
    *,
    to: str,
    context: Mapping[str, Any] | None = None,
    variant: str | None = None,
    templates_dir: Path | None = None,
    charset: str = "utf-8",
) -> Rendered:
    """Render the subject, text and HTML of a template (no MIME yet).

    ``context`` None renders the variant's sample data; a mapping is used as it
    is, so a variable it lacks is a :class:`MissingVariable` error.
    """
    require_charset(charset)
    folder = folder_of(templates_dir)
    info = load_template(name, folder)
    chosen = info.variant(variant)
    env = environment(folder)
    values: dict[str, Any] = dict(chosen.sample if context is None else context)
    values.update(to=to, variant=chosen.name, site=site_facts(folder))
    try:
        subject = one_line(_render(_subject_template(env, info.subject), values, name))
    except jinja2.TemplateSyntaxError as e:
        raise TemplatingError(
            f"The subject of {name!r} is not a valid Jinja2 template: {e.message}."
        ) from e
    values.update(subject=subject, charset=charset)
    text = _render(_get(env, f"{name}/{_TEXT}", name), values, name)
    html = _render(_get(env, f"{name}/{_HTML}", name), values, name)
    try:
        html = _INLINER.inline(html)
    except css_inline.InlineError as e:
        raise TemplatingError(f"The CSS of {name!r} could not be inlined: {e}.") from e
    return Rendered(template=name, variant=chosen.name, subject=subject, text=text, html=html)


def render_message(
    name: str,
    *,
    to: str,
    context: Mapping[str, Any] | None = None,
    variant: str | None = None,
    templates_dir: Path | None = None,
    charset: str = "utf-8",
    now: datetime | None = None,
) -> EmailMessage:
    """Render the notification ``name`` for ``to`` into a ready-to-send MIME message.

    The message has the ``email.policy.SMTP`` policy, so ``msg.as_bytes()`` is in
    SMTP's canonical form, every line ending in CRLF: give it to
    ``smtplib.SMTP.sendmail`` as it is (``send_message`` works too).

    ``context`` None uses the variant's sample data. Raises a
    :class:`~maildoctor.mail.templating.TemplatingError` (a one-line message for the
    user) for an unknown template or variant, a missing variable, a bad
    recipient, or a character the charset cannot encode.
    """
    rendered = render_parts(
        name, to=to, context=context, variant=variant, templates_dir=templates_dir, charset=charset
    )
    return build_message(rendered, to=to, charset=charset, now=now)
