"""Lint a notification message: what would make it fail to reach or help the customer.

Pure: takes an :class:`~email.message.EmailMessage` (rendered from a template or
parsed from a file the service really sent) and returns findings. Every rule's
code, severity, message and fix live in one table, :data:`RULES`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage, Message
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from maildoctor.carriers import SENDER_DOMAIN
from maildoctor.findings import Severity
from maildoctor.mail.render import CONTRACT_SUBJECTS, MAX_LINE_OCTETS

__all__ = [
    "RULES",
    "SHORTENER_HOSTS",
    "LintFinding",
    "Rule",
    "links_of",
    "lint_finding",
    "lint_message",
    "summary",
]


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One lint rule: its severity and the wording of its finding."""

    severity: Severity
    message: str
    """A sentence saying what is wrong, ``str.format``-ed with the finding's evidence."""
    fix: str
    """A sentence saying what to change, formatted the same way."""


@dataclass(frozen=True, kw_only=True)
class LintFinding:
    """One problem found in a notification message."""

    code: str
    """A key of :data:`RULES`."""
    severity: Severity
    message: str
    """What is wrong, in one sentence naming the value."""
    fix: str
    """What to change."""

    def to_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "fix": self.fix,
        }


E, W = Severity.ERROR, Severity.WARNING

#: Every lint rule, by code. Data, not code: wording changes happen here.
RULES: dict[str, Rule] = {
    "subject_mismatch": Rule(
        severity=E,
        message="The subject is {actual!r}, but the contract's subject for {template} is "
        "{expected!r}.",
        fix="Set subject = {expected!r} in {template}/template.toml: the FAQ tells customers "
        "to look for exactly this subject.",
    ),
    "subject_unknown": Rule(
        severity=W,
        message="The subject {actual!r} is not one of the Lentrance notification subjects.",
        fix="Use a subject from the contract table (maildoctor templates lists them), or lint "
        "this message with the template it comes from.",
    ),
    "header_missing": Rule(
        severity=E,
        message="The message has no {header} header.",
        fix="Add a {header} header; carriers reject or junk mail without it (SoftBank rejects "
        "an empty From or Message-ID).",
    ),
    "from_domain": Rule(
        severity=E,
        message="The From address is {address!r}, not an address at " + SENDER_DOMAIN + ".",
        fix="Send from no-reply@" + SENDER_DOMAIN + ": the FAQ tells customers to allow "
        "mail from @" + SENDER_DOMAIN + " in their domain receive settings.",
    ),
    "message_id_domain": Rule(
        severity=W,
        message="The Message-ID {message_id!r} is not at " + SENDER_DOMAIN + ".",
        fix="Generate Message-IDs at @" + SENDER_DOMAIN + " (email.utils.make_msgid(domain=...)).",
    ),
    "header_not_encoded": Rule(
        severity=E,
        message="The {header} header holds raw non-ASCII bytes.",
        fix="Encode it as RFC 2047 encoded words (=?utf-8?b?...?= or =?iso-2022-jp?b?...?=); "
        "carrier servers and old phones garble raw 8-bit headers.",
    ),
    "line_too_long": Rule(
        severity=E,
        message="Line {line} of the message is {length} octets long; RFC 5322 allows at most "
        + str(MAX_LINE_OCTETS)
        + ".",
        fix="Fold the header, or send the part as base64 or quoted-printable so that every "
        "line stays short; servers may break or reject longer lines.",
    ),
    "message_too_large": Rule(
        severity=E,
        message="The message is {size} bytes; carrier mail refuses messages over {limit} bytes.",
        fix="Shrink the HTML (no embedded images, shorter CSS): SoftBank rejects messages over "
        "1 MB.",
    ),
    "not_alternative": Rule(
        severity=E,
        message="The message is {content_type}, not multipart/alternative.",
        fix="Send multipart/alternative with a text/plain part and a text/html part.",
    ),
    "part_missing": Rule(
        severity=E,
        message="The message has no {part} part.",
        fix="Add the {part} part: phones that refuse HTML mail show the text part, and mail "
        "apps show the HTML part.",
    ),
    "part_order": Rule(
        severity=W,
        message="The text/html part comes before the text/plain part.",
        fix="Put text/plain first: RFC 2046 orders alternatives from plainest to richest, and "
        "clients show the last one they understand.",
    ),
    "charset_missing": Rule(
        severity=E,
        message="The {part} part has non-ASCII text but no charset parameter.",
        fix="Declare charset=utf-8 or charset=iso-2022-jp in its Content-Type.",
    ),
    "links_differ": Rule(
        severity=E,
        message="Links only in the {part} part: {links}.",
        fix="Put the same links in both parts, so that a reader of either part can act on the "
        "mail.",
    ),
    "link_not_https": Rule(
        severity=E,
        message="The link {url!r} in the {part} part is not an absolute https URL.",
        fix="Write the full https://" + SENDER_DOMAIN + "/... URL; relative and http links "
        "break in mail clients and look like phishing.",
    ),
    "link_foreign_domain": Rule(
        severity=E,
        message="The link {url!r} in the {part} part points to {host!r}, not to "
        + SENDER_DOMAIN
        + ".",
        fix="Link only to " + SENDER_DOMAIN + " and its subdomains: carrier URL filters and "
        "spam filters distrust links to other domains.",
    ),
    "url_shortener": Rule(
        severity=E,
        message="The link {url!r} in the {part} part uses the URL shortener {host!r}.",
        fix="Use the full " + SENDER_DOMAIN + " URL: carrier filters refuse mail with shortened "
        "URLs.",
    ),
    "link_missing": Rule(
        severity=E,
        message="The {template} mail has no one-time link to " + SENDER_DOMAIN + " (an https "
        "URL carrying its token) for the customer to follow.",
        fix="Put the one-time URL in both parts; the customer cannot go on without it.",
    ),
    "expiry_missing": Rule(
        severity=E,
        message="The {template} mail does not say until when its link is valid.",
        fix="Add a line such as 「URLの有効期限は 2026年11月25日(水) 21:30 までです。」 to both "
        "parts.",
    ),
    "customer_number_missing": Rule(
        severity=E,
        message="The registration_complete mail does not show the customer number (お客様番号).",
        fix="Show 「お客様番号」 and the number in both parts: the FAQ tells customers to keep "
        "this mail for enquiries.",
    ),
    "html_script": Rule(
        severity=E,
        message="The HTML part has {what}.",
        fix="Remove it: mail clients strip scripts and spam filters score them as malicious.",
    ),
    "html_form": Rule(
        severity=E,
        message="The HTML part has a <{tag}> element.",
        fix="Remove the form and link to the page on " + SENDER_DOMAIN + " instead; mail "
        "clients disable forms.",
    ),
    "html_external_css": Rule(
        severity=E,
        message="The HTML part loads external CSS ({what}).",
        fix="Put the CSS in the layout's <style> block, which css-inline turns into style "
        "attributes; mail clients do not load stylesheets.",
    ),
    "html_style_block": Rule(
        severity=W,
        message="The HTML part still has a <style> block.",
        fix="Inline the CSS (maildoctor render does it with css-inline); many clients, carrier "
        "phones among them, drop <style>.",
    ),
    "img_without_alt": Rule(
        severity=E,
        message="The image {src!r} in the HTML part has no alt attribute.",
        fix='Give every <img> an alt text (alt="" for decoration): most clients block images '
        "until the reader allows them.",
    ),
    "render_failed": Rule(
        severity=E,
        message="The template could not be rendered: {error}",
        fix="Fix the template or its sample data in template.toml.",
    ),
}

