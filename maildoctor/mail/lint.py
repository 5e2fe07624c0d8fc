"""Lint a notification message: what would make it fail to reach or help the customer.

Pure: takes an :class:`~email.message.EmailMessage` (rendered from a template or
parsed from a file the service really sent) and returns findings. Every rule's
code, severity, message and fix live in one table, :data:`RULES`
(:mod:`maildoctor.mail.lint_rules`); the carriers' limits are data checked by
:mod:`maildoctor.mail.limits`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from email.message import EmailMessage, Message
from urllib.parse import parse_qsl, urlsplit

from publicsuffixlist import PublicSuffixList

from maildoctor.carriers import SENDER_DOMAIN
from maildoctor.findings import Severity
from maildoctor.mail.catalog import CONTRACT_SUBJECTS
from maildoctor.mail.htmlscan import links_of, scan_html, visible_text
from maildoctor.mail.limits import check_carrier_limits
from maildoctor.mail.lint_rules import (
    RULES,
    SHORTENER_HOSTS,
    TRACKING_PARAMETERS,
    LintFinding,
    Rule,
    lint_finding,
)
from maildoctor.mail.mime import MAX_LINE_OCTETS

__all__ = [
    "RULES",
    "SHORTENER_HOSTS",
    "LintFinding",
    "Rule",
    "allow_findings",
    "links_of",
    "lint_finding",
    "lint_message",
    "one_time_url",
    "summary",
]

#: Templates whose mail exists to carry a one-time link with an expiry.
_LINK_TEMPLATES = frozenset({"provisional_registration", "password_reset"})

_TOKEN_SEGMENT = re.compile(r"/[A-Za-z0-9_-]{16,}(?:/|$)")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,}")
#: A URL or a host name written out in a link's text.
_SHOWN_URL = re.compile(r"https?://[^\s<>\"']+|(?:[a-z0-9-]+\.)+[a-z]{2,}(?![a-z0-9.-])", re.I)
MAX_IMAGE_BYTES = 1024 * 1024
_EXPIRY = re.compile(r"有効期限.{0,60}?\d", re.DOTALL)
_CUSTOMER_NUMBER = re.compile(r"お客様番号\W{0,12}[0-9A-Za-z][0-9A-Za-z-]{3,}")
_SUBJECT_TEMPLATE = {subject: name for name, subject in CONTRACT_SUBJECTS.items()}


def _is_sender_host(host: str) -> bool:
    return host == SENDER_DOMAIN or host.endswith("." + SENDER_DOMAIN)


def _is_one_time_link(url: str) -> bool:
    """An https link on the sender's domain that carries a token (query or long segment)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not _is_sender_host((parts.hostname or "").lower()):
        return False
    return bool(parts.query) or bool(_TOKEN_SEGMENT.search(parts.path))


def _tokens(url: str) -> set[str]:
    """The token-like values a one-time link carries (long query values, long segments)."""
    parts = urlsplit(url)
    found = {v for _, v in parse_qsl(parts.query) if _TOKEN.fullmatch(v)}
    found |= {seg for seg in parts.path.split("/") if _TOKEN.fullmatch(seg)}
    return found


def one_time_url(values: dict[str, object]) -> tuple[str, str] | None:
    """(variable, URL) of the one-time link among a template's sample values, if any."""
    for name, value in values.items():
        if isinstance(value, str) and _is_one_time_link(value) and _tokens(value):
            return name, value
    return None


def _host(url: str) -> str:
    host = (urlsplit(url if "//" in url else "//" + url).hostname or "").lower().rstrip(".")
    return host.removeprefix("www.")


@functools.cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList(only_icann=True, accept_unknown=False)


def _shown_address(text: str) -> str | None:
    """The first URL, or host name under a real public suffix, a link's text shows
    (``report.pdf`` is a file name, not a host)."""
    for m in _SHOWN_URL.finditer(text):
        shown = m.group(0).rstrip(".,;:!?")
        if shown.lower().startswith(("http://", "https://")) or _psl().privatesuffix(shown.lower()):
            return shown
    return None


