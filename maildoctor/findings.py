"""Findings: what a check found about an address, and the verdict they add up to.

Finding codes, their severities and their messages are data (``data/findings.toml``);
this module turns a code plus evidence into a :class:`Finding` and applies the
contract's verdict rule.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Literal

Lang = Literal["ja", "en"]
LANGS: tuple[Lang, ...] = ("ja", "en")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Verdict(StrEnum):
    OK = "ok"
    RISKY = "risky"
    UNDELIVERABLE = "undeliverable"
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True)
class CodeSpec:
    """One row of the finding-code table."""

    code: str
    severity: Severity
    message_ja: str
    message_en: str
    advice: tuple[str, ...]
    """Advice ids (data/advice.toml) that this finding calls for, most useful first."""


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One cause of non-delivery (or a note) found for an address."""

    code: str
    """A finding code of the contract (data/findings.toml)."""
    severity: Severity
    message: str
    """One line in the report's language."""
    advice: tuple[str, ...] = ()
    """Advice ids from the catalog."""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    """What the finding rests on (the domain, the DNS answer, the suggestion...)."""

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON shape."""
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "advice": list(self.advice),
            "evidence": dict(self.evidence),
        }


@cache
def codes() -> dict[str, CodeSpec]:
    """The finding-code table, by code."""
    text = resources.files("maildoctor").joinpath("data/findings.toml").read_text("utf-8")
    return {
        code: CodeSpec(
            code=code,
            severity=Severity(row["severity"]),
            message_ja=row["message_ja"],
            message_en=row["message_en"],
            advice=tuple(row["advice"]),
        )
        for code, row in tomllib.loads(text).items()
    }


def make_finding(
    code: str, lang: Lang = "ja", *, severity: Severity | None = None, **evidence: Any
) -> Finding:
    """Build the finding ``code`` with its message in ``lang`` filled from ``evidence``.

    ``severity`` overrides the table's default for codes whose severity depends on
    the case (``implicit_mx`` is info or warning).
    """
    spec = codes()[code]
    template = spec.message_ja if lang == "ja" else spec.message_en
    return Finding(
        code=code,
        severity=severity or spec.severity,
        message=template.format_map(evidence),
        advice=spec.advice,
        evidence=evidence,
    )


def verdict_of(findings: Iterable[Finding]) -> Verdict:
    """The contract's rule: any error → undeliverable; else dns_unavailable → unknown;
    else any warning → risky; else ok."""
    found = list(findings)
    if any(f.severity == Severity.ERROR for f in found):
        return Verdict.UNDELIVERABLE
    if any(f.code == "dns_unavailable" for f in found):
        return Verdict.UNKNOWN
    if any(f.severity == Severity.WARNING for f in found):
        return Verdict.RISKY
    return Verdict.OK
