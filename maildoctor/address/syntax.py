"""Address syntax: RFC 5321/5322 with RFC 6531 (UTF-8) local parts, as a pure function.

What is accepted is what a mail server can be given in ``RCPT TO``: a dot-atom
or quoted-string local part (RFC 5321 4.1.2; UTF-8 per RFC 6531 3.3), then a
domain name (IDNA 2008 with UTS 46 mapping) or an address literal. Comments,
folding white space, display names and obsolete forms are refused: a customer
types an address into a form, and none of those belong there.

Two cases are judged for the customer rather than for the RFC:

- Input typed through a Japanese IME (full-width letters, ``＠``, ``．``, ``。``,
  ideographic spaces, stray spaces): invalid as typed, with the NFKC-folded
  address the customer meant as ``suggestion``.
- Legacy carrier local parts (``a..b@docomo.ne.jp``, ``abc.@ezweb.ne.jp``):
  real mailboxes issued before the carriers enforced RFC 5322, accepted with
  ``legacy_dots`` set for carriers whose ``legacy_local_parts`` is true.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import idna

from maildoctor.carriers import carrier_for_domain

__all__ = [
    "MAX_ADDRESS_OCTETS",
    "MAX_DOMAIN_OCTETS",
    "MAX_LABEL_OCTETS",
    "MAX_LOCAL_OCTETS",
    "ParsedAddress",
    "SyntaxProblem",
    "SyntaxResult",
    "check_syntax",
    "display",
    "fold_ime",
]

MAX_LOCAL_OCTETS = 64  # RFC 5321 4.5.3.1.1
MAX_ADDRESS_OCTETS = 254  # RFC 5321 4.5.3.1.3 path of 256 minus the angle brackets (errata 1690)
MAX_DOMAIN_OCTETS = 253  # RFC 1035 2.3.4 (255 on the wire)
MAX_LABEL_OCTETS = 63  # RFC 1035 2.3.4

# RFC 5322 3.2.3 atext, plus any non-ASCII character (RFC 6531 3.3 UTF8-non-ascii).
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\U0010FFFF]+")
_ASCII_DOT_ATOM = re.compile(
    r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*"
)
_ASCII_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
# Characters a Japanese IME produces in place of ASCII: the full-width forms block
# (U+FF01-FF5E), the ideographic space and full stops. NFKC folds all but 。｡ which
# we map by hand (they are what a Japanese keyboard types for ".").
_IME_CHARS = re.compile(r"[\uFF01-\uFF5E\u3000\u3002\uFF61\uFF0E]")
_IME_STOPS = str.maketrans({"\u3002": ".", "\uff61": "."})


@dataclass(frozen=True, kw_only=True)
class SyntaxProblem:
    """Why an address is not valid, in both languages."""

    code: str
    """A short machine name: ``no_at``, ``local_too_long``, ``fullwidth``..."""
    reason_ja: str
    reason_en: str


@dataclass(frozen=True, kw_only=True)
class ParsedAddress:
    """A syntactically valid address, split and normalized."""

    local: str
    """The local part as given (quotes kept; case kept: RFC 5321 2.4 lets servers care)."""
    domain: str
    """The domain as given."""
    ascii_domain: str
    """The domain in lower case with IDNA A-labels (what DNS is asked about)."""
    unicode_domain: str
    """The domain with U-labels, for display."""
    quoted: bool
    """The local part is a quoted string."""
    domain_literal: bool
    """The domain is an address literal such as ``[192.0.2.1]``."""
    smtputf8: bool
    """The local part has non-ASCII characters (needs SMTPUTF8, RFC 6531)."""
    legacy_dots: bool
    """Dots the RFCs forbid (``a..b``, ``abc.``, ``.abc``) in a carrier that issued them."""

    @property
    def normalized(self) -> str:
        """``local@ascii_domain``: the contract's ``normalized`` field."""
        return f"{self.local}@{self.ascii_domain}"


@dataclass(frozen=True, kw_only=True)
class SyntaxResult:
    """The outcome of :func:`check_syntax`."""

    address: str
    """The input, unchanged."""
    parsed: ParsedAddress | None
    """The parsed address, or None when it is invalid."""
    problem: SyntaxProblem | None
    """Why it is invalid, or None."""
    suggestion: str | None = None
    """The address the customer probably meant (IME input folded), when that one is valid."""
    ime_input: bool = False
    """The input holds full-width characters or stray spaces from an IME."""

    @property
    def valid(self) -> bool:
        return self.parsed is not None


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


