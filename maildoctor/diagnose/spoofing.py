"""The spoofing-filter row of the delivery trial: what decides it, and which way
lentrance.com's mail goes as its DNS is published today.

A carrier's なりすまし拒否 judges the sender's authentication, not the customer's
settings: mail from lentrance.com passes when it passes SPF or DKIM with DMARC
alignment, and is refused (or filed) when not. The trial message is neither
signed nor sent from lentrance.com's servers, so the trial tries both: once
with an ``Authentication-Results`` header that authenticates lentrance.com and
once with one that fails it (the harness's filters read such headers when it
does not verify itself). Which of the two applies comes from the sender audit
of lentrance.com (``maildoctor.sender.domain_audit``) and the carrier's rule
in ``data/sender_rules.toml``; when DNS is offline, silent or untrusted (the
canary check of ``check``), it is "unknown", never a guess. What the carrier then
does with the mail (docomo's banner, SoftBank's filter...) and its source is the
receivers' row of the same audit (``maildoctor.sender.receivers``, the ``sender``
command's table).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from maildoctor.carriers import SENDER_DOMAIN
from maildoctor.findings import Lang
from maildoctor.words import Surface, for_surface, words

if TYPE_CHECKING:  # dnspython, pyspf and dkimpy load only when the audit runs
    from maildoctor.sender.domain_audit import SenderAudit

__all__ = [
    "AUTHSERV_ID",
    "Published",
    "SenderAuth",
    "SpoofingCheck",
    "auth_header",
    "published_sender_auth",
    "trial_row",
]

Published = Literal["pass", "fail", "unknown"]

#: The verifier named in the trial's simulated Authentication-Results (not the
#: harness's own id, which the harness strips from incoming mail, RFC 8601 5).
AUTHSERV_ID = "maildoctor.diagnose"

#: Checks that decide a spoofing filter with no rule of its own in sender_rules.toml:
#: SPF or DKIM aligned with the From domain, and a DMARC record to align against.
_GENERIC = ("aligned", "dmarc")
_CHECK_NAMES = {
    "spf": "SPF",
    "dkim": "DKIM",
    "dmarc": "DMARC",
    "aligned": "DMARC alignment",
    "bimi": "BIMI",
}


def auth_header(passes: bool, domain: str = SENDER_DOMAIN) -> bytes:
    """The header line the trial message carries for one hypothesis (CRLF-ended)."""
    if passes:
        value = (
            f"{AUTHSERV_ID}; spf=pass smtp.mailfrom={domain}; dkim=pass header.d={domain}; "
            f"dmarc=pass header.from={domain}"
        )
    else:
        value = f"{AUTHSERV_ID}; spf=fail smtp.mailfrom={domain}; dkim=none; dmarc=fail"
        value += f" header.from={domain}"
    return f"Authentication-Results: {value}\r\n".encode("ascii")


@dataclass(frozen=True, kw_only=True)
class SenderAuth:
    """lentrance.com's sender authentication as published today."""

    audit: SenderAudit | None
    """The sender audit (None when DNS was not asked: ``--offline``)."""
    reason: str = ""
    """Why nothing can be said, when the audit is missing or DNS was not trusted."""

    def for_carrier(self, carrier_id: str | None, lang: Lang) -> tuple[Published, str]:
        """Whether lentrance.com's mail passes ``carrier_id``'s spoofing filter, and why."""
        if self.audit is None or self.audit.untrusted is not None:
            return "unknown", self.reason or (self.audit.untrusted if self.audit else "") or ""
        from maildoctor.sender.domain_audit import requirement_for_carrier

        row = self._row(carrier_id)
        requirement = requirement_for_carrier(self.audit, carrier_id) if carrier_id else None
        if row is not None and row.spoofing_filter is not None:
            # The receivers' table decides (data/receivers.toml): one answer for the
            # `sender` report, this row and the desk.
            names = list(row.checks)
            met = {"pass": True, "fail": False}.get(row.spoofing_filter)
        elif requirement is not None:
            names = list(requirement.checks)
            met = requirement.met
        else:
            names = list(_GENERIC)
            values = [self.audit.checks.get(n) for n in names]
            met = False if False in values else (None if None in values else True)
        said = {True: "OK", False: "NG", None: words("spoofing", lang)["check_unknown"]}
        why = ", ".join(f"{_CHECK_NAMES.get(n, n)} {said[self.audit.checks.get(n)]}" for n in names)
        status: Published = "pass" if met else ("fail" if met is False else "unknown")
        return status, why

    def _row(self, carrier_id: str | None) -> Any:
        if self.audit is None or not carrier_id:
            return None
        return next((r for r in self.audit.receivers if carrier_id in r.carriers), None)

    def receiver(self, carrier_id: str | None) -> dict[str, Any] | None:
        """The carrier's row of the receivers' table (the ``sender`` command's), if any."""
        row = self._row(carrier_id)
        return row.to_dict() if row is not None else None


