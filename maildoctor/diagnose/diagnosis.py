"""``diagnose``: the support agent's one command, where check, render and the harness meet.

The flow: check the address (pure checks plus DNS at the edge), render the
notification for it, deliver that message over real SMTP to an in-process
harness once per filter scenario of the address's carrier, and order the FAQ
advice by what the trial showed. The result dataclasses live in
``maildoctor.diagnose.results`` (re-exported here); formatting in ``report``.
"""

from __future__ import annotations

import asyncio
import smtplib
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maildoctor.address.check import CheckResult
from maildoctor.advice import DEFAULT_SUBJECT, advice_for
from maildoctor.carriers import SENDER_DOMAIN, Carrier
from maildoctor.diagnose.applies import cannot_receive, template_subject
from maildoctor.diagnose.delivery import Delivery, delivery_draft, rank_advice
from maildoctor.diagnose.results import (
    ADDRESS_ADVICE,
    DEFAULT_TEMPLATE,
    DiagnoseResult,
    Scenario,
    ScenarioResult,
    Trial,
    TrialFailed,
    web_command,
)
from maildoctor.diagnose.spoofing import (
    AUTHSERV_ID,
    SenderAuth,
    SpoofingCheck,
    trial_row,
)
from maildoctor.findings import Lang, Verdict
from maildoctor.harness.store import TRIAL_HELO
from maildoctor.tickets import DEFAULT_TICKET, Ticket
from maildoctor.words import words

if TYPE_CHECKING:
    from maildoctor.diagnose.paste import Paste

__all__ = [
    "DEFAULT_SUBJECT",
    "DEFAULT_TEMPLATE",
    "SCENARIO_HEADER",
    "DiagnoseResult",
    "Scenario",
    "ScenarioResult",
    "SpoofingCheck",
    "Trial",
    "TrialFailed",
    "conclude",
    "default_db",
    "diagnose",
    "likely_advice",
    "run_trial",
    "scenarios_for",
    "start_harness",
    "web_command",
]

SCENARIO_HEADER = "X-Maildoctor-Scenario"
"""Added to each trial message so that the web UI shows which scenario it was."""

#: Advice for a mailbox that exists and whose filters may be in the way, by what a
#: carrier does with filtered mail: docomo files it in the spam folder since 2025,
#: so that folder is the first place to look; elsewhere the sender must be allowed.
_LIKELY_ORDER: dict[str, tuple[str, ...]] = {
    "junk": ("check_spam_folder", "allow_sender_domain", "carrier_settings"),
    "rejected": ("allow_sender_domain", "carrier_settings", "check_spam_folder"),
    "filtered": ("allow_sender_domain", "carrier_settings", "check_spam_folder"),
    "none": ("check_spam_folder", "allow_sender_domain"),
}

#: Advice that settles the case by itself comes before any mailbox setting.
_ADDRESS_ADVICE = ADDRESS_ADVICE


# -- scenarios ---------------------------------------------------------------


def scenarios_for(carrier: Carrier | None, lang: Lang) -> list[tuple[Scenario, Any]]:
    """The (scenario, harness profile) pairs to try for a recipient of ``carrier``."""
    from maildoctor.carriers import SENDER_DOMAIN
    from maildoctor.harness.policy import Profile, scenario_profiles

    if carrier is None:
        label = words("diagnose_trial", lang)["mailbox"]
        return [(Scenario(id="mailbox", label=label), Profile.open())]
    pairs = []
    for key, profile in scenario_profiles(carrier).items():
        pairs.append((Scenario(id=key, label=_label(carrier, key, lang, SENDER_DOMAIN)), profile))
    return pairs


def _label(carrier: Carrier, key: str, lang: Lang, sender: str) -> str:
    if key == "defaults":
        return words("diagnose_trial", lang)["defaults"]
    if key == "receive_list":
        allow = carrier.setting("receive_list")
        refuse = carrier.setting("refuse_pc")
        assert allow is not None
        listed = f"{allow.name(lang)} ({sender})"
        return f"{_short(refuse.name(lang))} + {listed}" if refuse else listed
    setting = carrier.setting(key)
    assert setting is not None
    return setting.name(lang)