def display(raw: str) -> str:
    """The address on one line for messages: control characters and line breaks escaped."""
    if raw.isprintable():
        return raw
    return "".join(ch if ch.isprintable() or ch in " \u3000" else f"\\u{ord(ch):04x}" for ch in raw)


def fold_ime(raw: str) -> str:
    """The address a customer meant when typing through a Japanese IME.

    NFKC folds full-width letters, digits, ``＠`` and ``．`` to ASCII; ``。`` and
    ``｡`` become ``.``; all white space is removed (it is never part of an
    address typed into a form).
    """
    folded = unicodedata.normalize("NFKC", raw.translate(_IME_STOPS)).translate(_IME_STOPS)
    return "".join(ch for ch in folded if not ch.isspace())


def check_syntax(raw: str) -> SyntaxResult:
    """Check one address as typed; never raises."""
    problem_or_parsed = _parse(raw)
    if isinstance(problem_or_parsed, ParsedAddress):
        return SyntaxResult(address=raw, parsed=problem_or_parsed, problem=None)
    ime = bool(_IME_CHARS.search(raw)) or (raw != raw.strip() and raw.strip() != "")
    if not ime or problem_or_parsed.code in ("newline", "control"):
        return SyntaxResult(address=raw, parsed=None, problem=problem_or_parsed)
    folded = fold_ime(raw)
    parsed = _parse(folded)
    suggestion = parsed.normalized if isinstance(parsed, ParsedAddress) else None
    problem = _problem(
        "fullwidth",
        "全角文字または空白が含まれています",
        "it contains full-width characters or spaces",
    )
    return SyntaxResult(
        address=raw, parsed=None, problem=problem, suggestion=suggestion, ime_input=True
    )


def _parse(raw: str) -> ParsedAddress | SyntaxProblem:
    if raw == "":
        return _problem("empty", "メールアドレスが空です", "it is empty")
    if "\r" in raw or "\n" in raw:
        # Never let a line break through: it would end an SMTP command or a header.
        return _problem("newline", "改行が含まれています", "it contains a line break (CR or LF)")
    # ASCII input (nearly all of a member list) needs only one regex for controls.
    suspects = _ASCII_CONTROLS.findall(raw) if raw.isascii() else raw
    for ch in suspects:
        if unicodedata.category(ch) in ("Cc", "Cs", "Cn", "Co") or ch in "\u2028\u2029":
            return _problem(
                "control",
                f"制御文字など使えない文字({_show(ch)})が含まれています",
                f"it contains a character that cannot appear in an address ({_show(ch)})",
            )
    if _IME_CHARS.search(raw):
        return _problem(
            "fullwidth",
            "全角文字が含まれています",
            "it contains full-width characters",
        )
    if raw != raw.strip():
        return _problem("spaces", "前後に空白が含まれています", "it has spaces before or after it")
    if "@" not in raw:
        return _problem("no_at", "「@」がありません", 'it has no "@"')
    local, domain, quoted = _split(raw)
    if local is not None and not local.isascii():
        # RFC 6532 3.1: UTF-8 text is compared in NFC; measure and keep that form.
        local = unicodedata.normalize("NFC", local)
    if local is None:
        return _problem(
            "local_invalid",
            "「@」より前の部分の引用符が正しくありません",
            "the quoted part before the @-sign is not closed properly",
        )
    if local == "":
        return _problem("no_local", "「@」の前に何もありません", 'there is nothing before the "@"')
    if domain == "":
        return _problem("no_domain", "「@」の後に何もありません", 'there is nothing after the "@"')
    if _octets(local) > MAX_LOCAL_OCTETS:
        return _problem(
            "local_too_long",
            f"「@」より前の部分が長すぎます({_octets(local)}バイト、上限{MAX_LOCAL_OCTETS})",
            f"the part before the @-sign is {_octets(local)} octets long; "
            f"the limit is {MAX_LOCAL_OCTETS}",
        )
    domain_result = _check_domain(domain)
    if isinstance(domain_result, SyntaxProblem):
        return domain_result
    ascii_domain, unicode_domain, literal = domain_result
    legacy = False
    if quoted:
        problem = _check_quoted(local)
        if problem:
            return problem
    else:
        problem = _check_dot_atom(local)
        if problem is not None and problem.code == "dots":
            carrier = None if literal else carrier_for_domain(ascii_domain)
            if carrier is not None and carrier.legacy_local_parts:
                legacy = True
                problem = None
        if problem:
            return problem
    address_octets = _octets(local) + 1 + len(ascii_domain)
    if address_octets > MAX_ADDRESS_OCTETS:
        return _problem(
            "too_long",
            f"アドレス全体が長すぎます({address_octets}バイト、上限{MAX_ADDRESS_OCTETS})",
            f"the address is {address_octets} octets long; the limit is {MAX_ADDRESS_OCTETS}",
        )
    return ParsedAddress(
        local=local,
        domain=domain,
        ascii_domain=ascii_domain,
        unicode_domain=unicode_domain,
        quoted=quoted,
        domain_literal=literal,
        smtputf8=not local.isascii(),
        legacy_dots=legacy,
    )


