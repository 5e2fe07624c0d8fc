"""The notification templates as real MIME messages.

A templates folder (see ``templates/README.md``) holds one sub-folder per
notification with ``template.toml`` (subject, variables, variants, sample
data), ``body.txt.j2`` and ``body.html.j2``, both extending the shared layouts.
This module reads that catalog, renders a template with Jinja2 and builds an
:class:`email.message.EmailMessage` from the result: multipart/alternative,
text first, From ``Lentrance <no-reply@lentrance.com>``, RFC 2047 subject,
every line within RFC 5322's 998 octets, in UTF-8 or ISO-2022-JP.

Nothing here does I/O beyond reading the templates folder.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import base64mime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Literal

import css_inline
import idna
import jinja2

from maildoctor.carriers import SENDER_DOMAIN
from maildoctor.mail.templating import (
    ContextError,
    MissingVariable,
    TemplatesDirError,
    TemplatingError,
    UnencodableCharacter,
    UnknownTemplate,
    environment,
    templates_dir,
)

__all__ = [
    "BUILTIN_VARIABLES",
    "CHARSETS",
    "CONTRACT_SUBJECTS",
    "FROM_ADDRESS",
    "FROM_HEADER",
    "JST",
    "MAX_LINE_OCTETS",
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

Charset = Literal["utf-8", "iso-2022-jp"]
CHARSETS: tuple[Charset, ...] = ("utf-8", "iso-2022-jp")

#: The contract's notification mails and their exact subjects (shared/DESIGN.md).
#: Customers and the FAQ look for these subjects; lint compares against this table,
#: not against the (editable) template.toml.
CONTRACT_SUBJECTS: dict[str, str] = {
    "provisional_registration": "[Lentrance]仮登録完了のお知らせ",
    "registration_complete": "[Lentrance]会員登録完了のお知らせ",
    "password_reset": "[Lentrance]パスワード再設定のお知らせ",
    "withdrawal_complete": "[Lentrance]退会手続き完了のお知らせ",
}

#: Every notification comes from the domain the FAQ tells customers to allow.
FROM_ADDRESS = Address(display_name="Lentrance", username="no-reply", domain=SENDER_DOMAIN)
FROM_HEADER = str(FROM_ADDRESS)  # "Lentrance <no-reply@lentrance.com>"

#: Variables every template gets from render itself; a context cannot replace them.
BUILTIN_VARIABLES: dict[str, str] = {
    "to": "The recipient's address (--to).",
    "variant": "The variant being rendered.",
    "site": "Facts shared by every mail, from _site.toml (site.support_url, ...).",
    "subject": "The rendered subject (bodies only).",
    "charset": "The message's charset, utf-8 or iso-2022-jp (bodies only).",
}

#: Japan Standard Time: Lentrance's customers read the Date header in it.
JST = timezone(timedelta(hours=9), "JST")

# RFC 5322 section 2.1.1: a line is at most 998 octets plus CRLF.
MAX_LINE_OCTETS = 998

_META = "template.toml"
_SITE = "_site.toml"
_TEXT = "body.txt.j2"
_HTML = "body.html.j2"

# Control characters (and Unicode line separators) never reach a header: a value
# with CR or LF would otherwise start a new header line.
_HEADER_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_UNDEFINED = re.compile(r"'([^']+)' is undefined|has no attribute '([^']+)'")

_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One variant of a template (the sign-up path, for example) with its sample data."""

    name: str
    """``default`` for templates without variants."""
    description: str
    variables: Mapping[str, str] = field(default_factory=dict)
    """Variables only this variant uses, with what they hold."""
    sample: Mapping[str, Any] = field(default_factory=dict)
    """A realistic context that renders this variant."""


@dataclass(frozen=True, kw_only=True)
class TemplateInfo:
    """One notification template as ``template.toml`` describes it."""

    name: str
    """The folder name, e.g. ``provisional_registration``."""
    subject: str
    """The subject as written in ``template.toml`` (a Jinja2 template string)."""
    description: str
    variables: Mapping[str, str]
    """Variables every variant uses, with what they hold."""
    variants: tuple[Variant, ...]
    """At least one; the first is the default."""
    path: Path
    """The template's folder."""

    def variant(self, name: str | None = None) -> Variant:
        """The variant called ``name`` (the default one for ``None``)."""
        if name is None:
            return self.variants[0]
        for v in self.variants:
            if v.name == name:
                return v
        known = ", ".join(v.name for v in self.variants)
        raise UnknownTemplate(
            f"The template {self.name!r} has no variant {name!r}; its variants are: {known}."
        )

    def variables_of(self, variant: str | None = None) -> dict[str, str]:
        """All variables one variant needs (common ones first)."""
        return {**self.variables, **self.variant(variant).variables}