def _short(name: str) -> str:
    """The first of a setting's alternative names (``受信拒否 強 / ...`` → ``受信拒否 強``)."""
    return name.split(" / ")[0]


# -- the trial ---------------------------------------------------------------


def default_db() -> Path:
    from maildoctor.harness.store import default_db_path

    return default_db_path()


def start_harness(db: Path) -> Any:
    """A started in-process harness (SMTP only, no web server) on a free loopback port;
    use it as a context manager so that it stops. Raises StoreError when ``db`` cannot
    be opened or written."""
    from maildoctor.harness.server import run_in_thread

    # A failed write is reported by the trial itself (TrialFailed), not by the store's log.
    return run_in_thread(db, http_port=None, store_failures=lambda line: None)


def run_trial(
    result: CheckResult,
    running: Any,
    *,
    template: str = DEFAULT_TEMPLATE,
    templates_dir: Path | None = None,
    lang: Lang = "ja",
    sender_auth: SenderAuth | None = None,
    variant: str | None = None,
) -> Trial:
    """Render ``template`` for the address and deliver it once per scenario.

    ``sender_auth`` (lentrance.com's published authentication) says which of the
    spoofing scenario's two trials applies; without it that row is ``unknown``.
    """
    from maildoctor.mail.templating import TemplatingError

    recipient = result.normalized
    subject = template_subject(template, templates_dir)
    if why := cannot_receive(result, lang):
        return Trial(
            ran=False,
            skipped_reason=why,
            recipient=recipient or "",
            template=template,
            subject=subject,
        )
    if recipient is None:
        why = words("diagnose_trial", lang)["unparsable"]
        return Trial(ran=False, skipped_reason=why, template=template, subject=subject)
    from maildoctor.mail.render import render_message

    try:
        message = render_message(
            template, to=recipient, variant=variant, templates_dir=templates_dir
        )
    except TemplatingError as e:
        return Trial(
            ran=False,
            skipped_reason=str(e),
            recipient=recipient,
            template=template,
            subject=subject,
        )
    subject = str(message["Subject"])
    sender = message["From"].addresses[0].addr_spec

    def deliver(scenario: Scenario, profile: Any, label: str, auth: bytes = b"") -> ScenarioResult:
        if auth:  # a verifying harness trusts the simulated header for this mailbox only
            profile = profile.with_settings(trusted_authserv_ids=(AUTHSERV_ID,))
        running.set_profile(recipient, profile)
        del message[SCENARIO_HEADER]
        message[SCENARIO_HEADER] = label
        raw = auth + message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
        return _deliver(running, scenario, profile, sender, recipient, raw)

    results = []
    has_list = result.carrier is not None and result.carrier.setting("receive_list") is not None
    carrier = result.carrier.id if result.carrier is not None else None

    def attempt(scenario: Scenario, profile: Any) -> ScenarioResult:
        if profile.spoofing:  # on by default at au and SoftBank, not only in its own row
            return trial_row(deliver, scenario, profile, carrier, sender_auth, lang)
        return deliver(scenario, profile, scenario.id)

    try:
        for scenario, profile in scenarios_for(result.carrier, lang):
            outcome = attempt(scenario, profile)
            if outcome.outcome != "delivered" and has_list and scenario.id != "receive_list":
                # Tried the same way as the row (both authentications when the spoofing
                # filter is on), so that an unknown stays unknown rather than "not fixed".
                listed = profile.with_settings(receive_list=(SENDER_DOMAIN,))
                retry = attempt(replace(scenario, id=f"{scenario.id}+receive_list"), listed)
                outcome = replace(outcome, receive_list_retry=retry.outcome)
            results.append(outcome)
    finally:  # the recipient's own profile back, also when the harness failed
        running.clear_profiles()
    return Trial(
        ran=True,
        recipient=recipient,
        template=template,
        subject=subject,
        message_id=str(message["Message-ID"]),
        db=str(running.store.path),
        results=tuple(results),
    )