async def published_sender_auth(
    probe: Any,
    nameservers: Sequence[str],
    *,
    timeout: float,
    lang: Lang = "ja",
    surface: Surface = "cli",
) -> SenderAuth:
    """The sender audit of lentrance.com, believed only when ``probe``'s resolver
    passed the canary check (the same check, and cache, as the address checks).

    ``probe`` is the run's ``DNSProbe``, or None offline (said in ``surface``'s words).
    """
    if probe is None:
        why = for_surface(words("spoofing", lang), "offline", surface)
        return SenderAuth(audit=None, reason=why)
    from maildoctor.sender.auth import make_resolver
    from maildoctor.sender.domain_audit import audit

    failure = await probe.canary_failure()
    resolver = make_resolver(list(nameservers), timeout=timeout)
    from maildoctor.sender.https_fetch import HttpsOptions

    result = await asyncio.to_thread(
        audit,
        SENDER_DOMAIN,
        resolver=resolver,
        lang=lang,
        untrusted=failure,
        https=HttpsOptions(timeout=timeout),  # the MTA-STS/BIMI files within the DNS budget
    )
    if failure is not None:
        why = words("spoofing", lang)["untrusted"].format(failure=failure)
        return SenderAuth(audit=result, reason=why)
    return SenderAuth(audit=result)


@dataclass(frozen=True, kw_only=True)
class SpoofingCheck:
    """The spoofing row's two trials and which one applies to lentrance.com today."""

    if_authenticated: str
    """The outcome when lentrance.com's mail passes SPF/DKIM with DMARC alignment."""
    if_not: str
    """The outcome when it does not."""
    reply_if_authenticated: str
    reply_if_not: str
    published: Published
    """Which applies as lentrance.com is published today (``unknown``: DNS cannot tell)."""
    why: str
    """The sender-audit checks behind ``published``, or why it is unknown."""
    receiver: dict[str, Any] | None = None
    """The carrier's row of the receivers' table: treatment, text, source."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "if_authenticated": self.if_authenticated,
            "if_not_authenticated": self.if_not,
            "sender_domain": SENDER_DOMAIN,
            "published": self.published,
            "why": self.why,
        }
        if self.receiver is not None:
            out["receiver"] = self.receiver
        return out


def trial_row(
    deliver: Callable[..., Any],
    scenario: Any,
    profile: Any,
    carrier_id: str | None,
    sender_auth: SenderAuth | None,
    lang: Lang,
) -> Any:
    """The ``ScenarioResult`` of a scenario whose spoofing filter is on: delivered with
    lentrance.com authenticated and not, reporting the one that applies today.

    ``deliver(scenario, profile, label, auth_header)`` makes one real delivery.
    """
    passed = deliver(scenario, profile, f"{scenario.id}+authenticated", auth_header(passes=True))
    failed = deliver(
        scenario, profile, f"{scenario.id}+not_authenticated", auth_header(passes=False)
    )
    published: Published = "unknown"
    if sender_auth is None:
        why = words("spoofing", lang)["not_audited"]
    else:
        published, why = sender_auth.for_carrier(carrier_id, lang)
    if passed.outcome == failed.outcome:
        # Another setting decides either way (SoftBank's PC-mail block, say): the
        # authentication does not matter for this row, so it is not "unknown".
        return replace(failed if published == "fail" else passed, spoofing=None)
    check = SpoofingCheck(
        if_authenticated=passed.outcome,
        if_not=failed.outcome,
        reply_if_authenticated=passed.smtp_replies[-1],
        reply_if_not=failed.smtp_replies[-1],
        published=published,
        why=why,
        receiver=sender_auth.receiver(carrier_id) if sender_auth is not None else None,
    )
    chosen = passed if published == "pass" else failed
    outcome = chosen.outcome if published != "unknown" else "unknown"
    return replace(chosen, outcome=outcome, spoofing=check)


def outcome_cell(check: SpoofingCheck, outcome: str, labels: dict[str, str], lang: Lang) -> str:
    """The trial table's outcome cell of the spoofing row: what applies, and both cases."""
    return words("spoofing", lang)["cell"].format(
        outcome=labels[outcome], ok=labels[check.if_authenticated], ng=labels[check.if_not]
    )


def reply_cell(check: SpoofingCheck) -> str:
    """The SMTP reply cell: the one that applies, both when that is unknown."""
    ok, ng = (r.split(":")[0] for r in (check.reply_if_authenticated, check.reply_if_not))
    if check.published == "unknown":
        return ok if ok == ng else f"{ok} / {ng}"
    return ok if check.published == "pass" else ng


def note(check: SpoofingCheck, setting: str, labels: dict[str, str], lang: Lang) -> str:
    """One sentence under the trial table: what decides the spoofing row, and which applies."""
    said = words("spoofing", lang)
    text = said["note"].format(
        setting=setting,
        domain=SENDER_DOMAIN,
        ok=labels[check.if_authenticated],
        ng=labels[check.if_not],
        now=said[check.published],
        why=check.why,
    )
    if check.receiver is not None and check.receiver["treatment"] != "unknown":
        text += f" {check.receiver['text']} ({check.receiver['source']})"
    return text