#: Hosts of URL shortening services (carrier filters refuse mail linking to them).
SHORTENER_HOSTS: frozenset[str] = frozenset(
    {
        "bit.ly", "bitly.com", "t.co", "tinyurl.com", "goo.gl", "ow.ly", "is.gd", "buff.ly",
        "rebrand.ly", "cutt.ly", "shorturl.at", "t.ly", "x.gd", "v.gd", "amzn.to", "amzn.asia",
        "lnkd.in", "db.tt", "qr.ae", "adf.ly", "bl.ink", "tiny.cc", "rb.gy", "s.id", "urx.red",
        "x.co", "po.st", "soo.gd", "clck.ru", "u0u1.net", "00m.in", "ux.nu", "pst.cx", "lit.link",
    }
)  # fmt: skip

#: SoftBank rejects messages over 1 MB (shared/data/carriers-jp.md section 4.2).
MAX_MESSAGE_BYTES = 1_048_576

#: Templates whose mail exists to carry a one-time link with an expiry.
_LINK_TEMPLATES = frozenset({"provisional_registration", "password_reset"})

_TEXT_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()（）「」『』、。]+", re.IGNORECASE)
_TOKEN_SEGMENT = re.compile(r"/[A-Za-z0-9_-]{16,}(?:/|$)")
_EXPIRY = re.compile(r"有効期限.{0,60}?\d", re.DOTALL)
_CUSTOMER_NUMBER = re.compile(r"お客様番号\W{0,12}[0-9A-Za-z][0-9A-Za-z-]{3,}")
_CSS_IMPORT = re.compile(r"@import|url\(\s*['\"]?\s*(?:https?:)?//", re.IGNORECASE)
_SUBJECT_TEMPLATE = {subject: name for name, subject in CONTRACT_SUBJECTS.items()}


