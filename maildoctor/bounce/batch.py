"""Many bounces at once: summary counts and the suppression list (pure: results in, rows out).

A suppression list tells the sending system which addresses to stop mailing. Hard
bounces (the address or domain is gone) go on it at once; soft ones (a full
mailbox, a filter, a rate limit) only when they repeat, ``soft_limit`` times
within ``soft_days`` days, since one soft bounce says little about the next mail.
Delivery reports, auto-replies and complaints are never bounces and never listed.

Each job is an accumulator fed one explanation at a time (:class:`Summary`,
:class:`Suppression`, :class:`ReplyTargets`), so that a bulk run over a 1 GB mbox
holds counters and one small record per address, never every explanation.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from maildoctor.bounce.classify import Explanation

__all__ = [
    "ReplyTargets",
    "Summary",
    "Suppression",
    "SuppressionRow",
    "summarize",
    "suppression_list",
]

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


class Summary:
    """Counts by kind, reason, carrier, hard/soft and day (UTC), added up as bounces come."""

    def __init__(self) -> None:
        self._kinds: Counter[str] = Counter()
        self._reasons: Counter[str] = Counter()
        self._carriers: Counter[str] = Counter()
        self._days: Counter[str] = Counter()
        self._hard = 0
        self._soft = 0

    def add(self, e: Explanation) -> None:
        self._kinds[e.kind] += 1
        if e.kind != "bounce":
            return
        self._reasons[e.reason] += 1
        self._carriers[e.carrier or "-"] += 1
        self._days[_day(e.date)] += 1
        if e.hard_bounce:
            self._hard += 1
        else:
            self._soft += 1

    def result(self, errors: int = 0) -> dict[str, object]:
        """The counts, most frequent first (ties in the order first seen), days in order."""
        return {
            "messages_unreadable": errors,
            "by_kind": dict(self._kinds.most_common()),
            "by_reason": dict(self._reasons.most_common()),
            "by_carrier": dict(self._carriers.most_common()),
            "hard_soft": {"hard": self._hard, "soft": self._soft},
            "by_day": dict(sorted(self._days.items())),
        }


def summarize(explanations: Iterable[Explanation], errors: int = 0) -> dict[str, object]:
    """Counts by kind, reason, carrier, hard/soft and day (UTC) for a bulk run."""
    summary = Summary()
    for e in explanations:
        summary.add(e)
    return summary.result(errors)


def _day(when: datetime | None) -> str:
    """The UTC day of ``when`` (bounces dated in many zones count on one calendar)."""
    return when.astimezone(UTC).date().isoformat() if when is not None else "-"


@dataclass(slots=True)
class _Deciding:
    """What one bounce adds to its address's row when it is the deciding one."""

    when: datetime
    """Its date, the epoch when it has none (so an undated bounce is the oldest)."""
    reason: str
    rule: str
    status: str
    words: str

    @classmethod
    def of(cls, e: Explanation) -> _Deciding:
        return cls(e.date or _EPOCH, e.reason, e.decided_by, e.status, e.diagnostic[:300])


@dataclass(slots=True)
class _Address:
    """One address's bounces so far: counts, first and last dates, the deciding bounces."""

    count: int
    latest: _Deciding
    latest_hard: _Deciding | None = None
    first: datetime | None = None
    last: datetime | None = None
    dated: int = 0
    repeats: bool = False
    """Whether ``soft_limit`` dated bounces already fell within one window."""
    dates: list[datetime] | None = None
    """The dates, sorted, kept only while neither a hard bounce nor the repeats decided."""


class Suppression:
    """The suppression list, built one explanation at a time.

    Held per address: counters, the two dates, the latest bounce's and the latest hard
    bounce's evidence, and (only while the address is undecided) its bounce dates to
    find ``soft_limit`` of them within ``soft_days``. The latest is the one with the
    latest date; of equal dates the one seen last (what a stable sort by date gives).
    """

    def __init__(self, *, soft_limit: int = 3, soft_days: int = 7) -> None:
        self.soft_limit = soft_limit
        self.soft_days = soft_days
        self._window = timedelta(days=soft_days)
        self._addresses: dict[str, _Address] = {}

    def add(self, e: Explanation) -> None:
        local, _, domain = e.recipient.rpartition("@")
        if e.kind != "bounce" or not local or "." not in domain:  # a whole address only
            return
        key = e.recipient.lower()
        deciding = _Deciding.of(e)
        row = self._addresses.get(key)
        if row is None:
            row = self._addresses[key] = _Address(count=0, latest=deciding)
        row.count += 1
        if deciding.when >= row.latest.when:
            row.latest = deciding
        if e.hard_bounce:
            if row.latest_hard is None or deciding.when >= row.latest_hard.when:
                row.latest_hard = deciding
            row.dates = None
        if e.date is None:
            return
        row.dated += 1
        if row.first is None or e.date < row.first:
            row.first = e.date
        if row.last is None or e.date >= row.last:
            row.last = e.date
        if row.latest_hard is None and not row.repeats:
            row.repeats = self._note_date(row, e.date)

    def _note_date(self, row: _Address, when: datetime) -> bool:
        """Keep ``when`` among the row's sorted dates; whether ``soft_limit`` of them now
        fall within one window (only a window holding the new date can be new)."""
        if self.soft_limit <= 1:
            return True
        dates = row.dates if row.dates is not None else []
        at = bisect.bisect_right(dates, when)
        dates.insert(at, when)
        limit = self.soft_limit
        for i in range(max(0, at - limit + 1), min(at, len(dates) - limit) + 1):
            if dates[i + limit - 1] - dates[i] <= self._window:
                row.dates = None
                return True
        row.dates = dates
        return False

    def rows(self) -> list[SuppressionRow]:
        """The addresses to suppress, sorted by address."""
        rows = []
        for address, row in sorted(self._addresses.items()):
            if row.latest_hard is not None:
                deciding, hard, decided_by = row.latest_hard, True, "hard"
            elif row.repeats or (not row.dated and row.count >= self.soft_limit):
                deciding, hard = row.latest, False
                decided_by = f"soft:{self.soft_limit}/{self.soft_days}d"
            else:
                continue
            rows.append(
                SuppressionRow(
                    address=address,
                    reason=deciding.reason,
                    hard=hard,
                    first_seen=row.first,
                    last_seen=row.last,
                    count=row.count,
                    decided_by=decided_by,
                    rule=deciding.rule,
                    status=deciding.status,
                    words=deciding.words,
                )
            )
        return rows


def suppression_list(
    explanations: Iterable[Explanation], *, soft_limit: int = 3, soft_days: int = 7
) -> list[SuppressionRow]:
    """The addresses to suppress, sorted by address."""
    suppression = Suppression(soft_limit=soft_limit, soft_days=soft_days)
    for e in explanations:
        suppression.add(e)
    return suppression.rows()


class ReplyTargets:
    """One explanation per failed customer address (the latest bounce of each, in the
    order the addresses were first seen), optionally only ``address``'s."""

    def __init__(self, address: str | None = None) -> None:
        self._only = address.strip().lower() if address else None
        self._latest: dict[str, Explanation] = {}

    def add(self, e: Explanation) -> None:
        if e.kind != "bounce" or not e.recipient:
            return
        key = e.recipient.lower()
        if self._only is not None and key != self._only:
            return
        self._latest[key] = e

    def targets(self) -> list[Explanation]:
        return list(self._latest.values())
