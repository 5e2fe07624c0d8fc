"""What DNS says about a sending domain: the facts the sender audit assesses.

``gather`` asks the resolver it is given for what a receiver would look at: MX,
SPF (and pyspf's verdict for a sending IP), the DKIM selector's key, DMARC, and
the sending IP's reverse DNS. A lookup that times out or fails is recorded in
``unavailable`` and its fact is ``None`` (unknown), never an empty (missing)
record. When the resolver failed the canary check (``maildoctor.sender.trust``)
nothing is asked at all: every fact is unknown and ``untrusted`` says why.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import dns.resolver
import dns.reversename

from maildoctor.sender.dmarc_check import parse_tags
from maildoctor.sender.domains import org_domain
from maildoctor.sender.resolver import DnsUnavailable, name_exists, resolve_records, txt_strings
from maildoctor.sender.spf_check import SpfResult, check_spf

__all__ = [
    "SPF_LOOKUP_LIMIT",
    "DkimKey",
    "IpFacts",
    "SenderFacts",
    "count_spf_lookups",
    "count_spf_voids",
    "gather",
]

#: RFC 7208 4.6.4: terms that cost a DNS lookup
_LOOKUP_TERMS = re.compile(r"^[+\-~?]?(include|a|mx|ptr|exists)(?:[:/]|$)|^redirect=", re.I)
#: RFC 7208 4.6.4: more DNS-querying terms than this is a permerror
SPF_LOOKUP_LIMIT = 10
#: RFC 7208 4.6.4: more "void" lookups (NXDOMAIN or no answer) than this is a permerror
SPF_VOID_LIMIT = 2


# --- facts (what DNS said) --------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DkimKey:
    """The DKIM key record at ``selector._domainkey.domain``."""

    name: str
    """The record's DNS name."""
    record: str | None
    """The TXT record, ``None`` when there is none."""
    bits: int | None
    """Key size in bits when the key could be read."""
    error: str
    """Why the key could not be read (``""`` when it could)."""
    revoked: bool
    """``p=`` is empty (RFC 6376 3.6.1)."""
    algorithm: str = "rsa"
    """The ``k=`` key type, lower-cased: ``rsa`` or ``ed25519`` (RFC 8463)."""


@dataclass(frozen=True, kw_only=True)
class IpFacts:
    """Reverse DNS and SPF for one more sending IP (``--sending-ip`` given again)."""

    ip: str
    ptr_names: tuple[str, ...] | None
    ptr_confirmed: tuple[str, ...] | None
    spf_eval: SpfResult | None


@dataclass(frozen=True, kw_only=True)
class SenderFacts:
    """What DNS says about a sending domain (``None`` = not asked, or not answered)."""

    domain: str
    """The From domain audited."""
    ip: str | None
    """The sending IP checked, if any."""
    mail_from_domain: str
    """The envelope sender's domain (the From domain unless given)."""
    mx: tuple[str, ...] | None
    """MX hosts in preference order."""
    spf_records: tuple[str, ...] | None
    """The ``v=spf1`` TXT records of the envelope sender's domain."""
    spf_lookups: int | None
    """DNS lookups the SPF record needs, counted through includes and redirects
    (None when an unanswered include leaves it unknown whether it is within the limit)."""
    spf_eval: SpfResult | None
    """pyspf's verdict for ``ip`` (when an IP was given)."""
    dkim: DkimKey | None
    """The selector's key (when a selector was given)."""
    dmarc_records: tuple[str, ...] | None
    """The ``v=DMARC1`` records found for the domain (or its organizational domain)."""
    dmarc_name: str
    """Where the DMARC record was looked up last."""
    ptr_names: tuple[str, ...] | None
    """PTR names of ``ip``."""
    ptr_confirmed: tuple[str, ...] | None
    """Those PTR names whose A/AAAA records include ``ip`` (None when none did and
    some forward lookup went unanswered)."""
    spf_void_lookups: int | None = None
    """Lookups of the SPF record's targets that found nothing (RFC 7208 4.6.4 allows 2);
    None when not counted or when a lookup went unanswered."""
    other_ips: tuple[IpFacts, ...] = ()
    """The other sending IPs' reverse DNS and SPF results."""
    unavailable: tuple[str, ...] = ()
    """Lookups that DNS did not answer (``name TYPE: reason``)."""
    untrusted: str | None = None
    """Why the resolver is not trusted (the canary check failed: ``. NS: NXDOMAIN``...);
    then nothing was asked and every fact is ``None``."""
    exists: bool | None = True
    """False when DNS (trusted) answers NXDOMAIN for the domain: nothing else was asked;
    None when that question went unanswered."""


