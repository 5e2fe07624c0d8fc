"""``maildoctor check``: one address or a whole member list, from raw text to results.

The flow (DESIGN.md): syntax → typos → carriers → DNS probe (async, one lookup
per domain per run) → assess → :class:`CheckResult`. Everything but the DNS
probe is pure and cached per domain, so a batch of 100,000 addresses costs one
parse per address and one lookup per distinct domain.

API::

    check_offline(raw, *, lang="ja") -> CheckResult            # static checks only
    await check_address(raw, *, probe=None, lang="ja") -> CheckResult
    async for result in check_many(lines, *, probe=None, lang="ja"): ...   # input order
    check_one(raw, *, nameservers=(), offline=False, ...) -> CheckResult  # synchronous, one address
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar, overload

from disposable_email_domains import blocklist as _DISPOSABLE

from maildoctor.address.assess import NO_MAIL, Diagnosis, Facts, assess
from maildoctor.address.domain_syntax import SyntaxProblem, check_domain
from maildoctor.address.repair import fix_at_signs, fold_ime
from maildoctor.address.syntax import (
    MAX_ADDRESS_OCTETS,
    MAX_LOCAL_OCTETS,
    ParsedAddress,
    SyntaxResult,
    check_syntax,
)
from maildoctor.address.typos import (
    MAX_DOMAIN,
    TypoSuggestion,
    distance,
    repair_candidates,
    suggest_domain,
)
from maildoctor.carriers import Carrier, carrier_for_domain
from maildoctor.findings import Finding, Lang, Verdict, make_finding

if TYPE_CHECKING:  # dnspython loads only when DNS is asked (not for --offline)
    from maildoctor.address.dnscache import CachedProbe
    from maildoctor.address.dnsprobe import DNSProbe, DomainDNS

__all__ = [
    "ROLE_LOCAL_PARTS",
    "CheckResult",
    "check_address",
    "check_many",
    "check_offline",
    "check_one",
    "exit_code",
]

#: Local parts that name a role, not a person (RFC 2142 and common practice).
ROLE_LOCAL_PARTS = frozenset(
    {
        "abuse", "admin", "administrator", "billing", "contact", "postmaster", "hostmaster",
        "webmaster", "info", "support", "help", "sales", "marketing", "noreply", "no-reply",
        "donotreply", "do-not-reply", "office", "root", "security", "privacy", "staff", "team",
        "jobs", "recruit", "hr", "newsletter", "mailer-daemon", "list", "news", "service",
        "inquiry", "otoiawase", "soumu", "jimu", "kanri",
    }
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """The result of checking one address (the contract's JSON object)."""

    address: str
    """The address as given."""
    normalized: str | None
    """``local@domain`` with the domain lower-cased in IDNA A-labels; None when unparseable."""
    diagnosis: Diagnosis
    """Verdict, findings and suggestion."""
    carrier: Carrier | None
    """The mobile carrier of the address (or of the address meant, for input that
    cannot be written as typed)."""
    mx: tuple[str, ...]
    """MX hosts in preference order (empty when DNS was not asked or had none)."""
    dns_checked: bool
    """Whether DNS was asked (False with --offline or for an unparseable address)."""
    dns_skipped: Literal["offline", "address_literal"] | None = None
    """Why DNS was not asked about a parseable address (or the repaired form of one
    that is not), so reports can say so."""
    dns_domain: str | None = None
    """The domain DNS was asked about: the address's own, or for input that cannot be
    written as typed, the one of the address meant (``docomo.ne.jp`` for
    ``taro@docomo,ne.jp``), whose answer ``mx`` and the DNS findings then give."""
    lang: Lang = "ja"
    repairs_asked: tuple[tuple[str, str], ...] = ()
    """With ``repair``: the candidate repairs DNS was asked about, each with its answer
    (``ok``, ``nxdomain``...), when the typed domain takes no mail; empty otherwise."""

    @property
    def verdict(self) -> Verdict:
        return self.diagnosis.verdict

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.diagnosis.findings

    @property
    def suggestion(self) -> str | None:
        return self.diagnosis.suggestion

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.diagnosis.findings]

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON shape (plus ``dns_checked``)."""
        return {
            "address": self.address,
            "normalized": self.normalized,
            "verdict": str(self.verdict),
            "findings": [f.to_dict() for f in self.findings],
            "suggestion": self.suggestion,
            "carrier": (
                {"id": self.carrier.id, "name": self.carrier.name(self.lang)}
                if self.carrier
                else None
            ),
            "mx": list(self.mx),
            "dns_checked": self.dns_checked,
            "dns_skipped": self.dns_skipped,
            "dns_domain": self.dns_domain,
        } | (
            {"repairs_asked": [{"domain": d, "dns": st} for d, st in self.repairs_asked]}
            if self.repairs_asked
            else {}
        )


@dataclass(frozen=True, kw_only=True)
class _Static:
    """What is known about an address without the network."""

    syntax: SyntaxResult
    typo: TypoSuggestion | None
    carrier: Carrier | None
    disposable: bool
    role: bool
    dns_domain: str | None
    """The domain to ask DNS about: the address's own or, for input that cannot be
    written as typed, that of the address meant (None: nothing to ask)."""
    fallback: TypoSuggestion | None = None
    """The repair alone, for when DNS does not bear out a weak ``typo`` of it."""
    fallback_carrier: Carrier | None = None
    unwritable: bool = False
    """Even repaired, the input is no address (``taro@gmail``): it cannot take mail."""


@lru_cache(maxsize=65536)
def _domain_facts(domain: str) -> tuple[TypoSuggestion | None, Carrier | None, bool]:
    """(typo, carrier, disposable) for an ASCII domain: cached, many addresses share one.

    The disposable check comes first: a throwaway service (yopmail.com) is never a
    typo of a popular domain. The one exception is a domain one key away from a
    popular one (gmial.com): such domains are registered to catch mistyped mail and
    land on disposable lists for it, and the typo is what the customer needs to hear.
    A name longer than DNS allows is neither (and its suffixes are not walked: a
    pasted blob of labels would make that quadratic).
    """
    if len(domain) > MAX_DOMAIN:
        return None, carrier_for_domain(domain), False
    labels = domain.split(".")
    disposable = any(".".join(labels[i:]) in _DISPOSABLE for i in range(len(labels) - 1))
    typo = suggest_domain(domain)
    if disposable and typo is not None and distance(domain, typo.suggested, 1) > 1:
        typo = None
    return typo, carrier_for_domain(domain), disposable


def _typed_domain(raw: str) -> str:
    """The domain as typed, for messages: after the last @ (or ＠), once a doubled @
    or one at either end is set aside (``taro@docomo,ne.jp@`` typed ``docomo,ne.jp``)."""
    text = fix_at_signs(raw.strip().replace("\uff20", "@"))
    return text.rpartition("@")[2].strip()


def _only_at_signs(syntax: SyntaxResult) -> bool:
    """A doubled @, or one at either end, is all that keeps the input from being an
    address (``taro yamada@@docomo.ne.jp`` has another mistake, not ours to guess)."""
    raw = syntax.address
    base = fold_ime(raw) if syntax.ime_input else raw.replace("\uff20", "@")
    fixed = fix_at_signs(base)
    return fixed != base and check_syntax(fixed).valid


def _repaired(syntax: SyntaxResult) -> _Static:
    """An address that cannot be written as typed: the repair, the typo matcher on it,
    and the domain for DNS to judge (repair, then match, then ask).

    The domain asked about is the one of the address meant (IME-folded or
    repaired), so DNS says how strongly to suggest as it does for a valid
    address: a look-alike that takes no mail makes the typo the likely fix, a
    repaired address whose domain takes mail makes the repair the likely fix.
    """
    none = _Static(
        syntax=syntax, typo=None, carrier=None, disposable=False, role=False, dns_domain=None
    )
    candidate = syntax.suggestion or syntax.repaired
    if candidate is None:
        return none
    domain = candidate.rpartition("@")[2]
    checked = check_domain(domain)
    if isinstance(checked, tuple) and checked[2]:
        return none  # an address literal: nothing to match or ask
    ascii_domain = domain if isinstance(checked, SyntaxProblem) else checked[0]
    typo, carrier, _ = _domain_facts(ascii_domain)
    writable = syntax.suggestion is not None or check_syntax(candidate).valid
    fallback: TypoSuggestion | None = None
    if syntax.suggestion is None and writable:
        # The repair alone makes it valid (gmail..com, docomo,ne.jp, taro@@docomo.ne.jp):
        # the fix, unless DNS bears out a typo of the repaired domain.
        typed = _typed_domain(syntax.address)
        if ascii_domain != typed.lower():
            fallback = TypoSuggestion(domain=typed, suggested=ascii_domain, rule="repair")
        elif _only_at_signs(syntax):
            fallback = TypoSuggestion(domain=typed, suggested=ascii_domain, rule="at_sign")
        if typo is not None:
            typo = dataclasses.replace(typo, domain=typed)
    if typo is not None and not typo.is_tie and syntax.suggestion is None:
        typo_carrier = carrier_for_domain(typo.suggested)
    else:
        typo_carrier = carrier
    asked = writable and (typo, fallback, syntax.suggestion) != (None, None, None)
    return _Static(
        syntax=syntax,
        typo=typo or fallback,
        carrier=typo_carrier if typo is not None else carrier,
        disposable=False,
        role=False,
        dns_domain=ascii_domain if asked else None,
        fallback=fallback if typo is not None else None,
        fallback_carrier=carrier,
        unwritable=not writable,
    )


#: A plain ASCII address (dot-atom local part, a name of letters, digits, dots and
#: hyphens), nearly every line of a member list: what :func:`_plain` may take.
_PLAIN = re.compile(
    r"([A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*)@([A-Za-z0-9.-]+)"
)


#: (ascii, unicode, typo, carrier, disposable) of a plain address's domain.
_DomainFacts = tuple[str, str, TypoSuggestion | None, Carrier | None, bool]


@lru_cache(maxsize=65536)
def _plain_domain(domain: str) -> _DomainFacts | None:
    """The facts of a domain as typed, computed once per domain: None when the domain
    is not a valid host name (the full check then says why)."""
    checked = check_domain(domain)
    if isinstance(checked, SyntaxProblem):
        return None
    ascii_domain, unicode_domain, _ = checked
    return ascii_domain, unicode_domain, *_domain_facts(ascii_domain)


def _plain(raw: str) -> tuple[str, str, _DomainFacts] | None:
    """(local part, domain as typed, :func:`_plain_domain`) of a plain address; None when
    the address needs the full check.

    For what ``_PLAIN`` matches, :func:`check_syntax` would find no control character,
    IME input, space, quote or bad dot, so the result is the one it gives: only the
    lengths (RFC 5321 4.5.3.1) and the domain are left to check.
    """
    match = _PLAIN.fullmatch(raw)
    if match is None:
        return None
    local, domain = match.groups()
    facts = _plain_domain(domain)
    if facts is None:
        return None
    if len(local) > MAX_LOCAL_OCTETS or len(local) + 1 + len(facts[0]) > MAX_ADDRESS_OCTETS:
        return None
    return local, domain, facts


def _is_role(local: str) -> bool:
    return local.lower().split("+", 1)[0] in ROLE_LOCAL_PARTS


class _Shared(NamedTuple):
    """What a batch keeps of a plain address whose findings all come from its domain
    (no typo, not a role name): its diagnosis is made once per domain (:func:`_result`)."""

    address: str
    normalized: str
    dns_domain: str
    carrier: Carrier | None


def _batch_static(raw: str) -> _Static | _Shared:
    """:func:`_static` for a batch: a plain address whose findings all come from its
    domain is kept as a :class:`_Shared` (a tuple, no parse objects)."""
    plain = _plain(raw)
    if plain is not None:
        local, _, (ascii_domain, _, typo, carrier, _) = plain
        if typo is None and not _is_role(local):
            return _Shared(raw, f"{local}@{ascii_domain}", ascii_domain, carrier)
    return _static(raw)


def _static(raw: str) -> _Static:
    plain = _plain(raw)
    if plain is not None:
        local, domain, (ascii_domain, unicode_domain, typo, carrier, disposable) = plain
        parsed = ParsedAddress(
            local=local,
            domain=domain,
            ascii_domain=ascii_domain,
            unicode_domain=unicode_domain,
            quoted=False,
            domain_literal=False,
            smtputf8=False,
            legacy_dots=False,
        )
        return _Static(
            syntax=SyntaxResult(address=raw, parsed=parsed, problem=None),
            typo=typo,
            carrier=carrier,
            disposable=disposable,
            role=_is_role(local),
            dns_domain=ascii_domain,
        )
    syntax = check_syntax(raw)
    parsed_: ParsedAddress | None = syntax.parsed
    if parsed_ is not None and not parsed_.domain_literal:
        typo, carrier, disposable = _domain_facts(parsed_.ascii_domain)
        return _Static(
            syntax=syntax,
            typo=typo,
            carrier=carrier,
            disposable=disposable,
            role=_is_role(parsed_.local),
            dns_domain=parsed_.ascii_domain,
        )
    if parsed_ is None:
        return _repaired(syntax)
    return _Static(
        syntax=syntax, typo=None, carrier=None, disposable=False, role=False, dns_domain=None
    )


#: A per-run memo of :func:`_result`'s diagnoses that depend on the domain alone:
#: (dns_domain, lang) -> (the DNS answer it was made from, the diagnosis).
_Memo = dict[tuple[str, Lang], tuple["DomainDNS | None", Diagnosis]]


def _result(
    static: _Static | _Shared, dns: DomainDNS | None, lang: Lang, memo: _Memo | None = None
) -> CheckResult:
    """The result from the static facts and DNS's answer.

    With ``memo`` (a batch), the diagnosis of an address whose findings all come from
    its domain (a :class:`_Shared`, or a valid :class:`_Static` without typo, role
    name, carrier-legacy dots or UTF-8 local part) is made once per domain and
    shared: it would be the same for every such address of the domain.
    """
    if isinstance(static, _Static):
        full: _Static | None = static
        parsed = static.syntax.parsed
        if (
            memo is None
            or static.typo is not None
            or static.role
            or parsed is None
            or static.syntax.problem is not None
            or parsed.legacy_dots
            or parsed.smtputf8
            or static.dns_domain is None
        ):
            return _full_result(static, dns, lang)
        shared = _Shared(
            static.syntax.address, parsed.normalized, static.dns_domain, static.carrier
        )
    else:
        full, shared = None, static
    memo = {} if memo is None else memo
    key = (shared.dns_domain, lang)
    known = memo.get(key)
    if known is None or known[0] is not dns:
        made_from = full if full is not None else _static(shared.address)
        known = (dns, _facts_diagnosis(made_from, dns, lang))
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[key] = known
    return CheckResult(
        address=shared.address,
        normalized=shared.normalized,
        diagnosis=known[1],
        carrier=shared.carrier,
        mx=dns.mx if dns is not None and dns.status != "null_mx" else (),
        dns_checked=dns is not None,
        dns_skipped=None if dns is not None else "offline",
        dns_domain=dns.domain if dns is not None else None,
        lang=lang,
    )


#: The most domains :func:`_result`'s memo holds before it starts over (memory bound).
_MEMO_SIZE = 65536


def _facts_diagnosis(static: _Static, dns: DomainDNS | None, lang: Lang) -> Diagnosis:
    """:func:`assess` of an address without a typo or repair (what the memo holds)."""
    facts = Facts(
        syntax=static.syntax,
        typo=None,
        carrier=static.carrier,
        disposable=static.disposable,
        role=static.role,
        dns=dns,
        unwritable=static.unwritable,
    )
    return assess(facts, lang)


def _full_result(static: _Static, dns: DomainDNS | None, lang: Lang) -> CheckResult:
    typo, carrier = static.typo, static.carrier
    if (
        static.fallback is not None
        and typo is not None
        and typo.strength in ("weak", "tie")
        and (dns is None or dns.status not in NO_MAIL)
    ):
        # A weak guess (aa..com -> au.com) or a tie stands only where DNS says the
        # repaired domain takes no mail; otherwise the repair itself is the suggestion.
        typo, carrier = static.fallback, static.fallback_carrier
    facts = Facts(
        syntax=static.syntax,
        typo=typo,
        carrier=carrier,
        disposable=static.disposable,
        role=static.role,
        dns=dns,
        unwritable=static.unwritable,
    )
    parsed = static.syntax.parsed
    return CheckResult(
        address=static.syntax.address,
        normalized=parsed.normalized if parsed else None,
        diagnosis=assess(facts, lang),
        carrier=carrier,
        mx=dns.mx if dns is not None and dns.status != "null_mx" else (),
        dns_checked=dns is not None,
        dns_skipped=_dns_skipped(static, dns),
        dns_domain=dns.domain if dns is not None else None,
        lang=lang,
    )


def _dns_skipped(
    static: _Static, dns: DomainDNS | None
) -> Literal["offline", "address_literal"] | None:
    """Why DNS was not asked about a domain it could have been asked about."""
    parsed = static.syntax.parsed
    if dns is not None:
        return None
    if parsed is not None and parsed.domain_literal:
        return "address_literal"
    # A parseable address, or the repaired address of one that is not, went unasked.
    return "offline" if parsed is not None or static.dns_domain is not None else None


def check_offline(raw: str, *, lang: Lang = "ja") -> CheckResult:
    """Static checks only (syntax, typo, carrier, disposable, role); never raises."""
    return _result(_static(raw), None, lang)


async def check_address(
    raw: str,
    *,
    probe: DNSProbe | CachedProbe | None = None,
    lang: Lang = "ja",
    repair: bool = False,
) -> CheckResult:
    """Check one address; DNS through ``probe`` unless it is None (offline).

    A server checking one address per request keeps one
    :class:`~maildoctor.address.dnscache.CachedProbe` for its lifetime (answers
    within a deadline, cached per domain); a batch script passes a ``DNSProbe``.
    ``repair``: when the domain takes no mail, ask DNS about a few repairs (see
    :func:`_dns_repair`).
    """
    static = _static(raw)
    dns = None
    if probe is not None and static.dns_domain is not None:
        dns = await probe.probe(static.dns_domain)
    if repair and probe is not None:
        return await _repaired_by_dns(static, dns, probe, lang)
    return _result(static, dns, lang)


#: DNS answers that mean a domain takes mail
_TAKES_MAIL = frozenset({"ok", "implicit_mx"})


async def _dns_repair(
    static: _Static, dns: DomainDNS | None, probe: DNSProbe | CachedProbe
) -> tuple[_Static, tuple[tuple[str, str], ...]]:
    """DNS-assisted repair: a domain that takes no mail (trusted NXDOMAIN, null MX...)
    and no sure suggestion: ask DNS about at most three candidate repairs
    (:func:`~maildoctor.address.typos.repair_candidates`) and keep the one that takes
    mail, when exactly one does (two that do stay a tie); a weak guess that takes no
    mail itself is dropped. Returns the (possibly) new static facts and what was
    asked, each with DNS's answer."""
    parsed = static.syntax.parsed
    if dns is None or dns.status not in NO_MAIL or parsed is None or static.dns_domain is None:
        return static, ()
    if static.typo is not None and static.typo.strength == "strong":
        return static, ()
    candidates = repair_candidates(static.dns_domain)
    if not candidates:
        return static, ()
    answers = await asyncio.gather(*(probe.probe(c) for c in candidates))
    asked = tuple((c, a.status) for c, a in zip(candidates, answers, strict=True))
    takes = [c for c, status in asked if status in _TAKES_MAIL]
    if len(takes) != 1:
        dead = {c for c, status in asked if status in NO_MAIL}
        typo = static.typo
        if typo is not None and typo.is_tie:
            # DNS's answer wins: a candidate that takes no mail leaves the "one of"
            left = [c for c in typo.candidates if c not in dead]
            tie = None
            if len(left) > 1:
                tie = dataclasses.replace(typo, suggested=left[0], candidates=tuple(left))
            return dataclasses.replace(static, typo=tie), asked
        if typo is not None and typo.suggested in dead:
            # the weak guess takes no mail either: no suggestion beats a dead one
            return dataclasses.replace(static, typo=None, carrier=None), asked
        return static, asked
    typo = TypoSuggestion(domain=static.dns_domain, suggested=takes[0], rule="dns_repair")
    return dataclasses.replace(static, typo=typo, carrier=carrier_for_domain(takes[0])), asked