@dataclass(frozen=True, kw_only=True)
class Rendered:
    """The rendered pieces of one notification, before MIME encoding."""

    template: str
    variant: str
    subject: str
    """One line: control characters from variables are already turned into spaces."""
    text: str
    """The text/plain body."""
    html: str
    """The text/html body, CSS inlined."""


# --- the catalog -----------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except OSError as e:
        raise TemplatesDirError(f"Cannot read {str(path)!r}: {e.strerror}.") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise TemplatingError(f"{str(path)!r} is not valid UTF-8 TOML: {e}.") from e


def _str_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise TemplatingError(f'{where} must be a table of name = "description".')
    return {str(k): str(v) for k, v in value.items()}


@functools.lru_cache(maxsize=64)
def _load(path: Path, mtime_ns: int) -> TemplateInfo:
    meta_path = path / _META
    meta = _read_toml(meta_path)
    if not isinstance(meta.get("subject"), str):
        raise TemplatingError(f'{str(meta_path)!r} has no subject = "..." line.')
    raw_variants = meta.get("variants")
    if raw_variants:
        default = meta.get("default_variant")
        names = sorted(raw_variants, key=lambda n: (n != default, list(raw_variants).index(n)))
        variants = tuple(
            Variant(
                name=n,
                description=str(raw_variants[n].get("description", "")),
                variables=_str_map(
                    raw_variants[n].get("variables", {}), f"[variants.{n}.variables]"
                ),
                sample=dict(raw_variants[n].get("sample", {})),
            )
            for n in names
        )
    else:
        variants = (Variant(name="default", description="", sample=dict(meta.get("sample", {}))),)
    return TemplateInfo(
        name=path.name,
        subject=meta["subject"],
        description=str(meta.get("description", "")),
        variables=_str_map(meta.get("variables", {}), f"[variables] of {str(meta_path)!r}"),
        variants=variants,
        path=path,
    )


def _folder(tdir: Path | None) -> Path:
    return templates_dir() if tdir is None else Path(tdir)


def load_template(name: str, templates_dir: Path | None = None) -> TemplateInfo:
    """The template ``name`` of a templates folder (re-read when its template.toml changes)."""
    folder = _folder(templates_dir)
    path = folder / name
    try:
        if name.startswith(("_", ".")) or "/" in name or "\\" in name:
            raise FileNotFoundError(name)
        mtime_ns = os.stat(os.path.join(path, _META)).st_mtime_ns  # one stat per render
    except OSError:
        known = ", ".join(catalog(folder)) or "none"
        raise UnknownTemplate(
            f"There is no template {name!r} in {str(folder)!r}; the templates are: {known}."
        ) from None
    return _load(path, mtime_ns)


def catalog(templates_dir: Path | None = None) -> dict[str, TemplateInfo]:
    """Every template of a folder, by name: the sub-folders that hold a template.toml."""
    folder = _folder(templates_dir)
    names = sorted(
        p.name
        for p in folder.iterdir()
        if not p.name.startswith(("_", ".")) and (p / _META).is_file()
    )
    return {n: load_template(n, folder) for n in names}


def sample_context(
    name: str, variant: str | None = None, templates_dir: Path | None = None
) -> dict[str, Any]:
    """A copy of the sample data of one template variant."""
    return dict(load_template(name, templates_dir).variant(variant).sample)


@functools.lru_cache(maxsize=16)
def _site(path: Path, mtime_ns: int) -> dict[str, Any]:
    return _read_toml(path)


def _site_facts(folder: Path) -> dict[str, Any]:
    path = folder / _SITE
    try:
        mtime_ns = os.stat(path).st_mtime_ns
    except OSError:
        return {}
    return _site(path, mtime_ns)


# --- rendering -------------------------------------------------------------------


def _one_line(value: str) -> str:
    """A header-safe single line: CR, LF and other controls become one space."""
    return _HEADER_BREAKS.sub(" ", value).strip()


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


def _check_charset(value: str, charset: str, where: str) -> None:
    try:
        value.encode(charset)
    except UnicodeEncodeError as e:
        line = value.count("\n", 0, e.start) + 1
        raise UnencodableCharacter(value[e.start], charset, f"{where} (line {line})") from e


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
    folder = _folder(templates_dir)
    info = load_template(name, folder)
    chosen = info.variant(variant)
    env = environment(folder)
    values: dict[str, Any] = dict(chosen.sample if context is None else context)
    values.update(to=to, variant=chosen.name, site=_site_facts(folder))
    try:
        subject = _one_line(_render(_subject_template(env, info.subject), values, name))
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


# --- MIME --------------------------------------------------------------------------


_ADDRESS_SPECIALS = re.compile(r'[\s;<>()\[\]\\:"]')


