"""Formatting bounce explanations (pure: explanations in, strings and dicts out)."""

from __future__ import annotations

from typing import Any

from maildoctor.advice import CATALOG, advice_text
from maildoctor.bounce.classify import Explanation
from maildoctor.bounce.patterns import tables
from maildoctor.carriers import CARRIERS
from maildoctor.findings import Lang

__all__ = ["explanation_dict", "format_text", "summary"]

_LABELS: dict[str, dict[str, str]] = {
    "recipient": {"ja": "宛先", "en": "Recipient"},
    "reason": {"ja": "理由", "en": "Reason"},
    "status": {"ja": "ステータス", "en": "Status"},
    "reply": {"ja": "応答コード", "en": "Reply code"},
    "hard": {"ja": "恒久的(再送しても届きません)", "en": "hard bounce (resending will not help)"},
    "soft": {"ja": "一時的または設定次第", "en": "soft bounce (temporary or settings-dependent)"},
    "remote": {"ja": "拒否したサーバー", "en": "Refused by"},
    "words": {"ja": "サーバーの応答", "en": "Server said"},
    "mta": {"ja": "バウンスの送信元", "en": "Bounce written by"},
    "carrier": {"ja": "キャリア", "en": "Carrier"},
    "advice": {"ja": "お客様へのアドバイス", "en": "Advice for the customer"},
    "none": {"ja": "(なし)", "en": "(none)"},
    "unknown": {"ja": "(不明)", "en": "(unknown)"},
}


def _label(key: str, lang: Lang) -> str:
    return _LABELS[key][lang]


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
        lines.append(f"  {_label('reason', lang)}: {e.reason} ({kind})")
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
