"""What a carrier's filters look at in one message: :class:`MessageFacts` (pure).

The harness is never a carrier's own MTA, so "mail from a phone" is simulated:
a message counts as phone mail when its header From is a carrier address and
its envelope sender is in the same domain. Spoofing is simulated the way the
carriers' filters see it (SPF/DKIM/DMARC of the header From domain): a header
From that is not aligned with the envelope sender, or an ``Authentication-Results``
header that reports an SPF, DKIM or DMARC failure, unless that header also
authenticates the From domain (DMARC pass, or a DKIM pass by that domain). When
the harness verifies mail itself it prepends its own header and trusts only that.

A ``temperror`` (DNS could not be asked, RFC 8601 2.7.1, RFC 7489 6.6.3) is
neither: the authentication is *unknown* (``auth_unknown``), and a spoofing
filter does not decide on it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from maildoctor.carriers import carrier_for_domain
from maildoctor.sender.domains import aligned

__all__ = ["MessageFacts", "address_domain"]

_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"']+")
# Authentication-Results (RFC 8601) words that make the header From unauthenticated...
_AUTH_FAIL = re.compile(
    r"(?i)\b(?:spf\s*=\s*(?:fail|softfail|permerror)|(?:dkim|dmarc)\s*=\s*(?:fail|permerror))\b"
)
# ...the ones that leave it unknown: DNS could not be asked (RFC 8601 2.7.1)...
_AUTH_UNKNOWN = re.compile(r"(?i)\b(?:spf|dkim|dmarc)\s*=\s*temperror\b")
# ...unless a DMARC verdict was reached anyway (a trusted verifier's dmarc=fail decides).
_DMARC_FAIL = re.compile(r"(?i)\bdmarc\s*=\s*fail\b")
# ...and the ones that authenticate it: DMARC pass, or a DKIM pass by the From domain.
_DMARC_PASS = re.compile(r"(?i)\bdmarc\s*=\s*pass\b")
_DKIM_PASS_D = re.compile(r"(?i)\bdkim\s*=\s*pass\b[^;]*?\bheader\.d\s*=\s*\"?([A-Za-z0-9.-]+)")
_AR_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")


def _auth_results(values: list[str], authserv_id: str | Sequence[str] | None) -> tuple[str, ...]:
    """The Authentication-Results values to trust, comments removed.

    With ``authserv_id`` only that verifier's, or those verifiers' (RFC 8601 5: a
    receiver trusts its own, and those of its own domain it chooses to); without it
    every one (the harness does not verify, the sender's headers decide).
    """
    trusted = None
    if authserv_id is not None:
        ids = (authserv_id,) if isinstance(authserv_id, str) else tuple(authserv_id)
        trusted = {i.lower() for i in ids}
    out = []
    for value in values:
        text = _AR_COMMENT.sub(" ", value)
        if trusted is not None:
            own = text.split(";", 1)[0].strip().split(" ", 1)[0]
            if own.lower() not in trusted:
                continue
        out.append(text)
    return tuple(out)


@dataclass(frozen=True, kw_only=True)
class MessageFacts:
    """What the carrier filters look at in one message."""

    envelope_from: str
    """The MAIL FROM address (may be empty for bounces)."""
    header_from: str
    """The address in the From header, or empty."""
    has_url: bool
    """Whether a text or HTML part holds a URL."""
    auth_failed: bool = False
    """Whether an Authentication-Results header reports an SPF, DKIM or DMARC failure."""
    auth_passed: bool = False
    """Whether an Authentication-Results header authenticates the From domain (DMARC
    pass, or a DKIM pass whose ``header.d`` is the From domain's); it outweighs failures."""
    auth_unknown: bool = False
    """Whether an Authentication-Results header reports a ``temperror`` (DNS was
    unavailable or not trusted) and no DMARC ``fail``: the authentication could not
    be checked."""

    @property
    def header_from_domain(self) -> str:
        return address_domain(self.header_from)

    @property
    def envelope_domain(self) -> str:
        return address_domain(self.envelope_from)

    @property
    def aligned(self) -> bool:
        """Header From and envelope sender share an organizational domain (DMARC relaxed)."""
        return aligned(self.header_from_domain, self.envelope_domain)

    @property
    def unchecked(self) -> bool:
        """The authentication could not be checked: a temperror and no pass. A spoofing
        filter does not decide on it (it neither refuses nor vouches for the mail)."""
        return self.auth_unknown and not self.auth_passed

    @property
    def spoofed(self) -> bool:
        """What a spoofing filter refuses: unauthenticated (and not unknown), and
        failing or unaligned."""
        if self.auth_passed or self.unchecked:
            return False
        return self.auth_failed or not self.aligned

    @property
    def from_phone(self) -> bool:
        """Simulated phone mail: a carrier From address, sent from that domain."""
        domain = self.header_from_domain
        return bool(domain) and carrier_for_domain(domain) is not None and self.aligned

    @classmethod
    def from_message(
        cls,
        message: Message,
        envelope_from: str,
        *,
        find_urls: bool = True,
        authserv_id: str | Sequence[str] | None = None,
    ) -> MessageFacts:
        """Facts from a parsed message and its envelope sender.

        ``find_urls=False`` skips decoding the bodies (``has_url`` is then False):
        the harness does that when no recipient's profile refuses URL mail.
        ``authserv_id`` trusts only the Authentication-Results of that verifier (or those)
        (the harness's own, when it verifies); None trusts every one.
        """
        header_from = _first_address([str(v) for v in message.get_all("From", [])])
        values = [str(v) for v in message.get_all("Authentication-Results", [])]
        auth = " ; ".join(_auth_results(values, authserv_id)) if values else ""
        from_domain = address_domain(header_from)
        return cls(
            envelope_from=envelope_from,
            header_from=header_from,
            has_url=find_urls and _has_url(message),
            auth_failed=bool(_AUTH_FAIL.search(auth)),
            auth_unknown=bool(_AUTH_UNKNOWN.search(auth)) and not _DMARC_FAIL.search(auth),
            auth_passed=bool(auth)
            and (
                bool(_DMARC_PASS.search(auth))
                or any(
                    aligned(d.group(1).lower().rstrip("."), from_domain)
                    for d in _DKIM_PASS_D.finditer(auth)
                )
            ),
        )


_SIMPLE_FROM = re.compile(
    r"^[^\"(),]*<([^<>\s]+@[^<>\s]+)>\s*$|^\s*([^\s<>\"(),]+@[^\s<>\"(),]+)\s*$"
)


def _first_address(values: list[str]) -> str:
    """The first address of From headers; a regex for the common forms (it runs per
    message in the harness), the email package's full parser for the rest."""
    for value in values:
        simple = _SIMPLE_FROM.match(value)
        if simple:
            return simple.group(1) or simple.group(2)
        found = next((addr for _, addr in getaddresses([value]) if addr), "")
        if found:
            return found
    return ""


def _has_url(message: Message) -> bool:
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        try:
            text = payload.decode(part.get_content_charset() or "utf-8", "replace")
        except LookupError:
            text = payload.decode("latin-1")
        if _URL.search(text):
            return True
    return False


def address_domain(address: str) -> str:
    """The lower-cased domain of an address, ``""`` without one."""
    return address.rpartition("@")[2].lower().rstrip(".") if "@" in address else ""
