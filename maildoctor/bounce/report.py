"""Formatting bounce explanations (pure: explanations in, strings and dicts out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maildoctor.advice import CATALOG, advice_text
from maildoctor.bounce.classify import Explanation
from maildoctor.bounce.patterns import tables
from maildoctor.carriers import CARRIERS
from maildoctor.findings import Lang
from maildoctor.words import reason_label, words

__all__ = [
    "REPLY_TEMPLATE",
    "explanation_dict",
    "format_reply",
    "format_text",
    "reply_context",
    "reply_template",
    "summary",
]


def _label(key: str, lang: Lang) -> str:
    return words("bounce_report", lang)[key]


def summary(reason: str, lang: Lang, carrier: str = "") -> str:
    """The one-line meaning of a reason in ``lang`` (a carrier's own reading when it has one)."""
    t = tables()
    note = t.carrier_advice.get((carrier, reason), ((), {}))[1].get(lang)
    if note:
        return note
    rule = t.reasons.get(reason) or t.reasons["undefined"]
    return rule.summary.get(lang, reason)


def explanation_dict(e: Explanation, lang: Lang, *, file: str | None = None) -> dict[str, Any]:
    """One recipient as a JSON-ready object (the ``--format json`` shape)."""
    out: dict[str, Any] = {}
    if file is not None:
        out["file"] = file
    out.update(
        {
            "recipient": e.recipient or None,
            "reason": e.reason,
            "reason_label": reason_label(e.reason, lang),
            "summary": summary(e.reason, lang, e.carrier),
            "hard_bounce": e.hard_bounce,
            "status": e.status or None,
            "reply_code": e.reply_code or None,
            "diagnostic": e.diagnostic or None,
            "remote_mta": e.remote_mta or None,
            "reporting_mta": e.reporting_mta or None,
            "mta": e.mta or None,
            "carrier": _carrier_obj(e.carrier, lang),
            "advice": [a for a in e.advice if a in CATALOG],
            "decided_by": e.decided_by,
            "kind": e.kind,
            "date": e.date.isoformat() if e.date else None,
        }
    )
    return out


def _carrier_obj(carrier_id: str, lang: Lang) -> dict[str, str] | None:
    carrier = CARRIERS.get(carrier_id) if carrier_id else None
    if carrier is None:
        return None
    return {"id": carrier.id, "name": carrier.name(lang)}


def format_text(file: str, explanations: tuple[Explanation, ...], lang: Lang) -> str:
    """The human report for one bounce file."""
    lines = [f"== {file}"]
    for e in explanations:
        carrier = CARRIERS.get(e.carrier) if e.carrier else None
        kind = _label("hard" if e.hard_bounce else "soft", lang)
        lines.append(f"{_label('recipient', lang)}: {e.recipient or _label('unknown', lang)}")
        name = reason_label(e.reason, lang)
        lines.append(f"  {_label('reason', lang)}: {name} [{e.reason}] ({kind})")
        lines.append(f"    {summary(e.reason, lang, e.carrier)}")
        codes = []
        if e.status:
            codes.append(f"{_label('status', lang)} {e.status}")
        if e.reply_code:
            codes.append(f"{_label('reply', lang)} {e.reply_code}")
        if codes:
            lines.append("  " + ", ".join(codes))
        if e.remote_mta:
            lines.append(f"  {_label('remote', lang)}: {e.remote_mta}")
        if e.diagnostic:
            words = e.diagnostic if len(e.diagnostic) <= 300 else e.diagnostic[:297] + "..."
            lines.append(f"  {_label('words', lang)}: {words}")
        who = e.mta or _label("unknown", lang)
        if e.reporting_mta:
            who += f" ({e.reporting_mta})"
        lines.append(f"  {_label('mta', lang)}: {who}")
        if carrier is not None:
            lines.append(f"  {_label('carrier', lang)}: {carrier.name(lang)}")
        advice = [a for a in e.advice if a in CATALOG]
        lines.append(
            f"  {_label('advice', lang)}:" + ("" if advice else " " + _label("none", lang))
        )
        for advice_id in advice:
            title, body = advice_text(advice_id, lang, carrier)
            lines.append(f"    - {title}")
            for body_line in body.splitlines():
                lines.append(f"      {body_line}")
    return "\n".join(lines)


REPLY_TEMPLATE = "replies/bounce.txt.j2"

#: what the customer can do, per group of reasons (the rest is ours to fix)
_CUSTOMER_CASE = {
    "filtered": "filtered",
    "rejected": "filtered",
    "blocked": "filtered",
    "spamdetected": "filtered",
    "mailboxfull": "mailboxfull",
    "userunknown": "gone",
    "hostunknown": "gone",
    "hasmoved": "gone",
    "notaccept": "gone",
    "suspend": "suspended",
}
#: advice that is for the support agent or the sender, never for the customer
_AGENT_ONLY = ("sender_side_fix", "retry_later", "ask_mail_admin", "dns_unknown")


#: Advice the reply template's opening paragraph for a case already gives ("gone":
#: check the address and register again), so that no draft says it twice.
_OPENING_SAYS: dict[str, frozenset[str]] = {"gone": frozenset({"reregister"})}


def reply_context(e: Explanation, lang: Lang = "ja") -> dict[str, Any]:
    """What the bounce reply template gets: the address, which case it is, the advice."""
    carrier = CARRIERS.get(e.carrier) if e.carrier else None
    case = _CUSTOMER_CASE.get(e.reason, "ours")
    if case == "filtered" and carrier is None and e.reason != "filtered":
        case = "ours"  # a block list or the sender's domain: ours to fix, not the customer's
    advice = []
    for advice_id in e.advice:
        if advice_id in _OPENING_SAYS.get(case, ()):
            continue  # the draft's opening paragraph for this case already says it
        if advice_id in CATALOG and advice_id not in _AGENT_ONLY:
            title, body = advice_text(advice_id, lang, carrier)
            advice.append({"id": advice_id, "title": title, "body": body})
    return {
        "address": e.recipient,
        "reason": e.reason,
        "case": case,
        "carrier": {"id": carrier.id, "name": carrier.name(lang)} if carrier else None,
        "advice": advice if case != "ours" else [],
    }


def reply_template(lang: Lang) -> str:
    """The bounce reply template in ``lang`` (``words.toml`` [reply_templates] folders)."""
    return REPLY_TEMPLATE.replace("replies/", words("reply_templates", lang)["folder"], 1)


def format_reply(e: Explanation, templates_dir: Path | None = None, lang: Lang = "ja") -> str:
    """The reply draft, in ``lang``, to the customer whose address bounced."""
    from maildoctor.mail.templating import environment
    from maildoctor.mail.templating import templates_dir as resolve_dir

    env = environment(resolve_dir(templates_dir))
    return env.get_template(reply_template(lang)).render(**reply_context(e, lang))