def lint_finding(code: str, **evidence: Any) -> LintFinding:
    """The finding ``code`` of :data:`RULES`, its wording filled from ``evidence``."""
    rule = RULES[code]
    return LintFinding(
        code=code,
        severity=rule.severity,
        message=rule.message.format(**evidence),
        fix=rule.fix.format(**evidence),
    )


class _HTMLScan(HTMLParser):
    """Collects what the HTML rules look at, in one pass."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.scripts: list[str] = []
        self.forms: list[str] = []
        self.external_css: list[str] = []
        self.style_blocks = 0
        self.imgs_without_alt: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"].strip())
        elif tag in ("script", "iframe", "object", "embed"):
            self.scripts.append(f"a <{tag}> element")
        elif tag in ("form", "input", "textarea", "select", "button"):
            self.forms.append(tag)
        elif tag == "link" and "stylesheet" in a.get("rel", "").lower():
            self.external_css.append(f"<link href={a.get('href', '')!r}>")
        elif tag == "style":
            self.style_blocks += 1
            self._in_style = True
        elif tag == "img" and "alt" not in a:
            self.imgs_without_alt.append(a.get("src", ""))
        for name, value in a.items():
            if name.startswith("on"):
                self.scripts.append(f"an event handler attribute {name}=")
            elif name in ("href", "src", "action") and value.lower().lstrip().startswith(
                "javascript:"
            ):
                self.scripts.append(f"a javascript: URL in {name}=")
            elif name == "style" and _CSS_IMPORT.search(value):
                self.external_css.append(f"style={value[:60]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and _CSS_IMPORT.search(data):
            self.external_css.append("@import or url() in <style>")


def _scan_html(html: str) -> _HTMLScan:
    scan = _HTMLScan()
    scan.feed(html)
    scan.close()
    return scan


def links_of(text: str | None = None, html: str | None = None) -> list[str]:
    """The links of a text part (URLs written out) or an HTML part (<a href>), in order."""
    if html is not None:
        return _scan_html(html).links
    return [m.group(0).rstrip(".,;:!?") for m in _TEXT_URL.finditer(text or "")]


def _is_sender_host(host: str) -> bool:
    return host == SENDER_DOMAIN or host.endswith("." + SENDER_DOMAIN)


def _is_one_time_link(url: str) -> bool:
    """An https link on the sender's domain that carries a token (query or long segment)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not _is_sender_host((parts.hostname or "").lower()):
        return False
    return bool(parts.query) or bool(_TOKEN_SEGMENT.search(parts.path))


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
    if len(raw) > MAX_MESSAGE_BYTES:
        yield lint_finding("message_too_large", size=len(raw), limit=MAX_MESSAGE_BYTES)
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


def _check_html(html: str) -> tuple[list[str], list[LintFinding]]:
    scan = _scan_html(html)
    found = [lint_finding("html_script", what=what) for what in dict.fromkeys(scan.scripts)]
    found += [lint_finding("html_form", tag=tag) for tag in dict.fromkeys(scan.forms)]
    found += [lint_finding("html_external_css", what=w) for w in dict.fromkeys(scan.external_css)]
    if scan.style_blocks:
        found.append(lint_finding("html_style_block"))
    found += [
        lint_finding("img_without_alt", src=src) for src in dict.fromkeys(scan.imgs_without_alt)
    ]
    return scan.links, found


def _check_links(text_links: list[str], html_links: list[str]) -> Iterable[LintFinding]:
    for part, links in (("text/plain", text_links), ("text/html", html_links)):
        for url in dict.fromkeys(links):
            yield from _check_link(url, part)


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


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def _visible_text(html: str) -> str:
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    return "".join(parser.chunks)


def lint_message(
    msg: EmailMessage, *, template: str | None = None, raw: bytes | None = None
) -> list[LintFinding]:
    """Every problem found in one notification message, errors first.

    ``template`` names the notification the message should be (its subject and
    content rules); without it the template is recognised by its subject.
    ``raw`` is the message as sent, when available (a parsed message re-serialised
    may fold long header lines that the original did not).
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
    if html is not None:
        html_links, html_findings = _check_html(html)
        findings += html_findings
    findings += _check_links(text_links, html_links)
    findings += _check_parity(text, html, text_links, html_links)
    html_text = _visible_text(html) if html is not None else ""
    findings += _check_content(kind, text, html_text, text_links + html_links)
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(findings, key=lambda f: order[f.severity])


def summary(results: Mapping[str, list[LintFinding]]) -> dict[str, int]:
    """Counts of errors and warnings over several linted messages."""
    all_findings = [f for found in results.values() for f in found]
    return {
        "messages": len(results),
        "errors": sum(f.severity == Severity.ERROR for f in all_findings),
        "warnings": sum(f.severity == Severity.WARNING for f in all_findings),
    }