def _check_anchor(href: str, text: str) -> Iterable[LintFinding]:
    """A link whose text shows another URL or host than it opens (phishing-shaped)."""
    shown = _shown_address(text)
    if shown is None or href.lower().startswith("mailto:"):
        return
    if shown.lower().startswith(("http://", "https://")):
        differs = shown.rstrip("/") != href.strip().rstrip("/")
    else:
        differs = _host(shown) != _host(href)
    if differs:
        yield lint_finding("link_text_mismatch", shown=shown, url=href)


def _check_tracking(url: str, part: str) -> Iterable[LintFinding]:
    names = [k for k, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)]
    tracked = [k for k in names if k.lower().startswith("utm_") or k.lower() in TRACKING_PARAMETERS]
    if tracked:
        yield lint_finding("tracking_parameter", url=url, part=part, params=", ".join(tracked))


def _check_tokens(
    links: list[str], token_url: tuple[str, str] | None, parts: dict[str, list[str]]
) -> Iterable[LintFinding]:
    tokens = sorted({t for url in links if _is_one_time_link(url) for t in _tokens(url)})
    if len(tokens) > 1:
        yield lint_finding("token_not_unique", count=len(tokens), tokens=", ".join(tokens))
    if token_url is not None:
        variable, url = token_url
        for part, part_links in parts.items():
            if url not in part_links:
                yield lint_finding("token_placeholder_missing", variable=variable, part=part)


def _image_size(src: str, msg: EmailMessage) -> int | None:
    """Bytes of an image carried in the mail (a data: URI or a cid: part), None otherwise."""
    if src.lower().startswith("data:"):
        data = src.partition(",")[2]
        if ";base64" in src[:80].lower():
            return len("".join(data.split()).rstrip("=")) * 3 // 4
        return len(data)
    if src.lower().startswith("cid:"):
        wanted = "<" + src[4:].strip("<>") + ">"
        for part in msg.walk():
            if str(part.get("Content-ID", "")).strip() == wanted:
                payload = part.get_payload(decode=True)
                return len(payload) if isinstance(payload, bytes) else None
    return None


def _check_images(
    msg: EmailMessage, images: list[str], unsized: list[str]
) -> Iterable[LintFinding]:
    for src in dict.fromkeys(images):
        size = _image_size(src, msg)
        if size is not None and size > MAX_IMAGE_BYTES:
            yield lint_finding("image_too_large", src=src[:60], size=size)
    for src in dict.fromkeys(unsized):
        yield lint_finding("image_without_size", src=src[:60])


def _check_link(url: str, part: str) -> Iterable[LintFinding]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if host in SHORTENER_HOSTS:
        yield lint_finding("url_shortener", url=url, part=part, host=host)
    elif parts.scheme.lower() != "https" or not host:
        yield lint_finding("link_not_https", url=url, part=part)
    elif not _is_sender_host(host):
        yield lint_finding("link_foreign_domain", url=url, part=part, host=host)


def _content(part: Message | None) -> str | None:
    if part is None:
        return None
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, UnicodeError, AttributeError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else None
    return content if isinstance(content, str) else None


def _check_headers(msg: EmailMessage, raw: bytes) -> Iterable[LintFinding]:
    for header in ("From", "To", "Subject", "Date", "Message-ID"):
        if not str(msg.get(header, "") or "").strip():
            yield lint_finding("header_missing", header=header)
    header_block = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    seen: set[str] = set()
    current = ""
    for line in header_block.splitlines():
        if line[:1] not in (b" ", b"\t") and b":" in line:
            current = line.split(b":", 1)[0].decode("ascii", "replace")
        if not line.isascii() and current.lower() not in seen:
            seen.add(current.lower())
            yield lint_finding("header_not_encoded", header=current or "first")
    sender = msg.get("From")
    if sender:
        addresses = getattr(sender, "addresses", ())
        address = addresses[0].addr_spec if addresses else str(sender)
        if address.rpartition("@")[2].lower().rstrip(">") != SENDER_DOMAIN:
            yield lint_finding("from_domain", address=address)
    message_id = str(msg.get("Message-ID", "") or "").strip()
    if message_id and not message_id.rstrip(">").lower().endswith("@" + SENDER_DOMAIN):
        yield lint_finding("message_id_domain", message_id=message_id)


