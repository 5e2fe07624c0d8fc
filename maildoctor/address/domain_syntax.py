"""Domain syntax: host names (LDH labels, IDNA 2008 with UTS 46) and address literals.

Split from :mod:`maildoctor.address.syntax` by job: this module judges the part
after the ``@``; that one the address as a whole and its local part. The
shared :class:`SyntaxProblem` and its helpers live here so both can use them.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import idna

from maildoctor.words import words

__all__ = ["MAX_DOMAIN_OCTETS", "MAX_LABEL_OCTETS", "SyntaxProblem", "check_domain"]

MAX_DOMAIN_OCTETS = 253  # RFC 1035 2.3.4 (255 on the wire)
MAX_LABEL_OCTETS = 63  # RFC 1035 2.3.4

_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


@dataclass(frozen=True, kw_only=True)
class SyntaxProblem:
    """Why an address is not valid, in both languages."""

    code: str
    """A short machine name: ``no_at``, ``local_too_long``, ``fullwidth``..."""
    reason_ja: str
    reason_en: str


def _problem(code: str, key: str | None = None, **fields: object) -> SyntaxProblem:
    """The problem ``code`` with its reason in both languages, from data/words.toml
    [syntax_problems] (``key``: which wording of the code; default the code itself)."""
    ja, en = (words("syntax_problems", lang)[key or code] for lang in ("ja", "en"))
    return SyntaxProblem(code=code, reason_ja=ja.format(**fields), reason_en=en.format(**fields))


def _octets(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _show(char: str) -> str:
    """A character as a reader can see it (control characters by name)."""
    if char.isprintable() and not char.isspace():
        return f"「{char}」" if not char.isascii() else repr(char)
    name = unicodedata.name(char, "") or f"U+{ord(char):04X}"
    return f"U+{ord(char):04X} {name}".strip()


@lru_cache(maxsize=65536)
def check_domain(domain: str) -> tuple[str, str, bool] | SyntaxProblem:
    """(ascii_domain, unicode_domain, is_literal), or the problem.

    Cached: a member list has many addresses per domain, and IDNA is the costly part.
    """
    if domain.startswith("["):
        return _check_literal(domain)
    if domain.endswith("."):
        return _problem("domain_dot")
    if domain.isascii():
        ascii_domain = domain.lower()
        labels = ascii_domain.split(".")
        for label in labels:
            problem = _check_label(label)
            if problem:
                return problem
            if label.startswith("xn--"):
                try:
                    idna.decode(label)
                except idna.IDNAError:
                    return _problem("idna", key="idna_label", label=label)
        try:
            unicode_domain = idna.decode(ascii_domain) if "xn--" in ascii_domain else ascii_domain
        except idna.IDNAError:
            unicode_domain = ascii_domain
    else:
        try:
            # UTS 46 mapping (non-transitional, as browsers and email-validator do).
            ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
            unicode_domain = idna.decode(ascii_domain)
        except (idna.IDNAError, UnicodeError) as e:
            return _problem("idna", key="idna_domain", domain=domain, error=e)
        for label in ascii_domain.split("."):
            problem = _check_label(label)
            if problem:
                return problem
    labels = ascii_domain.split(".")
    if len(labels) < 2:
        return _problem("domain_no_dot")
    tld = labels[-1]
    if not (tld.isalpha() or tld.startswith("xn--")):
        # No top-level domain has digits or hyphens (RFC 3696 2; IANA root zone).
        return _problem("domain_tld", tld=tld)
    if len(ascii_domain) > MAX_DOMAIN_OCTETS:
        return _problem("domain_too_long", octets=len(ascii_domain), limit=MAX_DOMAIN_OCTETS)
    return ascii_domain, unicode_domain, False


def _check_label(label: str) -> SyntaxProblem | None:
    if label == "":
        return _problem("domain_dots")
    if len(label) > MAX_LABEL_OCTETS:
        return _problem(
            "label_too_long", label=label[:20], octets=len(label), limit=MAX_LABEL_OCTETS
        )
    if label[2:4] == "--" and not label.startswith("xn--"):
        # IDNA 2008 (RFC 5891 4.2.3.1) reserves "??--" for encodings other than Punycode.
        return _problem("domain_hyphen", key="domain_hyphen34", label=label)
    if not _LDH_LABEL.fullmatch(label):
        bad = next((ch for ch in label if not (ch.isalnum() or ch == "-")), None)
        if bad is not None:
            return _problem("domain_char", char=_show(bad))
        return _problem("domain_hyphen", key="domain_hyphen_ends", label=label)
    return None


def _check_literal(domain: str) -> tuple[str, str, bool] | SyntaxProblem:
    # RFC 5321 4.1.3 address literals: [IPv4] or [IPv6:...].
    bad = _problem("domain_literal")
    if not domain.endswith("]"):
        return bad
    inner = domain[1:-1]
    try:
        if inner.lower().startswith("ipv6:"):
            ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv6Address(inner[5:])
            groups = inner[5:].split(":")
            explicit = sum(1 for g in groups if g) + ("." in inner)
            if "::" in inner and explicit >= 7:
                # RFC 5321 4.1.3 IPv6-comp: "::" stands for at least two zero groups.
                return bad
            text = f"[IPv6:{ip.compressed}]"
        else:
            ip = ipaddress.IPv4Address(inner)
            text = f"[{ip}]"
    except ValueError:
        return bad
    return text, text, True
