"""The carriers' limits a notification must stay within to arrive whole.

The figures, the carrier each belongs to and their sources are data
(``data/lint_limits.toml``); this module reads them once and checks one message
against them. Each finding names the carrier whose limit the mail breaks and
where that limit is documented, so that CI can allow one on purpose.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from maildoctor.carriers import CARRIERS
from maildoctor.findings import Severity
from maildoctor.mail.lint_rules import RULES, LintFinding

__all__ = ["CarrierLimit", "carrier_limits", "check_carrier_limits"]


@dataclass(frozen=True, kw_only=True)
class CarrierLimit:
    """One carrier's limit on one rule, with where it comes from."""

    rule: str
    """The lint rule id (a key of :data:`~maildoctor.mail.lint_rules.RULES`)."""
    carrier: str
    """The carrier's contract id."""
    severity: Severity
    value: int | None
    """The figure compared with (bytes, URLs, octets), None for a yes/no rule."""
    basis: str
    """carrier, observed or house: how firm the figure is."""
    sources: tuple[str, ...]

    @property
    def carrier_name(self) -> str:
        carrier = CARRIERS.get(self.carrier)
        return carrier.name_en if carrier else self.carrier

    def finding(self, **evidence: Any) -> LintFinding:
        """The finding for a message that breaks this limit."""
        rule = RULES[self.rule]
        values = {"carrier_name": self.carrier_name, "limit": self.value, **evidence}
        return LintFinding(
            code=self.rule,
            severity=self.severity,
            message=rule.message.format(**values),
            fix=rule.fix.format(**values),
            carrier=self.carrier,
            source="; ".join(self.sources),
            evidence=values,
        )


@functools.cache
def carrier_limits() -> tuple[CarrierLimit, ...]:
    """Every limit of ``data/lint_limits.toml``, in file order."""
    text = resources.files("maildoctor").joinpath("data/lint_limits.toml").read_text("utf-8")
    return tuple(
        CarrierLimit(
            rule=raw["rule"],
            carrier=raw["carrier"],
            severity=Severity(raw["severity"]),
            value=raw.get("value"),
            basis=raw["basis"],
            sources=tuple(raw["sources"]),
        )
        for raw in tomllib.loads(text)["limit"]
    )


def _limits(rule: str) -> list[CarrierLimit]:
    return [limit for limit in carrier_limits() if limit.rule == rule]


def _outside_jis_x0208(text: str) -> list[str]:
    """Characters ISO-2022-JP (RFC 1468: ASCII, JIS X 0201 Roman, JIS X 0208) cannot carry."""
    found: dict[str, None] = {}
    for ch in text:
        # U+FFFD stands for bytes that did not decode: charset_missing says why.
        if not ch.isascii() and ch != "\ufffd" and ch not in found:
            try:
                ch.encode("iso-2022-jp")
            except UnicodeEncodeError:
                found[ch] = None
    return list(found)


def _long_text_line(text: str, limit: int) -> tuple[int, int] | None:
    """(line number, octets) of the first text line over ``limit`` octets as ISO-2022-JP."""
    for number, line in enumerate(text.splitlines(), start=1):
        octets = len(line.encode("iso-2022-jp", "replace"))
        if octets > limit:
            return number, octets
    return None


def check_carrier_limits(
    *, raw: bytes, subject: str, text: str | None, links: Iterable[str], images: Iterable[str]
) -> list[LintFinding]:
    """Every carrier limit the message breaks, in the order of the data file.

    ``raw`` is the message as sent, ``text`` its text/plain part, ``links`` the
    URLs of both parts and ``images`` the src of every <img> of the HTML part.
    """
    found: list[LintFinding] = []
    for limit in _limits("message_too_large"):
        if limit.value is not None and len(raw) > limit.value:
            found.append(limit.finding(size=len(raw)))
    distinct = list(dict.fromkeys(links))
    for limit in _limits("too_many_links"):
        if limit.value is not None and len(distinct) > limit.value:
            found.append(limit.finding(count=len(distinct)))
    if text is not None:
        for limit in _limits("text_line_too_long"):
            long_line = _long_text_line(text, limit.value or 998)
            if long_line:
                found.append(limit.finding(line=long_line[0], length=long_line[1]))
    outside = _outside_jis_x0208(subject + "\n" + (text or ""))
    if outside:
        shown = "".join(outside[:10]) + ("..." if len(outside) > 10 else "")
        found += [limit.finding(chars=shown) for limit in _limits("not_jis_x0208")]
    remote = [
        src
        for src in dict.fromkeys(images)
        if urlsplit(src).scheme.lower() in ("http", "https") or src.startswith("//")
    ]
    if remote:
        found += [
            limit.finding(src=remote[0], count=len(remote)) for limit in _limits("remote_image")
        ]
    return found
