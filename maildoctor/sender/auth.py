"""Message authentication: DKIM signing and verification, SPF evaluation, and the
``Authentication-Results`` header (RFC 8601) that records them.

dkimpy and pyspf do the cryptography and the RFC 7208 evaluation; this module
points their DNS lookups at a resolver the caller chooses (the harness's
configured nameserver, the loopback test server), never at a global one, and
turns their outcomes into the RFC 8601 result words: ``pass``, ``fail``,
``softfail``, ``neutral``, ``none``, ``temperror``, ``permerror``. A DNS timeout
is ``temperror`` ("unknown"), never ``fail``.

Typical use in the harness::

    resolver = make_resolver(["127.0.0.1:5353"])
    dkim_result = verify_dkim(raw, txt_lookup(resolver))
    spf_result = check_spf(peer_ip, mail_from, helo, resolver=resolver)
    header = authentication_results("maildoctor.harness", dkim=dkim_result, spf=spf_result)
    # or all of it, DMARC included: authenticate(raw, ip=..., mail_from=..., helo=...,
    # resolver=resolver).header
    stored = b"Authentication-Results: " + header.encode() + b"\\r\\n" + raw
"""

from __future__ import annotations

import email.parser
import email.policy
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import getaddresses
from functools import reduce
from typing import Any, Literal, cast

import dkim
import dns.exception
import dns.name
import dns.nameserver
import dns.resolver
import spf

from maildoctor.address.dnsprobe import parse_nameserver
from maildoctor.sender.domains import aligned, org_domain

__all__ = [
    "AuthResults",
    "DkimResult",
    "DmarcResult",
    "DnsFunc",
    "DnsUnavailable",
    "SpfResult",
    "aligned",
    "authenticate",
    "authentication_results",
    "authserv_id_of",
    "check_dmarc",
    "check_spf",
    "dkim_sign",
    "header_from_domain",
    "make_resolver",
    "org_domain",
    "parse_authentication_results",
    "parse_tags",
    "remove_authentication_results",
    "resolve_records",
    "stamp_authentication_results",
    "txt_lookup",
    "txt_strings",
    "verify_dkim",
]

DkimOutcome = Literal["pass", "fail", "none", "temperror", "permerror"]
SpfOutcome = Literal["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"]

#: dkimpy's DNS hook: ``dnsfunc(name: bytes, timeout=5) -> bytes | None`` gives the
#: TXT record at ``name`` (its strings joined), or ``None``/``b""`` when there is none.
DnsFunc = Callable[..., bytes | None]

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


class DnsUnavailable(Exception):
    """DNS gave no usable answer (timeout, SERVFAIL, REFUSED): the result is unknown."""


# --- DNS -----------------------------------------------------------------------


def make_resolver(
    nameservers: Sequence[str] = (), *, timeout: float = 3.0
) -> dns.resolver.Resolver:
    """A resolver asking exactly ``nameservers`` (``IP[:PORT]``), or the system's if empty."""
    if not nameservers:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(host, port)
            for host, port in map(parse_nameserver, nameservers)
        ]
    resolver.lifetime = timeout
    resolver.timeout = min(timeout, 2.0)
    resolver.cache = None
    return resolver


def resolve_records(resolver: dns.resolver.Resolver, name: str, rdtype: str) -> list[Any]:
    """Records of ``rdtype`` at ``name``: ``[]`` for NXDOMAIN/NODATA, raises DnsUnavailable."""
    try:
        return list(resolver.resolve(name, rdtype, raise_on_no_answer=False, search=False))
    except dns.resolver.NXDOMAIN:
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as e:
        raise DnsUnavailable(f"{name} {rdtype}: {e.__class__.__name__}") from e
    except dns.exception.DNSException as e:
        raise DnsUnavailable(f"{name} {rdtype}: {e}") from e