def _deliver(
    running: Any, scenario: Scenario, profile: Any, sender: str, recipient: str, raw: bytes
) -> ScenarioResult:
    """One real SMTP transaction through the one client (:mod:`maildoctor.harness.client`),
    which reads the recipient's outcome and rule from the harness on the same connection.

    Raises TrialFailed when the harness itself failed (it could not store the
    message, did not answer, or answered with a temporary error: a carrier's filter
    refuses with 5xx, so a 4xx is a fault set on the harness or its own failure; or
    it accepted the message and could not say what the mailbox did):
    that is no carrier's decision.
    """
    from maildoctor.harness.client import deliver
    from maildoctor.harness.policy import rule_name

    host, port = running.smtp_address
    failures = running.store.failures
    before = failures.failures
    try:
        sent = deliver(
            raw,
            host=host,
            port=port,
            mail_from=sender,
            recipients=[recipient],
            timeout=10,
            helo=TRIAL_HELO,  # what the harness list hides by default
        )
    except (OSError, smtplib.SMTPException) as e:
        raise TrialFailed(f"the trial harness at {host}:{port} did not answer: {e}") from e
    if failures.failures > before:
        raise TrialFailed(failures.last_error)
    [reply] = sent.replies
    last = reply.replies[-1] if reply.replies else f"{reply.code} {reply.text}"
    if reply.outcome is None:
        if reply.code >= 500:  # refused outright: the SMTP replies are the evidence
            return ScenarioResult(
                scenario=scenario,
                outcome="rejected",
                rule="smtp",
                rule_name="",
                smtp_replies=reply.replies,
                stored_id=None,
            )
        if 200 <= reply.code < 300:
            raise TrialFailed(
                f"the trial harness at {host}:{port} accepted the message ({last}) "
                "but did not say what the mailbox did with it"
            )
        raise TrialFailed(
            f"the trial harness at {host}:{port} answered with a temporary error "
            f"({last}); a fault set on it, or its store cannot be written"
        )
    rule = reply.rule or ""
    return ScenarioResult(
        scenario=scenario,
        outcome=reply.outcome,
        rule=rule,
        rule_name=rule_name(profile, rule),
        smtp_replies=reply.replies,
        stored_id=reply.stored_id,
    )


# -- advice ------------------------------------------------------------------


def likely_advice(result: CheckResult, trial: Trial, ticket: Ticket | None = None) -> list[str]:
    """The FAQ advice that applies, most likely first.

    A wrong address settles the case by itself, so its advice leads; then the
    mailbox advice in the order the carrier's behaviour makes likely; then
    anything else the findings asked for. A ticket other than "did not arrive"
    puts its own FAQ answer first (:func:`maildoctor.diagnose.reply.ticket_advice`).
    """
    mail = _mail_advice(result, trial)
    if ticket is None:
        return mail
    from maildoctor.diagnose.reply import ticket_advice

    blocked = trial.ran and any(not r.arrives for r in trial.results)
    doubt = blocked or result.verdict in (Verdict.RISKY, Verdict.UNDELIVERABLE)
    return ticket_advice(ticket, mail, mail_in_doubt=doubt)


def _mail_advice(result: CheckResult, trial: Trial) -> list[str]:
    wanted = advice_for([f.advice for f in result.findings])
    blocked = any(not r.arrives for r in trial.results)
    carrier = result.carrier
    key = carrier.filtered_outcome if carrier is not None else "none"
    mailbox = list(_LIKELY_ORDER[key])
    if carrier is not None and not blocked and trial.ran:
        mailbox = [a for a in mailbox if a != "carrier_settings"]
    address_first = [a for a in _ADDRESS_ADVICE if a in wanted]
    if address_first and result.verdict == "undeliverable":
        mailbox = []
    ordered = address_first + mailbox + [a for a in wanted if a not in _ADDRESS_ADVICE]
    return list(dict.fromkeys(ordered))


# -- putting it together -----------------------------------------------------


