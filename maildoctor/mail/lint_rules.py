"""The lint rules as one table: each rule's code (its id), severity and wording.

Wording changes happen here, not in the checks (:mod:`maildoctor.mail.lint`);
the carriers' figures the carrier rules compare with are data
(``data/lint_limits.toml``, :mod:`maildoctor.mail.limits`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maildoctor.carriers import SENDER_DOMAIN
from maildoctor.findings import Severity
from maildoctor.mail.mime import MAX_LINE_OCTETS

__all__ = [
    "RULES",
    "SHORTENER_HOSTS",
    "TRACKING_PARAMETERS",
    "LintFinding",
    "Rule",
    "lint_finding",
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
    """The rule id: a key of :data:`RULES`, what ``--allow`` takes."""
    severity: Severity
    message: str
    """What is wrong, in one sentence naming the value."""
    fix: str
    """What to change."""
    carrier: str | None = None
    """The carrier (contract id) whose limit the mail breaks; None for rules of the mail itself."""
    source: str | None = None
    """Where the carrier's limit is documented (the sources of ``data/lint_limits.toml``)."""
    feature: str | None = None
    """The caniemail feature (``client_unsupported``): ``--allow client_unsupported:FEATURE``."""
    allowed: bool = False
    """Allowed on purpose (``--allow`` or ``[tool.maildoctor.lint]``): shown, never fails."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "rule": self.code,
            "severity": str(self.severity),
            "carrier": self.carrier,
            "message": self.message,
            "fix": self.fix,
            "source": self.source,
            "feature": self.feature,
            "allowed": self.allowed,
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
        message="The message is {size} bytes; {carrier_name} refuses messages over {limit} bytes.",
        fix="Shrink the HTML (no embedded images, shorter CSS) below {limit} bytes.",
    ),
    "too_many_links": Rule(
        severity=E,
        message="The message has {count} distinct links; above {limit}, {carrier_name}'s URL and "
        "content filters treat a mail as advertising.",
        fix="Keep the one-time link and the few lentrance.com pages the customer needs; move "
        "the rest to a page on " + SENDER_DOMAIN + ".",
    ),
    "text_line_too_long": Rule(
        severity=E,
        message="Line {line} of the text part is {length} octets as ISO-2022-JP; {carrier_name} "
        "refuses lines over {limit} octets ('Line Too Long').",
        fix="Break the line: phones show short lines better anyway.",
    ),
    "not_jis_x0208": Rule(
        severity=W,
        message="The subject or text part has characters outside JIS X 0208 ({chars}); "
        "ISO-2022-JP cannot carry them, and {carrier_name} phones that read only ISO-2022-JP "
        "garble them.",
        fix="Replace them with JIS X 0208 characters (1 for ①, I for Ⅰ, full-width katakana for "
        "half-width).",
    ),
    "remote_image": Rule(
        severity=W,
        message="The HTML part loads {count} image(s) from a server ({src!r}); {carrier_name}'s "
        "mail shows only images carried in the mail, and mail apps block remote ones.",
        fix="Say everything in text; an image may only decorate (with alt text).",
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
    "link_text_mismatch": Rule(
        severity=E,
        message="A link in the text/html part shows {shown!r} but goes to {url!r}.",
        fix="Show the address the link really opens, or plain words: a link whose text names "
        "another URL or host is the shape of phishing, and filters score it so.",
    ),
    "tracking_parameter": Rule(
        severity=W,
        message="The link {url!r} in the {part} part carries tracking parameters ({params}).",
        fix="Leave them out of notification mail: they lengthen the URL a customer may have "
        "to copy by hand, and spam filters read tracked links as advertising.",
    ),
    "token_not_unique": Rule(
        severity=E,
        message="The one-time links of the mail carry {count} different tokens ({tokens}).",
        fix="Write the one-time URL from its one variable everywhere it appears: a customer "
        "who follows the other link reaches an invalid-link page.",
    ),
    "token_placeholder_missing": Rule(
        severity=E,
        message="The one-time URL given to the template as {variable} does not appear in the "
        "{part} part.",
        fix="Write {{{{ {variable} }}}} in the {part} part: a hard-coded or missing URL sends "
        "every customer to the same page, or to none.",
    ),
    "image_too_large": Rule(
        severity=E,
        message="The image {src!r} is {size} bytes, over 1 MiB (1,048,576 bytes).",
        fix="Shrink it well below 1 MiB: SoftBank's i.softbank.jp bounced messages over "
        "1,048,576 bytes, and phones on mobile data load it slowly.",
    ),
    "image_without_size": Rule(
        severity=W,
        message="The image {src!r} has no width and height attributes.",
        fix='Give it width="..." height="..." attributes: Outlook draws images at their file '
        "size without them, and the layout jumps while images are blocked or loading.",
    ),
    "client_unsupported": Rule(
        severity=W,
        message="{title} ({example}) is not supported by {where} ({version}).",
        fix="See {url} and look at the mail without it; if that is acceptable, allow it: "
        "--allow client_unsupported:{slug}.",
    ),
    "link_unreachable": Rule(
        severity=E,
        message="The link {url!r} could not be opened: {why}.",
        fix="Fix the URL or the page before sending: the customer cannot act on a broken link.",
    ),
    "link_refused": Rule(
        severity=E,
        message="The link {url!r} was not opened: {host!r} is {address}, a {kind} address "
        "--check-links never contacts.",
        fix="Link to the public " + SENDER_DOMAIN + " page: customers cannot reach a {kind} "
        "address either.",
    ),
    "spam_score": Rule(
        severity=E,
        message="SpamAssassin (spamd) scores the message {score} points, at or over its "
        "threshold of {required}: {rules}.",
        fix="Fix what the rules with the most points name; a message scored as spam goes to "
        "the junk folder or is refused.",
    ),
    "carrier_spoofing_warning": Rule(
        severity=E,
        message="{receiver}: {text}",
        fix="Publish DMARC for the From domain with SPF or DKIM aligned to it (maildoctor "
        "sender {domain} names the records); until then this carrier flags or refuses the "
        "mail.",
    ),
    "carrier_may_filter": Rule(
        severity=W,
        message="{receiver}: {text}",
        fix="Publish DKIM and DMARC for the From domain (maildoctor sender {domain} names the "
        "records).",
    ),
    "render_failed": Rule(
        severity=E,
        message="The template could not be rendered: {error}",
        fix="Fix the template or its sample data in template.toml.",
    ),
}

#: Query parameters that track a click rather than carry what the page needs.
TRACKING_PARAMETERS: frozenset[str] = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "vero_id", "oly_enc_id", "oly_anon_id",
        "_ke", "trk", "sc_cid", "s_cid", "ncid",
    }
)  # fmt: skip
"""Besides these, every parameter named ``utm_*``."""

#: Hosts of URL shortening services (carrier filters refuse mail linking to them).
SHORTENER_HOSTS: frozenset[str] = frozenset(
    {
        "bit.ly", "bitly.com", "t.co", "tinyurl.com", "goo.gl", "ow.ly", "is.gd", "buff.ly",
        "rebrand.ly", "cutt.ly", "shorturl.at", "t.ly", "x.gd", "v.gd", "amzn.to", "amzn.asia",
        "lnkd.in", "db.tt", "qr.ae", "adf.ly", "bl.ink", "tiny.cc", "rb.gy", "s.id", "urx.red",
        "x.co", "po.st", "soo.gd", "clck.ru", "u0u1.net", "00m.in", "ux.nu", "pst.cx", "lit.link",
    }
)  # fmt: skip


def lint_finding(
    code: str,
    *,
    carrier: str | None = None,
    source: str | None = None,
    feature: str | None = None,
    **evidence: Any,
) -> LintFinding:
    """The finding ``code`` of :data:`RULES`, its wording filled from ``evidence``."""
    rule = RULES[code]
    return LintFinding(
        code=code,
        severity=rule.severity,
        message=rule.message.format(**evidence),
        fix=rule.fix.format(**evidence),
        carrier=carrier,
        source=source,
        feature=feature,
    )