async def _repaired_by_dns(
    static: _Static, dns: DomainDNS | None, probe: DNSProbe | CachedProbe, lang: Lang
) -> CheckResult:
    static, asked = await _dns_repair(static, dns, probe)
    result = _result(static, dns, lang)
    if not asked:
        return result
    said = ", ".join(f"{d} ({status})" for d, status in asked)
    note = make_finding("dns_repair_asked", lang, domain=static.dns_domain, asked=said)
    diagnosis = dataclasses.replace(result.diagnosis, findings=(*result.diagnosis.findings, note))
    return dataclasses.replace(result, diagnosis=diagnosis, repairs_asked=asked)


#: The longest the batch reader runs before the event loop reads DNS answers (seconds).
_TURN = 0.001


_T = TypeVar("_T")


@overload
def check_many(
    addresses: Iterable[str],
    *,
    probe: DNSProbe | CachedProbe | None = None,
    lang: Lang = "ja",
    window: int = 5000,
    repair: bool = False,
) -> AsyncIterator[CheckResult]: ...


@overload
def check_many(
    addresses: Iterable[str],
    *,
    probe: DNSProbe | CachedProbe | None = None,
    lang: Lang = "ja",
    window: int = 5000,
    repair: bool = False,
    prepare: Callable[[int, CheckResult], _T],
) -> AsyncIterator[_T]: ...