def count_spf_lookups(domain: str, fetch: Callable[[str], Sequence[str]], _depth: int = 0) -> int:
    """DNS lookups ``domain``'s SPF costs (RFC 7208 4.6.4), following include/redirect.

    ``fetch(name)`` returns the TXT strings at name. Stops counting past 30.
    """
    records = [r for r in fetch(domain) if r.lower().startswith("v=spf1")]
    if len(records) != 1 or _depth > 10:
        return 0
    total = 0
    for term in records[0].split()[1:]:
        if not _LOOKUP_TERMS.match(term):
            continue
        total += 1
        lower = term.lower().lstrip("+-~?")
        target = ""
        if lower.startswith("include:"):
            target = term.split(":", 1)[1]
        elif lower.startswith("redirect="):
            target = term.split("=", 1)[1]
        if target and "%" not in target and total <= 30:
            total += count_spf_lookups(target, fetch, _depth + 1)
    return total


#: mechanism -> the record type its target is looked up for (RFC 7208 5)
_VOID_TYPES = {"include": "TXT", "redirect": "TXT", "a": "A", "mx": "MX", "exists": "A"}
_TARGET = re.compile(r"^[+\-~?]?(include|a|mx|exists)(?::([^/]+))?(?:/.*)?$|^redirect=(.+)$", re.I)


def count_spf_voids(
    domain: str, lookup: Callable[[str, str], list[Any] | None], _depth: int = 0
) -> int | None:
    """Void lookups ``domain``'s SPF makes (RFC 7208 4.6.4): targets of include,
    redirect, a, mx and exists that DNS says have no record. ``lookup(name, type)``
    gives the records (TXT as strings), ``[]`` for none, None when DNS did not
    answer, which makes the count unknown. Macros are not expanded (not counted)."""
    txt = lookup(domain, "TXT")
    if txt is None:
        return None
    records = [r for r in txt if str(r).lower().startswith("v=spf1")]
    if len(records) != 1 or _depth > 10:
        return 0
    voids = 0
    for term in records[0].split()[1:]:
        m = _TARGET.match(term)
        if m is None:
            continue
        kind = "redirect" if m.group(3) else m.group(1).lower()
        target = (m.group(3) or m.group(2) or domain).rstrip(".")
        if "%" in target:
            continue
        answer = lookup(target, _VOID_TYPES[kind])
        if answer is None:
            return None
        if not answer:
            voids += 1
        elif kind in ("include", "redirect"):
            inner = count_spf_voids(target, lookup, _depth + 1)
            if inner is None:
                return None
            voids += inner
        if voids > SPF_VOID_LIMIT:
            break
    return voids


def _dkim_key(name: str, records: Sequence[str]) -> DkimKey:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    if not records:
        return DkimKey(name=name, record=None, bits=None, error="", revoked=False)
    record = records[0]
    tags = parse_tags(record)
    if "p" not in tags:
        return DkimKey(name=name, record=record, bits=None, error="no p= tag", revoked=False)
    if tags["p"] == "":
        return DkimKey(name=name, record=record, bits=None, error="", revoked=True)
    kind = tags.get("k", "rsa").lower()
    try:
        der = base64.b64decode(tags["p"], validate=True)
        if kind == "ed25519":
            bits = 256 if len(der) == 32 else None
            if bits is None:
                raise ValueError("an ed25519 key is 32 bytes")
            return DkimKey(
                name=name, record=record, bits=bits, error="", revoked=False, algorithm=kind
            )
        key = load_der_public_key(der)
    except (ValueError, TypeError) as e:
        return DkimKey(name=name, record=record, bits=None, error=str(e)[:80], revoked=False)
    if not isinstance(key, rsa.RSAPublicKey):
        return DkimKey(name=name, record=record, bits=None, error="not an RSA key", revoked=False)
    return DkimKey(name=name, record=record, bits=key.key_size, error="", revoked=False)


# --- gathering (I/O) ----------------------------------------------------------------


