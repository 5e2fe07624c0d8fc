"""From facts about an address to findings and a verdict: pure, no I/O.

:func:`assess` takes what the other modules found (syntax, typo, carrier,
disposable or role, DNS) as plain values and applies the contract: one
finding per cause, the verdict rule of ``findings.verdict_of``, and one
suggested correction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from maildoctor.address.syntax import SyntaxResult, display
from maildoctor.address.typos import TypoSuggestion
from maildoctor.carriers import Carrier
from maildoctor.findings import Finding, Lang, Verdict, make_finding, verdict_of

if TYPE_CHECKING:  # dnspython is imported only when DNS is asked (not by --offline)
    from maildoctor.address.dnsprobe import DomainDNS

__all__ = ["DNS_REASONS", "Diagnosis", "Facts", "assess"]

#: Why DNS could not conclude anything, as (ja, en) phrases for dns_unavailable.
DNS_REASONS: dict[str, tuple[str, str]] = {
    "timeout": ("DNSサーバーから応答がありませんでした", "the DNS server did not answer in time"),
    "SERVFAIL": ("DNSサーバーがエラー(SERVFAIL)を返しました", "the DNS server answered SERVFAIL"),
    "REFUSED": (
        "DNSサーバーが問い合わせを拒否しました(REFUSED)",
        "the DNS server refused the query",
    ),
    "canary": (
        "DNSサーバーが実在するドメインも存在しないと答えるため、その応答を信用できません",
        "the resolver failed the canary check: it denies names that exist, so its answers "
        "cannot be trusted",
    ),
    "no_resolver": ("DNSサーバーが設定されていません", "no DNS resolver is configured"),
    "error": ("DNSの問い合わせに失敗しました", "the DNS query failed"),
}


#: DNS answers that mean the typed domain cannot take mail: a suggestion is then the fix.
_NO_MAIL = frozenset({"nxdomain", "null_mx", "no_mail_server", "mx_unresolvable"})

#: How sure a typo suggestion is, from what DNS said of the typed domain: (ja, en) notes.
TYPO_NOTES: dict[str, tuple[str, str]] = {
    "likely": (
        "このドメインではメールを受け取れないため、入力ミスと考えられます。",
        " That domain cannot receive mail, so this is most likely the fix.",
    ),
    "possible": (
        "ただし、このドメインにはメールサーバーがあります。人気のドメインに似たドメインは誤送信されたメールを受け取るために登録されていることがあるため、お客様に確認してください。",
        " That domain does have a mail server, though: look-alikes of popular domains are "
        "often registered to catch mistyped mail, so ask the customer.",
    ),
    "unchecked": ("", ""),
}


@dataclass(frozen=True, kw_only=True)
class Facts:
    """Everything known about one address before judging it."""

    syntax: SyntaxResult
    typo: TypoSuggestion | None = None
    """A likely correction of the domain (of the suggestion, for IME input)."""
    carrier: Carrier | None = None
    disposable: bool = False
    role: bool = False
    dns: DomainDNS | None = None
    """None when DNS was not asked (offline, invalid syntax, or an address literal)."""


@dataclass(frozen=True, kw_only=True)
class Diagnosis:
    """The judgement on one address."""

    verdict: Verdict
    findings: tuple[Finding, ...]
    """In the order a support agent reads them: syntax, typo, DNS, carrier, others."""
    suggestion: str | None
    """The corrected full address, when there is one."""


def assess(facts: Facts, lang: Lang = "ja") -> Diagnosis:
    """Turn facts into findings, a suggestion and the verdict."""
    syntax = facts.syntax
    found: list[Finding] = []
    parsed = syntax.parsed
    address = display(syntax.address)  # one line, whatever was typed
    suggestion = syntax.suggestion
    if syntax.problem is not None:
        found.append(
            make_finding(
                "syntax_invalid",
                lang,
                address=address,
                reason=syntax.problem.code,
                reason_ja=syntax.problem.reason_ja,
                reason_en=syntax.problem.reason_en,
            )
        )
        if syntax.ime_input and syntax.suggestion:
            found.append(
                make_finding("fullwidth_input", lang, address=address, suggestion=syntax.suggestion)
            )
    if parsed is not None and parsed.legacy_dots:
        found.append(make_finding("legacy_carrier_address", lang, address=address))
    if parsed is not None and parsed.smtputf8:
        found.append(make_finding("smtputf8_required", lang, address=address, local=parsed.local))
    typo, likelihood = _judge_typo(facts)
    if typo is not None:
        base = suggestion or syntax.repaired or (parsed.normalized if parsed else address)
        local = base.rpartition("@")[0]
        suggestion = f"{local}@{typo.suggested}"
        note_ja, note_en = TYPO_NOTES[likelihood]
        found.append(
            make_finding(
                "typo_suspected",
                lang,
                domain=display(typo.domain),
                suggested_domain=typo.suggested,
                suggestion=suggestion,
                rule=typo.rule,
                likelihood=likelihood,
                note_ja=note_ja,
                note_en=note_en,
            )
        )
    if facts.dns is not None:
        found.extend(_dns_findings(facts.dns, lang))
    if facts.carrier is not None:
        found.append(
            make_finding(
                "carrier_mail",
                lang,
                carrier=facts.carrier.id,
                carrier_name=facts.carrier.name(lang),
            )
        )
    domain = parsed.ascii_domain if parsed else None
    if facts.disposable and domain and facts.typo is None:
        # Typo-squatted look-alikes (gmial.com) are on disposable lists; the typo says more.
        found.append(make_finding("disposable_domain", lang, domain=domain))
    if facts.role and parsed is not None:
        found.append(make_finding("role_account", lang, local=parsed.local))
    return Diagnosis(verdict=verdict_of(found), findings=tuple(found), suggestion=suggestion)


def _judge_typo(facts: Facts) -> tuple[TypoSuggestion | None, str]:
    """The typo to report and how likely it is (``likely``, ``possible``, ``unchecked``).

    The list of real domains decides whether to suggest; DNS decides how strongly.
    A typed domain that cannot take mail (or an address that cannot be written)
    makes the suggestion the likely fix; one with a working mail server keeps it a
    question, since look-alikes of popular domains are registered to catch mail.
    A weak suggestion (a short name, a country-only difference) is made only when
    DNS says the typed domain takes no mail.
    """
    typo = facts.typo
    if typo is None:
        return None, "unchecked"
    # As typed, an address that no repair makes valid cannot take mail either.
    unwritable = facts.syntax.problem is not None and facts.syntax.suggestion is None
    dead = unwritable or (facts.dns is not None and facts.dns.status in _NO_MAIL)
    if typo.strength == "weak" and not dead:
        return None, "unchecked"
    if dead:
        return typo, "likely"
    if facts.dns is not None and facts.dns.status in ("ok", "implicit_mx"):
        return typo, "possible"
    return typo, "unchecked"


def _dns_findings(dns: DomainDNS, lang: Lang) -> list[Finding]:
    domain = dns.domain
    match dns.status:
        case "ok":
            return []
        case "nxdomain":
            return [make_finding("domain_not_found", lang, domain=domain)]
        case "null_mx":
            return [make_finding("null_mx", lang, domain=domain)]
        case "no_mail_server":
            return [make_finding("no_mail_server", lang, domain=domain)]
        case "implicit_mx":
            return [make_finding("implicit_mx", lang, domain=domain, addresses=list(dns.addresses))]
        case "mx_unresolvable":
            hosts = ", ".join(dns.unresolved or dns.mx)
            return [make_finding("mx_unresolvable", lang, domain=domain, hosts=hosts)]
        case _:
            reason = dns.reason or "error"
            ja, en = DNS_REASONS.get(reason, DNS_REASONS["error"])
            return [
                make_finding(
                    "dns_unavailable",
                    lang,
                    domain=domain,
                    reason=reason,
                    reason_ja=ja,
                    reason_en=en,
                )
            ]
