"""The lint rules as one table: each rule's code (its id), severity and wording.

Wording changes happen in ``data/lint_words.toml`` (both languages), not in the checks
(:mod:`maildoctor.mail.lint`);
the carriers' figures the carrier rules compare with are data
(``data/lint_limits.toml``, :mod:`maildoctor.mail.limits`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

from maildoctor.findings import Lang, Severity

__all__ = [
    "RULES",
    "SEVERITIES",
    "SHORTENER_HOSTS",
    "TRACKING_PARAMETERS",
    "LintFinding",
    "Rule",
    "lint_finding",
    "lint_words",
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
    evidence: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The values the words are filled with (:meth:`worded` fills another language's)."""

    def worded(self, lang: Lang) -> LintFinding:
        """This finding with its message and fix in ``lang`` (``data/lint_words.toml``)."""
        words = lint_words()[self.code][lang]
        return replace(
            self,
            message=words["message"].format(**self.evidence),
            fix=words["fix"].format(**self.evidence),
        )

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

#: Every rule's severity, by code; its words (message and fix, in Japanese and English)
#: are data: ``data/lint_words.toml``.
SEVERITIES: dict[str, Severity] = {
    "subject_mismatch": E,
    "subject_unknown": W,
    "header_missing": E,
    "from_domain": E,
    "message_id_domain": W,
    "header_not_encoded": E,
    "line_too_long": E,
    "message_too_large": E,
    "too_many_links": E,
    "text_line_too_long": E,
    "not_jis_x0208": W,
    "remote_image": W,
    "not_alternative": E,
    "part_missing": E,
    "part_order": W,
    "charset_missing": E,
    "links_differ": E,
    "link_not_https": E,
    "link_foreign_domain": E,
    "url_shortener": E,
    "link_missing": E,
    "expiry_missing": E,
    "customer_number_missing": E,
    "html_script": E,
    "html_form": E,
    "html_external_css": E,
    "html_style_block": W,
    "img_without_alt": E,
    "link_text_mismatch": E,
    "tracking_parameter": W,
    "token_not_unique": E,
    "token_placeholder_missing": E,
    "image_too_large": E,
    "image_without_size": W,
    "client_unsupported": W,
    "link_unreachable": E,
    "link_refused": E,
    "spam_score": E,
    "carrier_spoofing_warning": E,
    "carrier_may_filter": W,
    "render_failed": E,
}


@cache
def lint_words() -> dict[str, dict[Lang, dict[str, str]]]:
    """``{code: {lang: {"message": ..., "fix": ...}}}`` from ``data/lint_words.toml``."""
    text = resources.files("maildoctor").joinpath("data/lint_words.toml").read_text("utf-8")
    return tomllib.loads(text)


#: Every lint rule, by code, worded in English (what ``--format json`` and the
#: harness show); :meth:`LintFinding.worded` gives another language.
RULES: dict[str, Rule] = {
    code: Rule(
        severity=severity,
        message=lint_words()[code]["en"]["message"],
        fix=lint_words()[code]["en"]["fix"],
    )
    for code, severity in SEVERITIES.items()
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
        evidence=evidence,
    )
