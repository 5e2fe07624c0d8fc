"""DKIM (RFC 6376): signing outgoing test mail and verifying a message's first signature.

dkimpy does the cryptography; its key lookups go through a ``dnsfunc`` bound to a
resolver the caller chooses (``maildoctor.sender.resolver.txt_lookup``). A key
lookup DNS did not answer is ``temperror``, never ``permerror`` or ``fail``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import dkim

from maildoctor.sender.resolver import DnsFunc, DnsUnavailable

__all__ = ["SIGNED_HEADERS", "DkimOutcome", "DkimResult", "dkim_sign", "verify_dkim"]

DkimOutcome = Literal["pass", "fail", "none", "temperror", "permerror"]

#: headers signed by :func:`dkim_sign` (RFC 6376 5.4.1's recommendations that
#: Lentrance's notification mails carry)
SIGNED_HEADERS: tuple[bytes, ...] = (
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
    b"content-type", b"content-transfer-encoding", b"reply-to", b"list-unsubscribe",
)  # fmt: skip


#: dkimpy logs each verification problem at ERROR; the results say it already, so
#: keep it off stderr (a NullHandler stops logging's last-resort printer) while an
#: application's own logging configuration still sees it.
_DKIM_LOG = logging.getLogger("maildoctor.sender.auth.dkim")
_DKIM_LOG.addHandler(logging.NullHandler())


@dataclass(frozen=True, kw_only=True)
class DkimResult:
    """The outcome of verifying a message's first DKIM signature."""

    result: DkimOutcome
    """RFC 8601 word: ``pass``, ``fail``, ``none`` (unsigned), ``temperror``, ``permerror``."""
    domain: str
    """The signature's ``d=`` (``""`` when unsigned)."""
    selector: str
    """The signature's ``s=``."""
    reason: str
    """Why, in a few words (``signature verified``, ``body hash mismatch``...)."""
    signature_b: str = ""
    """The first characters of ``b=``, to tell signatures apart (RFC 8601 ``header.b``)."""


def dkim_sign(
    raw: bytes,
    *,
    selector: str,
    domain: str,
    key_pem: bytes,
    headers: Sequence[bytes] = SIGNED_HEADERS,
) -> bytes:
    """``raw`` with a ``DKIM-Signature`` header prepended (rsa-sha256, relaxed/relaxed).

    Only the listed headers that the message carries are signed. Raises ValueError
    when the key or the message cannot be signed.
    """
    present = {
        line.split(b":", 1)[0].strip().lower()
        for line in raw.split(b"\n\n", 1)[0].replace(b"\r\n", b"\n").split(b"\n")
        if b":" in line and line[:1] not in (b" ", b"\t")
    }
    include = [h for h in headers if h in present]
    if b"from" not in include:
        raise ValueError("the message has no From header, which DKIM must sign (RFC 6376 5.4)")
    try:
        signature = dkim.sign(
            raw,
            selector.encode("ascii"),
            domain.encode("ascii"),
            key_pem,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=include,
        )
    except dkim.DKIMException as e:
        raise ValueError(f"DKIM signing failed: {e}") from e
    # dkimpy folds with CRLF; keep the message's own line endings.
    if b"\r\n" not in raw:
        signature = signature.replace(b"\r\n", b"\n")
    return signature + raw


def _sig_tags(raw: bytes) -> dict[str, str]:
    m = re.search(rb"^DKIM-Signature:(.*(?:\r?\n[ \t].*)*)", raw, re.I | re.M)
    if not m:
        return {}
    value = re.sub(rb"\s+", b"", m.group(1)).decode("ascii", "replace")
    tags = {}
    for part in value.split(";"):
        k, sep, v = part.partition("=")
        if sep:
            tags[k.strip()] = v.strip()
    return tags


def verify_dkim(raw: bytes, dnsfunc: DnsFunc) -> DkimResult:
    """Verify the first DKIM signature of ``raw``, fetching keys with ``dnsfunc``."""
    tags = _sig_tags(raw)
    if not tags:
        return DkimResult(result="none", domain="", selector="", reason="no DKIM-Signature header")
    domain, selector = tags.get("d", ""), tags.get("s", "")
    b_start = tags.get("b", "")[:8]
    seen: dict[str, Any] = {}

    def recording(name: bytes, timeout: float = 5) -> bytes | None:
        try:
            answer = dnsfunc(name, timeout=timeout)
        except DnsUnavailable as e:
            seen["unavailable"] = str(e)
            return None
        seen["key"] = answer
        return answer

    def result(outcome: DkimOutcome, reason: str) -> DkimResult:
        return DkimResult(
            result=outcome, domain=domain, selector=selector, reason=reason, signature_b=b_start
        )

    try:
        ok = dkim.DKIM(raw, minkey=1024, logger=_DKIM_LOG).verify(dnsfunc=recording)
    except dkim.DKIMException as e:
        if "unavailable" in seen:
            return result("temperror", f"key lookup failed: {seen['unavailable']}")
        if "body hash mismatch" in str(e):
            # The key was found and the body changed after signing: RFC 6376 6.3 "fail".
            return result("fail", "body hash mismatch (the body changed after signing)")
        return result("permerror", str(e) or e.__class__.__name__)
    if "unavailable" in seen:
        return result("temperror", f"key lookup failed: {seen['unavailable']}")
    key = seen.get("key")
    if not key:
        return result("permerror", f"no key at {selector}._domainkey.{domain}")
    if re.search(rb"(?:^|;)\s*p=\s*(?:;|$)", key):
        return result("permerror", f"key at {selector}._domainkey.{domain} is revoked (empty p=)")
    if ok:
        return result("pass", "signature verified")
    return result("fail", "signature did not verify (message changed after signing, or wrong key)")
