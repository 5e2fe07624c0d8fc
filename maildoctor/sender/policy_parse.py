"""Pure parsers for the sending domain's transport and brand records: MTA-STS (RFC 8461),
TLS-RPT (RFC 8460), BIMI (draft-brand-indicators-for-message-identification), TLSA for
SMTP (RFC 7672) and the DMARC tags of the DMARCbis draft.

The records are a few ``tag=value`` pairs or ``key: value`` lines, so they are read
here with the standard library (see ``policies`` for why not checkdmarc).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DMARC_DRAFT_TAGS",
    "DMARC_REMOVED_TAGS",
    "MtaStsPolicy",
    "mx_matches",
    "parse_mta_sts_policy",
    "parse_tag_list",
    "report_uris",
    "svg_problems",
    "tlsa_problems",
]

#: DMARCbis (draft-ietf-dmarc-dmarcbis) tags; ``pct``, ``rf`` and ``ri`` are removed by it.
DMARC_DRAFT_TAGS = frozenset(
    {"v", "p", "sp", "np", "psd", "t", "adkim", "aspf", "rua", "ruf", "fo"}
)
DMARC_REMOVED_TAGS = ("pct", "rf", "ri")
#: RFC 8461 3.2: max_age is at most a year.
MAX_AGE_LIMIT = 31557600


def parse_tag_list(record: str) -> dict[str, str]:
    """``"v=STSv1; id=1"`` -> ``{"v": "STSv1", "id": "1"}`` (first occurrence wins)."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags.setdefault(name.strip().lower(), value.strip())
    return tags


@dataclass(frozen=True, kw_only=True)
class MtaStsPolicy:
    """The policy file's fields (RFC 8461 3.2) and what is wrong with it."""

    version: str
    mode: str
    mx: tuple[str, ...]
    max_age: int | None
    problems: tuple[str, ...]


def parse_mta_sts_policy(text: str) -> MtaStsPolicy:
    """Read ``key: value`` lines (CRLF or LF); unknown keys are ignored (RFC 8461 3.2)."""
    fields: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), []).append(value.strip())
    problems = []
    version = (fields.get("version") or [""])[0]
    mode = (fields.get("mode") or [""])[0]
    mx = tuple(v.lower().rstrip(".") for v in fields.get("mx", []))
    max_age: int | None = None
    if version != "STSv1":
        problems.append(f"version is {version!r}, not 'STSv1'")
    if mode not in ("enforce", "testing", "none"):
        problems.append(f"mode is {mode!r}, not enforce, testing or none")
    raw_age = (fields.get("max_age") or [""])[0]
    if re.fullmatch(r"\d{1,10}", raw_age) and int(raw_age) <= MAX_AGE_LIMIT:
        max_age = int(raw_age)
    else:
        problems.append(f"max_age is {raw_age!r}, not 0..{MAX_AGE_LIMIT} seconds")
    if mode in ("enforce", "testing") and not mx:
        problems.append("no mx: line")
    return MtaStsPolicy(
        version=version, mode=mode, mx=mx, max_age=max_age, problems=tuple(problems)
    )


def mx_matches(host: str, patterns: Sequence[str]) -> bool:
    """RFC 8461 4.1: a pattern is a host name, or ``*.`` and one left-most label."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            head, _, rest = host.partition(".")
            if head and rest == pattern[2:]:
                return True
        elif host == pattern:
            return True
    return False


def report_uris(value: str) -> tuple[str, ...]:
    """The URIs of a ``rua=``/``ruf=`` value (comma-separated, ``!size`` suffix dropped)."""
    out = []
    for item in value.split(","):
        uri = item.strip()
        if uri:
            out.append(re.sub(r"!\d+[kmgt]?$", "", uri, flags=re.I))
    return tuple(out)


#: RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) SHOULD NOT be used for SMTP.
_TLSA_USAGES = {2: "DANE-TA", 3: "DANE-EE"}


def tlsa_problems(usage: int, selector: int, mtype: int) -> tuple[str, ...]:
    """What is wrong with one TLSA record's parameters for SMTP."""
    problems = []
    if usage not in _TLSA_USAGES:
        problems.append(f"usage {usage} (use 2 DANE-TA or 3 DANE-EE for SMTP, RFC 7672 3.1)")
    if selector not in (0, 1):
        problems.append(f"selector {selector} (0 or 1)")
    if mtype not in (0, 1, 2):
        problems.append(f"matching type {mtype} (0, 1 or 2)")
    return tuple(problems)


def svg_problems(body: bytes) -> tuple[str, ...]:
    """Where an SVG logo departs from the BIMI profile SVG Tiny Portable/Secure.

    A text check, not an XML parse: entity declarations are refused outright, and
    the size is bounded by the caller.
    """
    text = body.decode("utf-8", "replace")
    problems = []
    if "<!ENTITY" in text:
        return ("declares XML entities",)
    root = re.search(r"<svg\b[^>]*>", text)
    if root is None:
        return ("no <svg> element",)
    tag = root.group(0)
    if not re.search(r'baseProfile\s*=\s*["\']tiny-ps["\']', tag):
        problems.append('the <svg> element lacks baseProfile="tiny-ps"')
    if not re.search(r'version\s*=\s*["\']1\.2["\']', tag):
        problems.append('the <svg> element lacks version="1.2"')
    if re.search(r"\s(x|y)\s*=", tag):
        problems.append("the <svg> element has x= or y= attributes")
    if not re.search(r"<title\b", text):
        problems.append("no <title> element")
    if re.search(r"<script\b", text, re.I):
        problems.append("contains <script>")
    if re.search(r"""(?:xlink:)?href\s*=\s*["'](?!#)""", text):
        problems.append("refers to external resources (href)")
    if re.search(r"<(image|foreignObject|animate\w*|set)\b", text):
        problems.append("uses elements outside the Tiny PS profile (image, animation...)")
    return tuple(problems)
