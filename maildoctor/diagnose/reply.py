"""The reply draft for any ticket type (``--ticket``): the FAQ's answer, then mail help.

One path for every ticket and language: the ticket's template (``Ticket.reply``, in
the language's folder) rendered with the check's reply context plus the ticket's own
advice and the subject of the mail the ticket is about, so that each sentence names
the right mail. "The mail did not arrive" is one such ticket (``replies/check.txt.j2``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from maildoctor.address.check import CheckResult
from maildoctor.address.report import reply_context
from maildoctor.advice import DEFAULT_SUBJECT, advice_for, advice_text, uncovered
from maildoctor.findings import Lang, Verdict
from maildoctor.tickets import DEFAULT_TICKET, Ticket
from maildoctor.words import words

__all__ = [
    "AGENT_ONLY_ADVICE",
    "advice_items",
    "format_ticket_reply",
    "ticket_advice",
    "ticket_subject",
]

#: Advice for the support agent, never put in a reply to the customer.
AGENT_ONLY_ADVICE = frozenset({"dns_unknown", "sender_side_fix", "escalate_not_sent"})


def ticket_advice(ticket: Ticket, mail_advice: Sequence[str], *, mail_in_doubt: bool) -> list[str]:
    """The advice for a ticket: its FAQ answer first, then the mailbox advice.

    ``mail_advice`` is what the address (and trial) call for, most likely first. It
    follows the ticket's answer when the ticket is about mail not arriving, or when
    ``mail_in_doubt`` (the check found a problem, or the trial saw the mail stopped).
    """
    ordered = list(ticket.advice)
    if ticket.mailbox_advice or mail_in_doubt:
        ordered += mail_advice
    return uncovered(ordered)


def check_advice(result: CheckResult, ticket: Ticket) -> list[str]:
    """:func:`ticket_advice` for a check without a delivery trial (``check --reply``)."""
    wanted = advice_for([f.advice for f in result.findings])
    doubt = result.verdict in (Verdict.RISKY, Verdict.UNDELIVERABLE)
    return ticket_advice(ticket, wanted, mail_in_doubt=doubt)


def format_ticket_reply(
    result: CheckResult,
    ticket: Ticket,
    templates_dir: Path | None = None,
    *,
    advice_order: Sequence[str] | None = None,
    lang: Lang = "ja",
    subject: str | None = None,
) -> str:
    """The reply draft for ``ticket`` about the address in ``result`` (Japanese; ``lang="en"``
    for an English one from ``replies/en/``, for a customer who wrote in English).

    ``advice_order``: the advice ids in order (``diagnose`` knows it from the trial);
    without it, :func:`check_advice`. ``subject``: the mail every sentence names
    (default: the subject of the ticket's template).
    """
    order = list(advice_order) if advice_order is not None else check_advice(result, ticket)
    subject = subject or ticket_subject(ticket, templates_dir)
    context = reply_context(result, subject=subject)
    extra = ticket_context(result, ticket, order, lang, subject)
    if ticket.id == DEFAULT_TICKET:
        # The check's own choice of advice (reply_context), in the diagnosis' order.
        rank = {advice_id: i for i, advice_id in enumerate(order)}
        ids = sorted((a["id"] for a in context["advice"]), key=lambda a: rank.get(a, len(rank)))
        extra["advice"] = advice_items(result, ids, lang, subject)
    context.update(extra)
    return _render(reply_template(ticket, lang), context, templates_dir)


def reply_template(ticket: Ticket, lang: Lang) -> str:
    """The ticket's reply template in ``lang`` (``replies/<x>`` is Japanese, the other
    languages sit in their folder: ``words.toml`` [reply_templates])."""
    folder = words("reply_templates", lang)["folder"]
    return ticket.reply.replace("replies/", folder, 1)


def advice_items(
    result: CheckResult, ids: Sequence[str], lang: Lang, subject: str = DEFAULT_SUBJECT
) -> list[dict[str, str]]:
    """Advice as the templates and the desk get it, naming ``subject``'s mail."""
    out = []
    for advice_id in ids:
        title, body = advice_text(advice_id, lang, result.carrier, subject=subject)
        out.append({"id": advice_id, "title": title, "body": body})
    return out


def ticket_context(
    result: CheckResult, ticket: Ticket, order: Sequence[str], lang: Lang, subject: str
) -> dict[str, Any]:
    """What a ticket's reply template gets beyond :func:`reply_context`."""
    own = [a for a in order if a in ticket.advice]
    mail = [a for a in order if a not in ticket.advice and a not in AGENT_ONLY_ADVICE]
    return {
        "ticket": {"id": ticket.id, "label": ticket.label[lang], "says": ticket.says[lang]},
        "ticket_advice": advice_items(result, own, lang, subject),
        "advice": advice_items(result, mail, lang, subject),
        "mail_subject": subject,
    }


def ticket_subject(ticket: Ticket, templates_dir: Path | None = None) -> str:
    """The subject of the mail the ticket is about (its notification template's; the
    contract's subject when the templates folder holds only reply drafts)."""
    from maildoctor.diagnose.applies import template_subject

    return template_subject(ticket.template, templates_dir)


def _render(name: str, context: dict[str, Any], templates_dir: Path | None) -> str:
    from maildoctor.mail.templating import environment
    from maildoctor.mail.templating import templates_dir as resolve_dir

    return environment(resolve_dir(templates_dir)).get_template(name).render(**context)