def _check_lines(raw: bytes) -> Iterable[LintFinding]:
    for number, line in enumerate(raw.splitlines(), start=1):
        if len(line) > MAX_LINE_OCTETS:
            yield lint_finding("line_too_long", line=number, length=len(line))
            break  # one is enough to act on


def _check_subject(subject: str, template: str | None) -> Iterable[LintFinding]:
    if not subject:
        return
    if template in CONTRACT_SUBJECTS:
        if subject != CONTRACT_SUBJECTS[template]:
            expected = CONTRACT_SUBJECTS[template]
            yield lint_finding(
                "subject_mismatch", actual=subject, expected=expected, template=template
            )
    elif template is None and subject not in _SUBJECT_TEMPLATE:
        yield lint_finding("subject_unknown", actual=subject)


def _check_structure(msg: EmailMessage) -> tuple[str | None, str | None, list[LintFinding]]:
    found: list[LintFinding] = []
    if msg.get_content_type() != "multipart/alternative":
        found.append(lint_finding("not_alternative", content_type=msg.get_content_type()))
    leaves = [p for p in msg.walk() if not p.is_multipart()]
    plain = next((p for p in leaves if p.get_content_type() == "text/plain"), None)
    html = next((p for p in leaves if p.get_content_type() == "text/html"), None)
    if plain is None:
        found.append(lint_finding("part_missing", part="text/plain"))
    if html is None:
        found.append(lint_finding("part_missing", part="text/html"))
    if plain is not None and html is not None and leaves.index(html) < leaves.index(plain):
        found.append(lint_finding("part_order"))
    texts: list[str | None] = []
    for label, part in (("text/plain", plain), ("text/html", html)):
        content = _content(part)
        if (
            part is not None
            and content
            and not content.isascii()
            and part.get_param("charset") is None
        ):
            found.append(lint_finding("charset_missing", part=label))
        texts.append(content)
    return texts[0], texts[1], found


def _check_html(html: str, msg: EmailMessage) -> tuple[list[str], list[str], list[LintFinding]]:
    scan = scan_html(html)
    found = [lint_finding("html_script", what=what) for what in dict.fromkeys(scan.scripts)]
    found += [lint_finding("html_form", tag=tag) for tag in dict.fromkeys(scan.forms)]
    found += [lint_finding("html_external_css", what=w) for w in dict.fromkeys(scan.external_css)]
    if scan.style_blocks:
        found.append(lint_finding("html_style_block"))
    found += [
        lint_finding("img_without_alt", src=src) for src in dict.fromkeys(scan.imgs_without_alt)
    ]
    found += [f for href, text in scan.anchors for f in _check_anchor(href, text)]
    found += _check_images(msg, scan.images, scan.imgs_without_size)
    return scan.links, scan.images, found


def _check_links(text_links: list[str], html_links: list[str]) -> Iterable[LintFinding]:
    for part, links in (("text/plain", text_links), ("text/html", html_links)):
        for url in dict.fromkeys(links):
            yield from _check_link(url, part)
            yield from _check_tracking(url, part)


