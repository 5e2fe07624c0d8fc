"""A timeline and a suppression as text, JSON rows and CSV rows (pure formatting)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from maildoctor.events.model import Event
from maildoctor.events.timeline import Suppression
from maildoctor.findings import Lang
from maildoctor.words import reason_label, words

__all__ = [
    "CSV_COLUMNS",
    "SUPPRESSED_COLUMNS",
    "csv_row",
    "format_text",
    "status_label",
    "suppressed_row",
    "suppression_dict",
    "suppression_text",
]

CSV_COLUMNS = (
    "time",
    "address",
    "status",
    "reply",
    "reason",
    "hard",
    "source",
    "message_id",
    "queue_id",
    "relay",
    "dsn",
    "subject",
)
SUPPRESSED_COLUMNS = ("address", "why", "reason", "since", "count", "decided_by", "source")


def _when(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def status_label(status: str, lang: Lang) -> str:
    return words("events", lang).get(f"status_{status}", status)


def suppression_dict(s: Suppression) -> dict[str, Any]:
    return {
        "address": s.address,
        "why": s.why,
        "reason": s.reason,
        "since": s.since.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "count": s.count,
        "decided_by": s.decided_by,
        "source": s.source,
    }


def suppression_text(s: Suppression | None, lang: Lang) -> str:
    w = words("events", lang)
    if s is None:
        return w["not_suppressed"]
    return w["suppressed"].format(
        since=_when(s.since),
        why=w[f"why_{s.why}"],
        reason=reason_label(s.reason, lang),
        count=s.count,
    )


def format_text(
    address: str, events: list[Event], suppressed: Suppression | None, lang: Lang
) -> str:
    """The timeline as an agent reads it: newest first, one record a paragraph."""
    w = words("events", lang)
    out = [w["title"].format(address=address), suppression_text(suppressed, lang)]
    if not events:
        out.append(w["none"])
        return "\n".join(out) + "\n"
    out.append(w["count"].format(count=len(events)))
    for e in events:
        hard = w["hard"] if e.hard else w["soft"]
        kind = f" [{reason_label(e.reason, lang)}, {hard}]" if e.reason else ""
        out.append("")
        out.append(f"{_when(e.time)}  {status_label(e.status, lang)}{kind}  ({e.source})")
        facts = [
            ("Message-ID", e.message_id),
            ("subject", e.subject),
            ("relay", e.relay),
            ("reply", e.reply),
        ]
        out.extend(f"    {name}: {value}" for name, value in facts if value)
    return "\n".join(out) + "\n"


def csv_row(e: Event) -> list[str]:
    d = e.to_dict()
    d["hard"] = "true" if e.hard else "false"
    return [str(d[c]) for c in CSV_COLUMNS]


def suppressed_row(s: Suppression) -> list[str]:
    d = suppression_dict(s)
    return [str(d[c]) for c in SUPPRESSED_COLUMNS]
