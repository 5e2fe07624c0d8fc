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


def _problem(code: str, ja: str, en: str) -> SyntaxProblem:
    return SyntaxProblem(code=code, reason_ja=ja, reason_en=en)


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
        return _problem(
            "domain_dot",
            "ドメインが「.」で終わっています",
            'the domain ends with a "."',
        )
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
                    return _problem(
                        "idna",
                        f"ドメインの「{label}」は正しい国際化ドメイン名ではありません",
                        f'"{label}" in the domain is not a valid internationalized label',
                    )
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
            return _problem(
                "idna",
                f"ドメイン「{domain}」は正しい国際化ドメイン名ではありません",
                f'the domain "{domain}" is not a valid internationalized domain name ({e})',
            )
        for label in ascii_domain.split("."):
            problem = _check_label(label)
            if problem:
                return problem
    labels = ascii_domain.split(".")
    if len(labels) < 2:
        return _problem(
            "domain_no_dot",
            "ドメインに「.」がありません(例: example.jp)",
            'the domain has no "." (like example.com)',
        )
    tld = labels[-1]
    if not (tld.isalpha() or tld.startswith("xn--")):
        # No top-level domain has digits or hyphens (RFC 3696 2; IANA root zone).
        return _problem(
            "domain_tld",
            f"ドメインの最後の部分「{tld}」はトップレベルドメインになりえません",
            f'the last part of the domain, "{tld}", cannot be a top-level domain',
        )
    if len(ascii_domain) > MAX_DOMAIN_OCTETS:
        return _problem(
            "domain_too_long",
            f"ドメインが長すぎます({len(ascii_domain)}バイト、上限{MAX_DOMAIN_OCTETS})",
            f"the domain is {len(ascii_domain)} octets long; the limit is {MAX_DOMAIN_OCTETS}",
        )
    return ascii_domain, unicode_domain, False


def _check_label(label: str) -> SyntaxProblem | None:
    if label == "":
        return _problem(
            "domain_dots",
            "ドメインで「.」が連続しているか、先頭にあります",
            "the domain has two dots in a row or starts with a dot",
        )
    if len(label) > MAX_LABEL_OCTETS:
        return _problem(
            "label_too_long",
            f"ドメインの一部「{label[:20]}…」が長すぎます({len(label)}バイト、上限{MAX_LABEL_OCTETS})",
            f'the domain label "{label[:20]}..." is {len(label)} octets long; '
            f"the limit is {MAX_LABEL_OCTETS}",
        )
    if label[2:4] == "--" and not label.startswith("xn--"):
        # IDNA 2008 (RFC 5891 4.2.3.1) reserves "??--" for encodings other than Punycode.
        return _problem(
            "domain_hyphen",
            f"ドメインの一部「{label}」の3、4文字目が「--」です",
            f'the domain label "{label}" has "--" in its third and fourth characters',
        )
    if not _LDH_LABEL.fullmatch(label):
        bad = next((ch for ch in label if not (ch.isalnum() or ch == "-")), None)
        if bad is not None:
            return _problem(
                "domain_char",
                f"ドメインに使えない文字 {_show(bad)} が含まれています",
                f"the domain contains a character that is not allowed: {_show(bad)}",
            )
        return _problem(
            "domain_hyphen",
            f"ドメインの一部「{label}」が「-」で始まるか終わっています",
            f'the domain label "{label}" starts or ends with a hyphen',
        )
    return None


def _check_literal(domain: str) -> tuple[str, str, bool] | SyntaxProblem:
    # RFC 5321 4.1.3 address literals: [IPv4] or [IPv6:...].
    bad = _problem(
        "domain_literal",
        "「[」「]」で囲まれたIPアドレスの形式が正しくありません",
        "the address literal in brackets is not a valid IP address",
    )
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