def txt_strings(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    """Each TXT record at ``name``, its strings joined (RFC 7208 3.3, RFC 6376 3.6.2.2)."""
    return [
        b"".join(r.strings).decode("utf-8", "replace")
        for r in resolve_records(resolver, name, "TXT")
    ]


def txt_lookup(resolver: dns.resolver.Resolver) -> DnsFunc:
    """A dkimpy ``dnsfunc`` asking ``resolver``; raises :class:`DnsUnavailable` on timeout."""

    def dnsfunc(name: bytes | str, timeout: float = 5) -> bytes | None:
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        records = txt_strings(resolver, text)
        return records[0].encode() if records else None

    return dnsfunc


# --- DKIM ----------------------------------------------------------------------


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


# --- SPF -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SpfResult:
    """The outcome of an RFC 7208 check_host() for one sending IP."""

    result: SpfOutcome
    """RFC 8601 word: ``pass``, ``fail``, ``softfail``, ``neutral``, ``none``, ``temperror``,
    ``permerror``."""
    ip: str
    """The connecting IP address that was checked."""
    domain: str
    """The domain whose record was evaluated (MAIL FROM's, or HELO's when MAIL FROM is empty)."""
    mail_from: str
    """The envelope sender as given."""
    helo: str
    """The HELO/EHLO name as given."""
    explanation: str
    """pyspf's explanation (``sender SPF authorized``, ``Too many DNS lookups``...)."""
    lookups: int
    """DNS-querying mechanisms that the evaluation counted (RFC 7208 4.6.4 limit: 10)."""


class _SpfQuery(spf.query):
    """pyspf's query with its DNS lookups sent to a given resolver.

    pyspf calls a module-level ``DNSLookup``; overriding the one method that calls
    it keeps the caller's resolver local to this query.
    """

    def __init__(self, *args: Any, resolver: dns.resolver.Resolver, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resolver = resolver

    def dns(
        self, name: str, qtype: str, cnames: dict[str, str] | None = None, ignore_void: bool = False
    ) -> list[Any]:
        # Same contract as spf.query.dns: a list of answers, [] for none; CNAMEs followed.
        if not name:
            raise spf.PermError("Invalid query")
        name = str(name).rstrip(".").lower()
        if not reduce(lambda x, y: x and 0 < len(y) < 64, name.split("."), True):
            return []
        cached = self.cache.get((name, qtype))
        if cached:
            return list(cached)
        try:
            answers = self._resolver.resolve(name, qtype, raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            answers = None
        except dns.exception.DNSException as e:
            raise spf.TempError(f"DNS {e.__class__.__name__} for {name} {qtype}") from e
        result: list[Any] = []
        target: str | None = None
        if answers is not None and answers.response is not None:
            for rrset in answers.response.answer:
                for rdata in rrset:
                    kind = dns.rdatatype.to_text(rdata.rdtype)
                    if kind == "CNAME" and rrset.name.to_text(True).lower() == name:
                        target = rdata.target.to_text(True)
            for rdata in answers:
                if qtype in ("A", "AAAA"):
                    result.append(rdata.address)
                elif qtype == "MX":
                    result.append((rdata.preference, rdata.exchange))
                elif qtype == "PTR":
                    result.append(rdata.target.to_text(True))
                elif qtype in ("TXT", "SPF"):
                    result.append(rdata.strings)
        if result:
            self.cache[(name, qtype)] = result
        elif target:
            cnames = dict(cnames or {})
            if len(cnames) >= spf.MAX_CNAME:
                raise spf.PermError(f"Length of CNAME chain exceeds {spf.MAX_CNAME}")
            cnames[name] = target
            if target.lower() not in cnames:
                result = self.dns(target, qtype, cnames=cnames)
        if not result and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        return result


def check_spf(
    ip: str,
    mail_from: str,
    helo: str,
    nameservers: Sequence[str] = (),
    *,
    resolver: dns.resolver.Resolver | None = None,
    timeout: float = 3.0,
) -> SpfResult:
    """Evaluate SPF for a message from ``ip`` with envelope sender ``mail_from``.

    DNS goes to ``resolver``, else to a resolver for ``nameservers`` (``IP[:PORT]``).
    An empty ``mail_from`` (a bounce) is checked as ``postmaster@HELO`` (RFC 7208 2.4).
    """
    resolver = resolver or make_resolver(nameservers, timeout=timeout)
    sender = mail_from or f"postmaster@{helo}"
    domain = sender.rpartition("@")[2].lower()
    try:
        query = _SpfQuery(ip, sender, helo, resolver=resolver, timeout=timeout, querytime=0)
        outcome, _code, explanation = query.check()
        lookups = int(query.lookups)
    except (ValueError, spf.PermError, spf.TempError) as e:  # a malformed IP, for instance
        return SpfResult(
            result="permerror", ip=ip, domain=domain, mail_from=mail_from, helo=helo,
            explanation=str(e), lookups=0,
        )  # fmt: skip
    word = str(outcome).lower()
    if word == "ambiguous":  # pyspf's strict-mode extension; RFC 8601 has no such word
        word = "permerror"
    return SpfResult(
        result=word,  # type: ignore[arg-type]
        ip=ip,
        domain=domain,
        mail_from=mail_from,
        helo=helo,
        explanation=str(explanation),
        lookups=lookups,
    )


# --- DMARC ---------------------------------------------------------------------

DmarcOutcome = Literal["pass", "fail", "none", "temperror", "permerror"]


def parse_tags(record: str) -> dict[str, str]:
    """``"v=DMARC1; p=none"`` -> ``{"v": "DMARC1", "p": "none"}`` (RFC 6376 3.2 tag lists)."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags.setdefault(name.strip().lower(), re.sub(r"\s+", "", value))
    return tags


@dataclass(frozen=True, kw_only=True)
class DmarcResult:
    """The outcome of DMARC for one message's header From domain."""

    result: DmarcOutcome
    """``pass`` (an aligned DKIM or SPF pass), ``fail``, ``none`` (no record),
    ``temperror`` (DNS did not answer), ``permerror`` (unusable record)."""
    domain: str
    """The header From domain."""
    policy: str
    """The record's ``p=`` (``none``, ``quarantine``, ``reject``), ``""`` without a record."""
    reason: str
    """Why, in a few words."""


def check_dmarc(
    from_domain: str,
    *,
    dkim: DkimResult | None,
    spf: SpfResult | None,
    resolver: dns.resolver.Resolver,
) -> DmarcResult:
    """RFC 7489 evaluation for ``from_domain`` given the DKIM and SPF results."""
    domain = from_domain.lower().rstrip(".")
    if not domain:
        return DmarcResult(result="none", domain="", policy="", reason="no From domain")
    records: list[str] = []
    try:
        for name in dict.fromkeys((domain, org_domain(domain))):
            records = [
                r
                for r in txt_strings(resolver, f"_dmarc.{name}")
                if r.lower().startswith("v=dmarc1")
            ]
            if records:
                break
    except DnsUnavailable as e:
        return DmarcResult(result="temperror", domain=domain, policy="", reason=str(e))
    if not records:
        return DmarcResult(result="none", domain=domain, policy="", reason="no DMARC record")
    if len(records) > 1:
        return DmarcResult(
            result="permerror", domain=domain, policy="", reason="more than one DMARC record"
        )
    tags = parse_tags(records[0])
    policy = tags.get("p", "").lower()
    if policy not in ("none", "quarantine", "reject"):
        return DmarcResult(
            result="permerror", domain=domain, policy="", reason=f"invalid policy p={policy}"
        )
    if (
        dkim is not None
        and dkim.result == "pass"
        and aligned(dkim.domain, domain, tags.get("adkim", "r"))
    ):
        return DmarcResult(result="pass", domain=domain, policy=policy, reason="aligned DKIM pass")
    if (
        spf is not None
        and spf.result == "pass"
        and aligned(spf.domain, domain, tags.get("aspf", "r"))
    ):
        return DmarcResult(result="pass", domain=domain, policy=policy, reason="aligned SPF pass")
    return DmarcResult(
        result="fail", domain=domain, policy=policy, reason="no aligned DKIM or SPF pass"
    )


# --- Authentication-Results ----------------------------------------------------


def _ptext(value: str) -> str:
    """An RFC 8601 pvalue: quoted when it holds characters a token cannot."""
    if value and re.fullmatch(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.@]+", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def authentication_results(
    authserv_id: str,
    *,
    dkim: DkimResult | None = None,
    spf: SpfResult | None = None,
    dmarc: DmarcResult | None = None,
) -> str:
    """The value of an ``Authentication-Results`` header (RFC 8601) for these results.

    ``authserv_id`` names the verifier (the harness's host name). With no result
    at all the value is ``authserv-id; none``.
    """
    parts = [authserv_id]
    if dkim is not None:
        item = f"dkim={dkim.result}"
        if dkim.reason and dkim.result != "pass":
            item += f" ({dkim.reason.replace('(', '[').replace(')', ']')})"
        if dkim.domain:
            item += f" header.d={_ptext(dkim.domain)}"
        if dkim.selector:
            item += f" header.s={_ptext(dkim.selector)}"
        if dkim.signature_b:
            item += f" header.b={_ptext(dkim.signature_b)}"
        parts.append(item)
    if spf is not None:
        item = f"spf={spf.result}"
        if spf.mail_from:
            item += f" smtp.mailfrom={_ptext(spf.mail_from)}"
        if spf.helo:
            item += f" smtp.helo={_ptext(spf.helo)}"
        parts.append(item)
    if dmarc is not None:
        item = f"dmarc={dmarc.result}"
        if dmarc.policy:
            item += f" (p={dmarc.policy})"
        if dmarc.domain:
            item += f" header.from={_ptext(dmarc.domain)}"
        parts.append(item)
    if len(parts) == 1:
        parts.append("none")
    return "; ".join(parts)


class _FailFast:
    """A resolver's ``resolve`` that, after one unanswered lookup, fails the rest at once."""

    def __init__(self, resolver: dns.resolver.Resolver) -> None:
        self._resolver = resolver
        self._down: dns.exception.DNSException | None = None

    def resolve(self, *args: Any, **kwargs: Any) -> Any:
        if self._down is not None:
            raise self._down
        try:
            return self._resolver.resolve(*args, **kwargs)
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as e:
            self._down = e
            raise


@dataclass(frozen=True, kw_only=True)
class AuthResults:
    """DKIM, SPF and DMARC for one received message, and the header recording them."""

    dkim: DkimResult
    spf: SpfResult
    dmarc: DmarcResult
    header: str
    """The ``Authentication-Results`` value (without the field name)."""


def authenticate(
    raw: bytes,
    *,
    ip: str,
    mail_from: str,
    helo: str,
    resolver: dns.resolver.Resolver,
    authserv_id: str = "maildoctor",
) -> AuthResults:
    """Verify DKIM, evaluate SPF and DMARC for a received message: what the harness stores.

    Blocking (DNS): from asyncio code, run it in an executor. Once DNS fails to
    answer, the remaining lookups fail at once (temperror) instead of each waiting
    out its timeout.
    """
    resolver = cast(dns.resolver.Resolver, _FailFast(resolver))
    dkim_result = verify_dkim(raw, txt_lookup(resolver))
    spf_result = check_spf(ip, mail_from, helo, resolver=resolver)
    dmarc_result = check_dmarc(
        header_from_domain(raw), dkim=dkim_result, spf=spf_result, resolver=resolver
    )
    return AuthResults(
        dkim=dkim_result,
        spf=spf_result,
        dmarc=dmarc_result,
        header=authentication_results(
            authserv_id, dkim=dkim_result, spf=spf_result, dmarc=dmarc_result
        ),
    )


def header_from_domain(raw: bytes) -> str:
    """The domain of the (first) From header address of ``raw``, ``""`` if none."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    try:
        message = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
        addresses = getaddresses([str(v) for v in message.get_all("From", [])])
    except Exception:  # a header the parser cannot read: no From domain
        return ""
    return next((a.rpartition("@")[2].lower() for _, a in addresses if "@" in a), "")


# --- the stored copy: our header in, forged ones out ---------------------------

_AR_FIELD = re.compile(rb"(?im)^authentication-results[ \t]*:((?:.*)(?:\r?\n[ \t].*)*)\r?\n")
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def _header_end(raw: bytes) -> int:
    """Index of the blank line ending the header section (len(raw) when there is none)."""
    if raw.startswith((b"\r\n", b"\n")):
        return 0
    ends = [i + n for i, n in ((raw.find(b"\r\n\r\n"), 2), (raw.find(b"\n\n"), 1)) if i >= 0]
    return min(ends) if ends else len(raw)


def authserv_id_of(value: str) -> str:
    """The authserv-id of an ``Authentication-Results`` value (RFC 8601 2.2), lower case."""
    return _COMMENT.sub(" ", value).split(";", 1)[0].strip().split(" ", 1)[0].lower()


def remove_authentication_results(raw: bytes, authserv_id: str) -> bytes:
    """``raw`` without the ``Authentication-Results`` fields that claim ``authserv_id``.

    RFC 8601 section 5: a receiver removes such fields arriving from outside before
    adding its own, or a sender could forge the verdict. Others' fields are kept.
    """
    end = _header_end(raw)
    head = raw[:end]
    if b"authentication-results" not in head.lower():
        return raw
    wanted = authserv_id.lower()

    def keep(m: re.Match[bytes]) -> bytes:
        value = m.group(1).decode("utf-8", "replace")
        return b"" if authserv_id_of(value) == wanted else m.group(0)

    return _AR_FIELD.sub(keep, head) + raw[end:]


def stamp_authentication_results(raw: bytes, value: str) -> bytes:
    """``raw`` with ``Authentication-Results: value`` as its first header field.

    Folded after each ``;`` (RFC 5322 2.2.3) with the message's own line ending.
    """
    eol = b"\n" if raw and b"\r\n" not in raw[: _header_end(raw) + 2] else b"\r\n"
    guarded = _QUOTED.sub(lambda m: m.group(0).replace(";", "\x00"), value)
    folded = (";" + eol.decode() + "\t").join(p.strip() for p in guarded.split("; "))
    folded = folded.replace("\x00", ";")
    return b"Authentication-Results: " + folded.encode("utf-8") + eol + raw


def parse_authentication_results(value: str) -> tuple[str, dict[str, dict[str, str]]]:
    """``(authserv-id, {method: {"result": word, "reason": comment, ptype.property: value}})``.

    Reads what :func:`authentication_results` writes, and the common forms other
    verifiers write (RFC 8601 2.2); the first result of each method counts.
    """
    unquoted = _QUOTED.sub(lambda m: m.group(0).replace(";", "\x00"), value)
    parts = unquoted.split(";")
    authserv = authserv_id_of(parts[0])
    methods: dict[str, dict[str, str]] = {}
    for part in parts[1:]:
        part = part.replace("\x00", ";")
        comments = [c[1:-1].strip() for c in _COMMENT.findall(part)]
        text = _COMMENT.sub(" ", part).strip()
        m = re.match(r"([A-Za-z0-9-]+)(?:/\d+)?\s*=\s*([A-Za-z]+)\s*(.*)$", text, re.S)
        if not m or m.group(1).lower() in methods:
            continue
        info = {"result": m.group(2).lower(), "reason": "; ".join(comments)}
        for prop in re.finditer(
            r'([A-Za-z0-9-]+\.[A-Za-z0-9.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|\S+)', m.group(3)
        ):
            info[prop.group(1).lower()] = prop.group(2).strip('"')
        methods[m.group(1).lower()] = info
    return authserv, methods
