"""Many bounces at once: summary counts and the suppression list (pure: results in, rows out).

A suppression list tells the sending system which addresses to stop mailing. Hard
bounces (the address or domain is gone) go on it at once; soft ones (a full
mailbox, a filter, a rate limit) only when they repeat, ``soft_limit`` times
within ``soft_days`` days, since one soft bounce says little about the next mail.
Delivery reports, auto-replies and complaints are never bounces and never listed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from maildoctor.bounce.classify import Explanation

__all__ = ["SuppressionRow", "summarize", "suppression_list"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class SuppressionRow:
    """One address to stop sending to, and why."""

    address: str
    reason: str
    """The reason of the latest bounce."""
    hard: bool
    first_seen: datetime | None
    last_seen: datetime | None
    count: int
    """Bounces counted for the address."""
    decided_by: str
    """``hard`` (one hard bounce is enough) or ``soft:N/Dd`` (N soft bounces within D days)."""
    rule: str = ""
    """Which rule read that bounce's reason (``rhost:KDDI (au)``, ``lhost:Exim``,
    ``sisimai-rules``...): the evidence an operator checks before un-suppressing."""
    status: str = ""
    """That bounce's status code (``5.1.1``), ``""`` when it gave none."""
    words: str = ""
    """That bounce's remote-server words, cut at 300 characters."""


def summarize(explanations: list[Explanation], errors: int = 0) -> dict[str, object]:
    """Counts by kind, reason, carrier, hard/soft and day (UTC) for a bulk run."""
    bounces = [e for e in explanations if e.kind == "bounce"]
    return {
        "messages_unreadable": errors,
        "by_kind": dict(Counter(e.kind for e in explanations).most_common()),
        "by_reason": dict(Counter(e.reason for e in bounces).most_common()),
        "by_carrier": dict(Counter(e.carrier or "-" for e in bounces).most_common()),
        "hard_soft": {
            "hard": sum(e.hard_bounce for e in bounces),
            "soft": sum(not e.hard_bounce for e in bounces),
        },
        "by_day": dict(sorted(Counter(_day(e.date) for e in bounces).items())),
    }


def _day(when: datetime | None) -> str:
    """The UTC day of ``when`` (bounces dated in many zones count on one calendar)."""
    return when.astimezone(UTC).date().isoformat() if when is not None else "-"


def suppression_list(
    explanations: list[Explanation], *, soft_limit: int = 3, soft_days: int = 7
) -> list[SuppressionRow]:
    """The addresses to suppress, sorted by address."""
    by_address: dict[str, list[Explanation]] = {}
    for e in explanations:
        local, _, domain = e.recipient.rpartition("@")
        if e.kind == "bounce" and local and "." in domain:  # a whole address, nothing less
            by_address.setdefault(e.recipient.lower(), []).append(e)
    rows = []
    window = timedelta(days=soft_days)
    for address, found in sorted(by_address.items()):
        found.sort(key=lambda e: e.date or _EPOCH)
        dated = [e.date for e in found if e.date is not None]
        first, last = (dated[0], dated[-1]) if dated else (None, None)
        latest = found[-1]
        hard = [e for e in found if e.hard_bounce]
        if hard:
            rows.append(
                SuppressionRow(
                    address=address,
                    reason=hard[-1].reason,
                    hard=True,
                    first_seen=first,
                    last_seen=last,
                    count=len(found),
                    decided_by="hard",
                    **_evidence(hard[-1]),
                )
            )
            continue
        if _repeats(dated, soft_limit, window) or (not dated and len(found) >= soft_limit):
            rows.append(
                SuppressionRow(
                    address=address,
                    reason=latest.reason,
                    hard=False,
                    first_seen=first,
                    last_seen=last,
                    count=len(found),
                    decided_by=f"soft:{soft_limit}/{soft_days}d",
                    **_evidence(latest),
                )
            )
    return rows


def _evidence(e: Explanation) -> dict[str, str]:
    return {"rule": e.decided_by, "status": e.status, "words": e.diagnostic[:300]}


def _repeats(dates: list[datetime], limit: int, window: timedelta) -> bool:
    """Whether ``limit`` of the sorted ``dates`` fall within one ``window``."""
    if limit <= 1:
        return bool(dates)
    return any(dates[i + limit - 1] - dates[i] <= window for i in range(len(dates) - limit + 1))