async def check_many(
    addresses: Iterable[str],
    *,
    probe: DNSProbe | CachedProbe | None = None,
    lang: Lang = "ja",
    window: int = 5000,
    repair: bool = False,
    prepare: Callable[[int, CheckResult], Any] | None = None,
) -> AsyncIterator[Any]:
    """Check addresses in input order, streaming.

    At most ``window`` results wait for DNS at once, so memory stays flat
    however long the input is; the probe's own concurrency bounds the queries.
    ``repair`` (off unless asked: it adds lookups per bad domain) as for
    :func:`check_address`.

    ``prepare(index, result)`` (index: the address's position in the input) is
    yielded instead of the result, and called as soon as the result can be made:
    for an address whose domain is already answered, when it is read, long before
    its turn. ``check --file`` formats there, so that the addresses held back by
    input order are not all formatted after the last DNS answer (issue 24).
    """
    # Each entry: [static facts, DNS future, (prepared,) once made early, or None].
    pending: deque[list[Any]] = deque()
    memo: _Memo = {}
    repair_probe = probe if repair else None
    early = prepare is not None and repair_probe is None
    # Entries read before their domain was answered, by future: made when it is.
    waiting: dict[asyncio.Future[DomainDNS], list[tuple[int, list[Any]]]] = {}

    def answered(future: asyncio.Future[DomainDNS]) -> None:
        entries = waiting.pop(future, ())
        if future.cancelled() or future.exception() is not None:
            return  # left to its turn, which says what went wrong
        for index, entry in entries:
            if index < done:
                continue  # its turn came first (the callback runs a loop turn after the answer)
            entry[2] = (prepare(index, _result(entry[0], future.result(), lang, memo)),)  # type: ignore[misc]

    # A DNSProbe hands out one shared future per domain: remember it here too, so an
    # address of a known domain costs a dict look-up (a CachedProbe times each call).
    futures: dict[str, asyncio.Future[DomainDNS]] | None = None
    if probe is not None:
        from maildoctor.address.dnsprobe import DNSProbe

        futures = {} if isinstance(probe, DNSProbe) else None
    turn = time.perf_counter()
    done = 0
    for read, raw in enumerate(addresses):
        if probe is not None and time.perf_counter() - turn >= _TURN:
            # Let answers in and queries out while we parse: DNS waits overlap our CPU,
            # and an answer waits at most this long to be read (a new domain's typo
            # search is ~0.3 ms: a count of addresses would not bound it).
            await asyncio.sleep(0)
            turn = time.perf_counter()
        static = _static(raw) if repair_probe is not None else _batch_static(raw)
        future = None
        domain = static.dns_domain
        if probe is not None and domain is not None:
            if futures is None:
                future = probe.lookup(domain)
            else:
                future = futures.get(domain)
                if future is None:
                    if len(futures) >= _MEMO_SIZE:
                        futures.clear()
                    future = futures[domain] = probe.lookup(domain)
        entry: list[Any] = [static, future, None]
        if early and pending:
            # Not its turn: made (and prepared) as soon as it can be, yielded in order.
            if future is None or future.done():
                dns = None if future is None else future.result()
                entry[2] = (prepare(read, _result(static, dns, lang, memo)),)  # type: ignore[misc]
            else:
                if future not in waiting:
                    waiting[future] = []
                    future.add_done_callback(answered)
                waiting[future].append((read, entry))
        pending.append(entry)
        while pending:
            head = pending[0][1]
            if len(pending) < window and head is not None and not head.done():
                break
            static, future, made = pending.popleft()
            if made is not None:
                yield made[0]
            elif repair_probe is None and (future is None or future.done()):
                result = _result(static, None if future is None else future.result(), lang, memo)
                yield result if prepare is None else prepare(done, result)
            else:
                result = await _finish(static, future, lang, repair_probe, memo)
                yield result if prepare is None else prepare(done, result)
            done += 1
    while pending:
        static, future, made = pending.popleft()
        if made is not None:
            yield made[0]
        else:
            result = await _finish(static, future, lang, repair_probe, memo)
            yield result if prepare is None else prepare(done, result)
        done += 1