def gather(
    domain: str,
    *,
    resolver: dns.resolver.Resolver,
    ip: str | None = None,
    selector: str | None = None,
    mail_from_domain: str | None = None,
    untrusted: str | None = None,
    other_ips: Sequence[str] = (),
) -> SenderFacts:
    """Ask ``resolver`` everything the audit needs about ``domain``.

    ``other_ips``: more sending IPs, whose reverse DNS and SPF result are checked too.

    ``untrusted``: why the resolver failed the canary check; nothing is asked, since
    a sinkhole's NXDOMAIN would read as "no SPF", "no DMARC", "no MX".
    """
    domain = domain.lower().rstrip(".")
    envelope = (mail_from_domain or domain).lower().rstrip(".")
    if untrusted is not None:
        return SenderFacts(
            domain=domain, ip=ip, mail_from_domain=envelope, mx=None, spf_records=None,
            spf_lookups=None, spf_eval=None, dkim=None, dmarc_records=None,
            dmarc_name=f"_dmarc.{domain}", ptr_names=None, ptr_confirmed=None,
            other_ips=tuple(
                IpFacts(ip=other, ptr_names=None, ptr_confirmed=None, spf_eval=None)
                for other in dict.fromkeys(other_ips) if other != ip
            ),
            untrusted=untrusted,
        )  # fmt: skip
    unavailable: list[str] = []

    def ask(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except DnsUnavailable as e:
            unavailable.append(str(e))
            return None

    def fetch(name: str) -> list[str]:
        return ask(lambda: txt_strings(resolver, name)) or []

    def records(name: str, version: str) -> tuple[str, ...] | None:
        """The TXT strings at ``name`` that start with ``version`` (None: no answer)."""
        txt = ask(lambda: txt_strings(resolver, name))
        return None if txt is None else tuple(r for r in txt if r.lower().startswith(version))

    exists = ask(lambda: name_exists(resolver, domain))
    if exists is False:  # NXDOMAIN from a trusted resolver: no record can be asked for
        return SenderFacts(
            domain=domain, ip=ip, mail_from_domain=envelope, mx=(), spf_records=(),
            spf_lookups=None, spf_eval=None, dkim=None, dmarc_records=(),
            dmarc_name=f"_dmarc.{domain}", ptr_names=None, ptr_confirmed=None, exists=False,
        )  # fmt: skip
    mx_records = ask(lambda: resolve_records(resolver, domain, "MX"))
    mx = (
        tuple(r.exchange.to_text(True) for r in sorted(mx_records, key=lambda r: r.preference))
        if mx_records is not None
        else None
    )
    spf_records = records(envelope, "v=spf1")
    lookups = None
    if spf_records and len(spf_records) == 1:
        asked = len(unavailable)
        lookups = count_spf_lookups(envelope, fetch)
        if len(unavailable) > asked and lookups <= SPF_LOOKUP_LIMIT:
            # An include went unanswered: the count is a lower bound, which proves
            # "too many" but not "within the limit".
            lookups = None
    voids = None
    if spf_records and len(spf_records) == 1:
        asked = len(unavailable)

        def lookup(name: str, rdtype: str) -> list[Any] | None:
            if rdtype == "TXT":
                return ask(lambda: txt_strings(resolver, name))
            return ask(lambda: resolve_records(resolver, name, rdtype))

        voids = count_spf_voids(envelope, lookup)
        if voids is not None and len(unavailable) > asked:
            voids = None
    spf_eval = (
        check_spf(ip, f"postmaster@{envelope}", envelope, resolver=resolver)
        if ip and spf_records
        else None
    )

    dkim = None
    if selector:
        name = f"{selector}._domainkey.{domain}"
        key_txt = ask(lambda: txt_strings(resolver, name))
        dkim = _dkim_key(name, key_txt) if key_txt is not None else None

    dmarc_name = f"_dmarc.{domain}"
    dmarc = records(dmarc_name, "v=dmarc1")
    org = org_domain(domain)
    if dmarc == () and org != domain:  # RFC 7489 6.6.3: fall back to the organizational domain
        dmarc_name = f"_dmarc.{org}"
        dmarc = records(dmarc_name, "v=dmarc1")

    def reverse(ip: str) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        """(PTR names, those that resolve back to ``ip``); None where DNS did not say."""
        answers = ask(
            lambda: resolve_records(resolver, dns.reversename.from_address(ip).to_text(), "PTR")
        )
        if answers is None:
            return None, None
        names = tuple(a.target.to_text(True) for a in answers)
        confirmed = []
        unanswered = False
        rdtype = "AAAA" if ipaddress.ip_address(ip).version == 6 else "A"
        for name in names:
            addrs = ask(partial(resolve_records, resolver, name, rdtype))
            unanswered = unanswered or addrs is None
            if any(
                ipaddress.ip_address(a.address) == ipaddress.ip_address(ip) for a in addrs or []
            ):
                confirmed.append(name)
        # A PTR name whose forward lookup went unanswered may be the one that
        # resolves back: with none confirmed, that is unknown, not a mismatch.
        return names, None if unanswered and not confirmed else tuple(confirmed)

    ptr_names, ptr_confirmed = reverse(ip) if ip else (None, None)
    others = []
    for other in dict.fromkeys(other_ips):
        if other == ip:
            continue
        names, confirmed = reverse(other)
        other_eval = (
            check_spf(other, f"postmaster@{envelope}", envelope, resolver=resolver)
            if spf_records
            else None
        )
        others.append(
            IpFacts(ip=other, ptr_names=names, ptr_confirmed=confirmed, spf_eval=other_eval)
        )

    return SenderFacts(
        domain=domain,
        ip=ip,
        mail_from_domain=envelope,
        mx=mx,
        spf_records=spf_records,
        spf_lookups=lookups,
        spf_void_lookups=voids,
        spf_eval=spf_eval,
        dkim=dkim,
        dmarc_records=dmarc,
        dmarc_name=dmarc_name,
        ptr_names=ptr_names,
        ptr_confirmed=ptr_confirmed,
        other_ips=tuple(others),
        unavailable=tuple(unavailable),
        exists=exists,
    )
