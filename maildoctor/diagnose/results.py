"""What ``diagnose`` finds, as data: the scenarios tried, the trial, the diagnosis.

Frozen results with their JSON forms (``to_dict``), apart from the trial runner
in :mod:`maildoctor.diagnose.diagnosis` so that the report and the web layer read
them without the SMTP and harness machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from maildoctor.address.check import CheckResult
from maildoctor.advice import DEFAULT_SUBJECT
from maildoctor.diagnose.delivery import Delivery
from maildoctor.diagnose.spoofing import SpoofingCheck
from maildoctor.errors import CouldNotRun
from maildoctor.findings import Lang
from maildoctor.tickets import DEFAULT_TICKET

__all__ = [
    "ADDRESS_ADVICE",
    "DEFAULT_TEMPLATE",
    "DiagnoseResult",
    "Scenario",
    "ScenarioResult",
    "Trial",
    "TrialFailed",
    "web_command",
]

DEFAULT_TEMPLATE = "provisional_registration"

#: Advice that settles the case by itself (the address is wrong or cannot receive):
#: it comes before any mailbox setting, and a finding asking for it puts the address
#: itself in doubt.
ADDRESS_ADVICE = (
    "reregister_halfwidth",
    "confirm_address",
    "reregister",
    "legacy_address",
    "use_other_address",
)


class TrialFailed(CouldNotRun):
    """The trial's own harness failed (its store, its SMTP server): no decision was seen.

    Never reported as a carrier decision: ``maildoctor diagnose`` exits 4 with the cause.
    """


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """One combination of the recipient's filter settings that the trial tries."""

    id: str
    """defaults, refuse_pc, refuse_url, spoofing, receive_list (or ``mailbox`` for non-carrier)."""
    label: str
    """In the report's language, with the carrier's own setting names."""


@dataclass(frozen=True, kw_only=True)
class ScenarioResult:
    """What the harness did with the trial message under one scenario."""

    scenario: Scenario
    outcome: str
    """delivered, junk, filtered or rejected."""
    rule: str
    """The rule that decided (a filter kind, ``receive_list``, ``default``...)."""
    rule_name: str
    """The carrier's own name for that rule, when there is one."""
    smtp_replies: tuple[str, ...]
    """The server's replies to RCPT TO and to the end of DATA."""
    stored_id: int | None
    """The harness's id for the message (None when it was refused at RCPT)."""
    receive_list_retry: str | None = None
    """For a scenario not delivered: the outcome of the same settings plus lentrance.com
    on the receive list (tried, not assumed: carriers differ in which filters the list
    overrides). ``unknown`` when the spoofing filter decides the retry too; None when
    not retried (delivered, or the carrier has no receive list)."""
    spoofing: SpoofingCheck | None = None
    """For a scenario whose spoofing filter is on and decides it: the outcome with and
    without lentrance.com's mail authenticated, and which applies today (``outcome``
    is that one, or ``unknown``). See ``maildoctor.diagnose.spoofing``."""

    @property
    def arrives(self) -> bool:
        """Whether the customer sees it in the inbox."""
        return self.outcome == "delivered"

    @property
    def rescued_by_receive_list(self) -> bool | None:
        """Whether the receive list was seen to let it through: None when not retried
        or when the retry's own outcome is unknown (unknown is not "not fixed")."""
        if self.receive_list_retry in (None, "unknown"):
            return None
        return self.receive_list_retry == "delivered"

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.id,
            "label": self.scenario.label,
            "outcome": self.outcome,
            "rule": self.rule,
            "rule_name": self.rule_name,
            "smtp_replies": list(self.smtp_replies),
            "stored_id": self.stored_id,
            "rescued_by_receive_list": self.rescued_by_receive_list,
            "receive_list_retry": self.receive_list_retry,
            "authentication": self.spoofing.to_dict() if self.spoofing else None,
        }


@dataclass(frozen=True, kw_only=True)
class Trial:
    """The delivery trial: the rendered notification sent to the harness per scenario."""

    ran: bool
    skipped_reason: str = ""
    """Why the trial did not run (unusable address, template error), in the report's language."""
    recipient: str = ""
    template: str = DEFAULT_TEMPLATE
    subject: str = DEFAULT_SUBJECT
    """The subject of the mail the ticket is about (the rendered ``template``)."""
    message_id: str = ""
    """The Message-ID of the trial message (the same in every scenario)."""
    db: str = ""
    """The harness's SQLite file that holds the trial messages."""
    results: tuple[ScenarioResult, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "skipped_reason": self.skipped_reason or None,
            "recipient": self.recipient or None,
            "template": self.template,
            "subject": self.subject,
            "message_id": self.message_id or None,
            "db": self.db or None,
            "scenarios": [r.to_dict() for r in self.results],
        }


@dataclass(frozen=True, kw_only=True)
class DiagnoseResult:
    """One diagnosis: the check, the trial, and the advice in order of likelihood."""

    check: CheckResult
    trial: Trial
    advice: tuple[str, ...]
    """Advice ids, most likely to help first."""
    reply_draft: str
    lang: Lang = "ja"
    extra: dict[str, str] = field(default_factory=dict)
    """Other columns of the input row (``--file tickets.csv``)."""
    ticket: str = DEFAULT_TICKET
    """The ticket type (data/tickets.toml) the advice and the draft answer."""
    delivery: Delivery | None = None
    """Our own delivery records for the address (diagnose/delivery.py); None: not looked up."""
    intake: dict[str, Any] | None = None
    """What the paste reader read when the input was pasted text
    (:meth:`maildoctor.diagnose.paste.Paste.to_dict`)."""

    @property
    def address_in_doubt(self) -> bool:
        """Whether a finding doubts the address itself (a likely typo, a legacy or
        unusable address): then the trial says only what a mailbox that exists would do."""
        return any(a in ADDRESS_ADVICE for f in self.check.findings for a in f.advice)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "ticket": self.ticket,
            "check": self.check.to_dict(),
            "trial": self.trial.to_dict(),
            "advice": list(self.advice),
            "reply_draft": self.reply_draft,
            "web": web_command(self.trial),
        }
        if self.extra:
            out["row"] = dict(self.extra)
        if self.delivery is not None:
            out["delivery"] = self.delivery.to_dict(self.lang)
        if self.intake is not None:
            out["intake"] = self.intake
        return out


def web_command(trial: Trial) -> str | None:
    """The command that opens the trial messages in the harness's web UI."""
    if not trial.ran:
        return None
    from maildoctor.harness.defaults import DEFAULT_HTTP

    return f"maildoctor serve --db {trial.db}  # then open http://{DEFAULT_HTTP}/"
