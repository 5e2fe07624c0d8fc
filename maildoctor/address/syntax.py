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

import re
import unicodedata
from dataclasses import dataclass

from maildoctor.address.domain_syntax import (
    MAX_DOMAIN_OCTETS,
    MAX_LABEL_OCTETS,
    SyntaxProblem,
    _octets,
    _problem,
    _show,
    check_domain,
)
from maildoctor.address.repair import fold_ime, ime_input, repair, trim_prose
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

# RFC 5322 3.2.3 atext, plus any non-ASCII character (RFC 6531 3.3 UTF8-non-ascii).
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\U0010FFFF]+")
_ASCII_DOT_ATOM = re.compile(
    r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*"
)
_ASCII_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


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
    repaired: str | None = None
    """The input with the slips that break syntax undone (``gmail..com``, ``docomo,ne.jp``,
    ``＠``, ``ー`` for ``-``): what the typo matcher should judge. It may still be
    invalid (``taro@gmail`` lacks its ending); None when there is no ``@`` at all."""

    @property
    def valid(self) -> bool:
        return self.parsed is not None


def display(raw: str) -> str:
    """The address on one line for messages: control characters and line breaks escaped."""
    if raw.isprintable():
        return raw
    return "".join(ch if ch.isprintable() or ch in " \u3000" else f"\\u{ord(ch):04x}" for ch in raw)


def check_syntax(raw: str) -> SyntaxResult:
    """Check one address as typed; never raises."""
    problem_or_parsed = _parse(raw)
    if isinstance(problem_or_parsed, ParsedAddress):
        return SyntaxResult(address=raw, parsed=problem_or_parsed, problem=None)
    if problem_or_parsed.code in ("newline", "control"):
        return SyntaxResult(address=raw, parsed=None, problem=problem_or_parsed)
    repaired = repair(raw)
    if not ime_input(raw):
        return SyntaxResult(address=raw, parsed=None, problem=problem_or_parsed, repaired=repaired)
    parsed = _parse(trim_prose(fold_ime(raw)))
    suggestion = parsed.normalized if isinstance(parsed, ParsedAddress) else None
    problem = _problem("fullwidth", key="fullwidth_or_space")
    return SyntaxResult(
        address=raw,
        parsed=None,
        problem=problem,
        suggestion=suggestion,
        ime_input=True,
        repaired=repaired,
    )


def _parse(raw: str) -> ParsedAddress | SyntaxProblem:
    if raw == "":
        return _problem("empty")
    if "\r" in raw or "\n" in raw:
        # Never let a line break through: it would end an SMTP command or a header.
        return _problem("newline")
    # ASCII input (nearly all of a member list) needs only one regex for controls.
    suspects = _ASCII_CONTROLS.findall(raw) if raw.isascii() else raw
    for ch in suspects:
        if unicodedata.category(ch) in ("Cc", "Cs", "Cn", "Co") or ch in "\u2028\u2029":
            return _problem("control", char=_show(ch))
    if ime_input(raw, spaces=False):
        return _problem("fullwidth")
    if raw != raw.strip():
        return _problem("spaces")
    if "@" not in raw:
        return _problem("no_at")
    local, domain, quoted = _split(raw)
    if local is not None and not local.isascii():
        # RFC 6532 3.1: UTF-8 text is compared in NFC; measure and keep that form.
        local = unicodedata.normalize("NFC", local)
    if local is None:
        return _problem("local_invalid")
    if local == "":
        return _problem("no_local")
    if domain == "":
        return _problem("no_domain")
    if _octets(local) > MAX_LOCAL_OCTETS:
        return _problem("local_too_long", octets=_octets(local), limit=MAX_LOCAL_OCTETS)
    domain_result = check_domain(domain)
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
        return _problem("too_long", octets=address_octets, limit=MAX_ADDRESS_OCTETS)
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
                return _problem("two_at")
            if bad == " ":
                return _problem("space")
            return _problem("local_char", char=_show(bad))
    if "" in atoms:
        # RFC 5322 3.4.1: no leading, trailing or consecutive dots outside quotes.
        return _problem("dots")
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
                return _problem("quoted_char", key="quoted_backslash")
            i += 2
            continue
        if ch == '"':
            return _problem("quoted_char", key="quoted_quote")
        i += 1
    return None