def _check_parity(
    text: str | None, html: str | None, text_links: list[str], html_links: list[str]
) -> Iterable[LintFinding]:
    if text is None or html is None:
        return
    only_text = [u for u in dict.fromkeys(text_links) if u not in html_links]
    only_html = [u for u in dict.fromkeys(html_links) if u not in text_links]
    for part, links in (("text/plain", only_text), ("text/html", only_html)):
        if links:
            yield lint_finding("links_differ", part=part, links=", ".join(links))


def _check_content(
    template: str | None, text: str | None, html_text: str, links: list[str]
) -> Iterable[LintFinding]:
    body = (text or "") + "\n" + html_text
    if template in _LINK_TEMPLATES:
        if not any(_is_one_time_link(u) for u in links):
            yield lint_finding("link_missing", template=template)
        if not _EXPIRY.search(body):
            yield lint_finding("expiry_missing", template=template)
    if template == "registration_complete" and not _CUSTOMER_NUMBER.search(body):
        yield lint_finding("customer_number_missing")


def lint_message(
    msg: EmailMessage,
    *,
    template: str | None = None,
    raw: bytes | None = None,
    token_url: tuple[str, str] | None = None,
) -> list[LintFinding]:
    """Every problem found in one notification message, errors first.

    ``template`` names the notification the message should be (its subject and
    content rules); without it the template is recognised by its subject.
    ``raw`` is the message as sent, when available (a parsed message re-serialised
    may fold long header lines that the original did not). ``token_url`` is the
    (variable, one-time URL) the template was rendered with (:func:`one_time_url`):
    both parts must show it.
    """
    if raw is None:
        raw = msg.as_bytes()
    subject = str(msg.get("Subject", "") or "")
    kind = template if template is not None else _SUBJECT_TEMPLATE.get(subject)
    findings: list[LintFinding] = []
    findings += _check_subject(subject, template)
    findings += _check_headers(msg, raw)
    findings += _check_lines(raw)
    text, html, structure = _check_structure(msg)
    findings += structure
    text_links = links_of(text=text) if text is not None else []
    html_links: list[str] = []
    images: list[str] = []
    if html is not None:
        html_links, images, html_findings = _check_html(html, msg)
        findings += html_findings
    findings += _check_links(text_links, html_links)
    findings += _check_parity(text, html, text_links, html_links)
    html_text = visible_text(html) if html is not None else ""
    findings += _check_content(kind, text, html_text, text_links + html_links)
    parts = {"text/plain": text_links} | ({"text/html": html_links} if html is not None else {})
    findings += _check_tokens(text_links + html_links, token_url, parts)
    findings += check_carrier_limits(
        raw=raw, subject=subject, text=text, links=text_links + html_links, images=images
    )
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(findings, key=lambda f: order[f.severity])


def allow_findings(findings: Iterable[LintFinding], allow: Iterable[str]) -> list[LintFinding]:
    """The findings with those the allow list names marked ``allowed``.

    An entry is a rule id (``too_many_links``: every carrier) or ``RULE:CARRIER``
    (``message_too_large:softbank``: that carrier's limit only) or, for
    ``client_unsupported``, ``RULE:FEATURE`` (``client_unsupported:css-border-radius``).
    """
    entries = {entry.strip().lower() for entry in allow if entry.strip()}

    def allowed(f: LintFinding) -> bool:
        qualifiers = (f.carrier, f.feature)
        return f.code in entries or any(f"{f.code}:{q}" in entries for q in qualifiers if q)

    return [replace(f, allowed=True) if allowed(f) else f for f in findings]


def summary(results: Iterable[Sequence[LintFinding]]) -> dict[str, int]:
    """Counts of errors and warnings over several linted messages (one findings
    sequence each), allowed ones apart."""
    per_message = list(results)
    all_findings = [f for found in per_message for f in found]
    active = [f for f in all_findings if not f.allowed]
    return {
        "messages": len(per_message),
        "errors": sum(f.severity == Severity.ERROR for f in active),
        "warnings": sum(f.severity == Severity.WARNING for f in active),
        "allowed": len(all_findings) - len(active),
    }