def _recipient(to: str) -> str:
    """The To header value: addr-specs separated by ", ", IDN domains as A-labels.

    ``to`` is one address or several separated by commas (``maildoctor send``
    sends one message to all of them). Legacy carrier addresses
    (``a..b@docomo.ne.jp``) are kept as they are: real mailboxes that the
    harness and ``diagnose`` must be able to address. Anything that could add a
    recipient or a comment of its own is refused, so the value can go into the
    header as it is.
    """
    if _HEADER_BREAKS.search(to):
        raise ContextError(
            f"The recipient {to!r} contains a line break or control character; "
            "give one plain address."
        )
    return ", ".join(_one_address(address.strip(), to) for address in to.split(","))


def _one_address(address: str, given: str) -> str:
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise ContextError(
            f"The recipient {given!r} is not an address of the form name@domain"
            + (f" ({address!r} is not)." if address != given.strip() else ".")
        )
    if _ADDRESS_SPECIALS.search(local) or _ADDRESS_SPECIALS.search(domain) or "@" in local:
        raise ContextError(
            f"The recipient {address!r} is not one plain address (it has spaces, "
            "brackets, quotes or a second '@'); give the bare address name@domain."
        )
    if not local.isascii():
        raise ContextError(
            f"The recipient {address!r} has non-ASCII characters before '@'; such an "
            "address needs SMTPUTF8, which the notification mails do not use."
        )
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as e:
            raise ContextError(f"The domain of {address!r} is not a valid IDN: {e}.") from e
    return f"{local}@{domain}"


def _text_part(body: str, subtype: str, charset: str) -> EmailMessage:
    """One text/* part. ISO-2022-JP is 7bit by design (RFC 1468); UTF-8 Japanese
    travels as base64, which keeps it 7bit-clean with 76-octet lines."""
    encoded = body.encode(charset)
    if not encoded.endswith(b"\n"):
        encoded += b"\n"
    if charset == "iso-2022-jp" and all(
        len(line) <= MAX_LINE_OCTETS for line in encoded.splitlines()
    ):
        cte, payload = "7bit", encoded.decode("ascii")
    else:
        cte, payload = "base64", base64mime.body_encode(encoded, maxlinelen=76)
    part = EmailMessage()
    part.set_raw("Content-Type", f'text/{subtype}; charset="{charset}"')
    part.set_raw("Content-Transfer-Encoding", cte)
    part.set_payload(payload)
    return part


def build_message(
    rendered: Rendered, *, to: str, charset: str = "utf-8", now: datetime | None = None
) -> EmailMessage:
    """The MIME message for rendered parts: multipart/alternative, text first.

    Every header value is built here in its final RFC 5322 form (the subject as
    RFC 2047 encoded words) and stored with ``set_raw``: nothing a variable
    holds reaches a header unencoded, and the stdlib need not parse each header
    back (the costliest step of building a message).
    """
    if charset not in CHARSETS:
        raise ContextError(f"The charset {charset!r} is not supported; use utf-8 or iso-2022-jp.")
    text, html = rendered.text, rendered.html
    if charset == "iso-2022-jp":
        _check_charset(rendered.subject, charset, "subject")
        _check_charset(text, charset, "text part")
        # HTML can carry any character as a numeric reference; only text must fail.
        html = html.encode(charset, "xmlcharrefreplace").decode(charset)
    subject = _one_line(rendered.subject)
    header_charset = "us-ascii" if subject.isascii() else charset
    msg = EmailMessage()
    msg.set_raw("From", FROM_HEADER)
    msg.set_raw("To", _recipient(to))
    msg.set_raw("Subject", Header(subject, header_charset, header_name="Subject").encode())
    msg.set_raw("Date", format_datetime(now or datetime.now(JST)))
    msg.set_raw("Message-ID", make_msgid(domain=SENDER_DOMAIN))
    # RFC 3834: automatic mail, so that auto-responders do not answer it.
    msg.set_raw("Auto-Submitted", "auto-generated")
    msg.set_raw("MIME-Version", "1.0")
    # A random boundary: "=_" never occurs in base64 bodies, and no variable can
    # guess 128 random bits to end a part early (RFC 2046 section 5.1.1).
    boundary = f"=_lentrance_{secrets.token_hex(16)}"
    msg.set_raw("Content-Type", f'multipart/alternative;\n boundary="{boundary}"')
    msg.set_payload([_text_part(text, "plain", charset), _text_part(html, "html", charset)])
    return msg


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

    ``context`` None uses the variant's sample data. Raises a
    :class:`~maildoctor.mail.templating.TemplatingError` (a one-line message for the
    user) for an unknown template or variant, a missing variable, a bad
    recipient, or a character the charset cannot encode.
    """
    if charset not in CHARSETS:
        raise ContextError(f"The charset {charset!r} is not supported; use utf-8 or iso-2022-jp.")
    rendered = render_parts(
        name, to=to, context=context, variant=variant, templates_dir=templates_dir, charset=charset
    )
    return build_message(rendered, to=to, charset=charset, now=now)