async def diagnose(
    address: str,
    running: Any,
    *,
    probe: Any = None,
    sender_auth: SenderAuth | None = None,
    ticket: Ticket | None = None,
    template: str | None = None,
    templates_dir: Path | None = None,
    lang: Lang = "ja",
    reply_lang: Lang = "ja",
    events_db: Path | None = None,
    events_days: int | None = None,
    paste: Paste | None = None,
    extra: dict[str, str] | None = None,
    trial_guard: AbstractAsyncContextManager[Any] | None = None,
) -> DiagnoseResult:
    """The one diagnosis of an address: check, delivery trial in ``running``, our own
    delivery records, advice and reply draft. The CLI (one address or a batch), the
    desk and ``POST /api/diagnose`` call this and only format its result.

    ``probe``: the DNS probe (None: offline). ``sender_auth``: lentrance.com's published
    authentication, which decides the spoofing rows. ``template``: the notification
    to try (default: the ticket's). ``trial_guard``: held around the trial (the desk
    runs one trial at a time in its shared harness). ``paste``: what the agent pasted,
    so the draft greets the customer by name. Raises :class:`TrialFailed` when the
    trial's harness failed: that is no carrier's decision.
    """
    from maildoctor.address.check import check_address
    from maildoctor.diagnose.delivery import delivery_for, with_address
    from maildoctor.events.store import DEFAULT_DAYS
    from maildoctor.tickets import ticket as ticket_of

    kind = ticket or ticket_of(DEFAULT_TICKET)
    result = await check_address(address, probe=probe, lang=lang)
    async with trial_guard or nullcontext():
        try:
            trial = await asyncio.to_thread(
                run_trial,
                result,
                running,
                template=template or kind.template,
                variant=kind.variant if template is None else None,
                templates_dir=templates_dir,
                lang=lang,
                sender_auth=sender_auth,
            )
        except TrialFailed:
            raise
        except Exception as e:  # the store or the SMTP side failed: no verdict
            raise TrialFailed(f"The delivery trial could not run in the harness: {e}") from e
    # Our own delivery records first (diagnose/delivery.py), read off the event loop.
    delivery = await asyncio.to_thread(
        delivery_for,
        result.address,
        events_db,
        days=DEFAULT_DAYS if events_days is None else events_days,  # 0: everything kept
    )
    delivery = with_address(delivery, result.verdict is Verdict.UNDELIVERABLE)

    def concluded() -> DiagnoseResult:  # template rendering: CPU work, in a thread
        diagnosis = conclude(
            result,
            trial,
            lang=lang,
            templates_dir=templates_dir,
            extra=extra,
            ticket=kind,
            reply_lang=reply_lang,
            delivery=delivery,
        )
        if paste is None:
            return diagnosis
        from maildoctor.diagnose.paste import answer

        return answer(paste, diagnosis, lang, templates_dir)

    return await asyncio.to_thread(concluded)


def conclude(
    result: CheckResult,
    trial: Trial,
    *,
    lang: Lang = "ja",
    templates_dir: Path | None = None,
    extra: dict[str, str] | None = None,
    ticket: Ticket | None = None,
    reply_lang: Lang = "ja",
    delivery: Delivery | None = None,
) -> DiagnoseResult:
    """The diagnosis of a checked address whose trial has run (or was skipped).

    The reply draft is Japanese (the customers are); ``reply_lang="en"`` for the desk
    switched to English. Every sentence names the trial's mail (``trial.subject``).
    """
    from maildoctor.diagnose.reply import format_ticket_reply
    from maildoctor.tickets import ticket as ticket_of

    kind = ticket or ticket_of(DEFAULT_TICKET)
    # Our own delivery records first (diagnose/delivery.py): evidence before inference.
    advice = rank_advice(delivery, likely_advice(result, trial, kind))
    own = kind.id == DEFAULT_TICKET and delivery_draft(
        delivery, result.address, templates_dir, reply_lang
    )
    draft = own or format_ticket_reply(
        result,
        kind,
        templates_dir,
        advice_order=advice,
        lang=reply_lang,
        subject=trial.subject,
    )
    return DiagnoseResult(
        ticket=kind.id,
        check=result,
        trial=trial,
        advice=tuple(advice),
        reply_draft=draft,
        lang=lang,
        extra=dict(extra or {}),
        delivery=delivery,
    )
