"""From facts about an address to findings and a verdict: pure, no I/O.

:func:`assess` takes what the other modules found (syntax, typo, carrier,
disposable or role, DNS) as plain values and applies the contract: one
finding per cause, the verdict rule of ``findings.verdict_of``, and one
suggested correction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from maildoctor.address.repair import trim_prose
from maildoctor.address.syntax import SyntaxResult, check_syntax, display
from maildoctor.address.typos import TypoSuggestion
from maildoctor.carriers import Carrier
from maildoctor.findings import Finding, Lang, Verdict, make_finding, verdict_of
from maildoctor.words import words

if TYPE_CHECKING:  # dnspython is imported only when DNS is asked (not by --offline)
    from maildoctor.address.dnsprobe import DomainDNS

__all__ = ["DNS_REASONS", "NO_MAIL", "Diagnosis", "Facts", "assess"]


def _pairs(section: str) -> dict[str, tuple[str, str]]:
    """A words.toml section as ``{key: (ja, en)}`` (findings carry both languages)."""
    ja, en = words(section, "ja"), words(section, "en")
    return {key: (ja[key], en[key]) for key in ja}


#: Why DNS could not conclude anything, as (ja, en) phrases for dns_unavailable.
DNS_REASONS: dict[str, tuple[str, str]] = _pairs("dns_reasons")


#: DNS answers that mean the typed domain cannot take mail: a suggestion is then the fix.
NO_MAIL = frozenset({"nxdomain", "null_mx", "no_mail_server", "mx_unresolvable"})
#: DNS answers that mean mail for the domain has somewhere to go.
_TAKES_MAIL = frozenset({"ok", "implicit_mx"})
#: Typo rules whose suggestion is the input repaired, not another domain.
_REPAIRS = frozenset({"repair", "at_sign"})

#: How sure a typo suggestion is, from what DNS said of the typed domain: (ja, en) notes.
TYPO_NOTES: dict[str, tuple[str, str]] = _pairs("typo_notes")
#: The same, for a typo of the domain of a repaired address (``gmial..com``): DNS was
#: asked about the repaired domain, which the note names.
REPAIRED_TYPO_NOTES: dict[str, tuple[str, str]] = _pairs("repaired_typo_notes")
#: For a repaired address (``taro@gmail..com``): whether the repaired domain takes mail.
REPAIR_NOTES: dict[str, tuple[str, str]] = _pairs("repair_notes")


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
    """None when DNS was not asked (offline, an address literal, or input that no
    repair makes an address). For input that cannot be written as typed, DNS of
    the domain of the address meant (IME-folded or repaired)."""
    unwritable: bool = False
    """Even repaired, the input is no address (``taro@gmail``): as typed it cannot take mail."""


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
    if typo is not None and typo.is_tie:
        # "one of": no suggestion (a wrong pick costs more than none); the agent confirms
        note_ja, note_en = _note(typo, likelihood, facts)
        found.append(
            make_finding(
                "typo_ambiguous",
                lang,
                domain=display(typo.domain),
                candidates=list(typo.candidates),
                one_of=", ".join(typo.candidates),
                rule=typo.rule,
                likelihood=likelihood,
                note_ja=note_ja,
                note_en=note_en,
            )
        )
    elif typo is not None:
        base = suggestion or syntax.repaired or (parsed.normalized if parsed else address)
        local = base.rpartition("@")[0]
        suggestion = f"{local}@{typo.suggested}"
        note_ja, note_en = _note(typo, likelihood, facts)
        if typo.rule == "at_sign":
            found.append(
                make_finding(
                    "extra_at_sign",
                    lang,
                    address=address,
                    suggestion=suggestion,
                    rule=typo.rule,
                    likelihood=likelihood,
                    note_ja=note_ja,
                    note_en=note_en,
                )
            )
        else:
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
    unknown_tld = _unknown_tld(facts)
    if unknown_tld is not None and typo is None:
        found.append(make_finding("tld_unknown", lang, domain=unknown_tld[0], tld=unknown_tld[1]))
        # 「taro@docomo.ne.jpです」: the words after the address made the ending.
        trimmed = check_syntax(trim_prose(syntax.address))
        if suggestion is None and trimmed.parsed is not None and trimmed.address != address:
            suggestion = trimmed.parsed.normalized
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
    if facts.disposable and domain and (facts.typo is None or facts.typo.is_tie):
        # Typo-squatted look-alikes (gmial.com) are on disposable lists; the typo says more.
        found.append(make_finding("disposable_domain", lang, domain=domain))
    if facts.role and parsed is not None:
        found.append(make_finding("role_account", lang, local=parsed.local))
    return Diagnosis(verdict=verdict_of(found), findings=tuple(found), suggestion=suggestion)


#: RFC 2606's reserved TLDs: names with a known meaning (test set-ups use them), not slips.
_RESERVED_TLDS = frozenset({"test", "example", "invalid", "localhost"})


def _unknown_tld(facts: Facts) -> tuple[str, str] | None:
    """(domain, its last label) when DNS was not asked and that label is no TLD the
    bundled Public Suffix List knows; else None. Asked, DNS decides (a TLD newer than
    the list resolves; an unreal one is NXDOMAIN; an untrusted answer is "unknown")."""
    parsed = facts.syntax.parsed
    if parsed is None or parsed.domain_literal or facts.dns is not None:
        return None
    from maildoctor.address.known_domains import public_suffix

    domain = parsed.ascii_domain
    if public_suffix(domain) is not None or domain.rpartition(".")[2] in _RESERVED_TLDS:
        return None
    return display(parsed.domain), display(parsed.domain.rpartition(".")[2])


def _judge_typo(facts: Facts) -> tuple[TypoSuggestion | None, str]:
    """The typo to report and how likely it is (``likely``, ``possible``,
    ``doubtful``, ``unchecked``).

    The list of real domains decides whether to suggest; DNS decides how strongly.
    A typed domain that cannot take mail (or an address that no repair makes
    valid) makes the suggestion the likely fix; one with a working mail server
    keeps it a question, since look-alikes of popular domains are registered to
    catch mail. A weak suggestion (a short name, a country-only difference) is
    made only when DNS says the typed domain takes no mail. A repair of broken
    input (``docomo,ne.jp``, ``taro@@docomo.ne.jp``) is judged by its own domain:
    likely when that takes mail, doubtful when it does not either. No DNS answer
    (offline, or a resolver that cannot be trusted) leaves it ``unchecked``. A tie is
    shown as "one of" unless DNS says the typed domain takes mail (then it is likely
    somebody's own, as a weak guess would be).
    """
    typo = facts.typo
    if typo is None:
        return None, "unchecked"
    status = facts.dns.status if facts.dns is not None else None
    if typo.rule in _REPAIRS:
        if status in _TAKES_MAIL:
            return typo, "likely"
        return typo, "doubtful" if status in NO_MAIL else "unchecked"
    dead = facts.unwritable or status in NO_MAIL
    if typo.is_tie and status in _TAKES_MAIL and not facts.unwritable:
        return None, "unchecked"
    if typo.strength == "weak" and not dead:
        return None, "unchecked"
    if dead:
        return typo, "likely"
    if status in _TAKES_MAIL:
        return typo, "possible"
    return typo, "unchecked"


def _note(typo: TypoSuggestion, likelihood: str, facts: Facts) -> tuple[str, str]:
    """The (ja, en) sentence that says what DNS said, naming a repaired domain."""
    if facts.dns is None or facts.syntax.parsed is not None:
        notes = TYPO_NOTES
    else:
        notes = REPAIR_NOTES if typo.rule in _REPAIRS else REPAIRED_TYPO_NOTES
    ja, en = notes[likelihood]
    domain = facts.dns.domain if facts.dns is not None else ""
    return ja.format(domain=domain), en.format(domain=domain)


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