def _split(raw: str) -> tuple[str | None, str, bool]:
    """(local, domain, quoted): split at the @ that ends the local part."""
    if raw.startswith('"'):
        i = 1
        while i < len(raw):
            if raw[i] == "\\":
                i += 2
                continue
            if raw[i] == '"':
                break
            i += 1
        else:
            return None, "", True
        if raw[i + 1 : i + 2] != "@":
            return None, "", True
        return raw[: i + 1], raw[i + 2 :], True
    local, _, domain = raw.rpartition("@")
    return local, domain, False


def _check_dot_atom(local: str) -> SyntaxProblem | None:
    if _ASCII_DOT_ATOM.fullmatch(local):
        return None  # the common case, in one regex
    atoms = local.split(".")
    for atom in atoms:
        bad = next((ch for ch in atom if not _local_char_ok(ch)), None)
        if bad is not None:
            if bad == "@":
                return _problem("two_at", "「@」が2つ以上あります", 'it has more than one "@"')
            if bad == " ":
                return _problem("space", "空白が含まれています", "it contains a space")
            return _problem(
                "local_char",
                f"「@」より前の部分に使えない文字 {_show(bad)} が含まれています",
                f"the part before the @-sign contains a character that is not allowed "
                f"there: {_show(bad)}",
            )
    if "" in atoms:
        # RFC 5322 3.4.1: no leading, trailing or consecutive dots outside quotes.
        return _problem(
            "dots",
            "「@」より前の部分で「.」が連続しているか、先頭または「@」の直前にあります",
            "the part before the @-sign has two dots in a row, or a dot at its start "
            'or just before the "@"',
        )
    return None


def _local_char_ok(ch: str) -> bool:
    """atext, or a non-ASCII letter, mark or digit (RFC 6531 3.3 allows any UTF-8, but
    symbols and punctuation outside ASCII are lookalikes of forbidden ASCII ones)."""
    if ch.isascii():
        return bool(_ATEXT.fullmatch(ch))
    return unicodedata.category(ch)[0] in "LMN"


def _check_quoted(local: str) -> SyntaxProblem | None:
    # RFC 5321 4.1.2 Quoted-string: qtextSMTP is %d32-33 / %d35-91 / %d93-126,
    # quoted-pairSMTP is "\" followed by %d32-126; RFC 6531 adds UTF8-non-ascii.
    body = local[1:-1]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1 : i + 2]
            if not nxt or not (" " <= nxt <= "~"):
                return _problem(
                    "quoted_char",
                    "引用符で囲まれた部分の「\\」の使い方が正しくありません",
                    "a backslash in the quoted part is not followed by a printable character",
                )
            i += 2
            continue
        if ch == '"':
            return _problem(
                "quoted_char",
                '引用符で囲まれた部分に「"」が含まれています',
                'the quoted part contains an unescaped "',
            )
        i += 1
    return None


@lru_cache(maxsize=65536)
def _check_domain(domain: str) -> tuple[str, str, bool] | SyntaxProblem:
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