async def _finish(
    static: _Static | _Shared,
    future: asyncio.Future[DomainDNS] | None,
    lang: Lang,
    repair_probe: DNSProbe | CachedProbe | None = None,
    memo: _Memo | None = None,
) -> CheckResult:
    dns = None if future is None else await future
    if repair_probe is not None and isinstance(static, _Static):
        return await _repaired_by_dns(static, dns, repair_probe, lang)
    return _result(static, dns, lang, memo)


def check_one(
    raw: str,
    *,
    nameservers: Sequence[str] = (),
    dns_timeout: float = 5.0,
    canaries: Sequence[str] | None = None,
    offline: bool = False,
    lang: Lang = "ja",
    repair: bool = False,
) -> CheckResult:
    """Synchronous check of one address with its own probe (for scripts and notebooks).

    Raises :class:`maildoctor.address.dnsprobe.DNSConfigError` for a bad nameserver value.
    """
    if offline:
        return check_offline(raw, lang=lang)

    async def run() -> CheckResult:
        from maildoctor.address.dnsprobe import DEFAULT_CANARIES, DNSProbe, make_resolver

        resolver = make_resolver(nameservers, dns_timeout)
        probe = DNSProbe(resolver, canaries=DEFAULT_CANARIES if canaries is None else canaries)
        return await check_address(raw, probe=probe, lang=lang, repair=repair)

    return asyncio.run(run())


def exit_code(verdicts: Iterable[Verdict]) -> int:
    """The contract's exit status: 1 if any risky/undeliverable, else 3 if any unknown, else 0."""
    seen = set(verdicts)
    if Verdict.RISKY in seen or Verdict.UNDELIVERABLE in seen:
        return 1
    if Verdict.UNKNOWN in seen:
        return 3
    return 0
