"""One address's state from its records: suppressed or not, since when and why (pure).

The same rule as ``maildoctor bounce --suppress`` (:func:`maildoctor.bounce.batch.
suppression_list`): one hard bounce suppresses; soft bounces (and expiries) only when
``soft_limit`` of them fall within ``soft_days``. A complaint, a drop by the ESP or a
record that says ``suppressed`` suppress too. Mail accepted later (``sent``) lifts
what came before it: the address took mail again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from maildoctor.events.model import Event

if TYPE_CHECKING:
    from maildoctor.bounce import Explanation

__all__ = ["Suppression", "explanation_of", "suppression"]

_BOUNCES = ("bounced", "expired")


@dataclass(frozen=True, kw_only=True)
class Suppression:
    """Why we no longer send to an address."""

    address: str
    why: str
    """``hard_bounce``, ``soft_bounces``, ``complaint``, ``esp_drop`` or ``suppressed``."""
    reason: str
    """The Sisimai reason of the bounce that decided, or the sender's words for a drop."""
    since: datetime
    """When it started (the deciding record's time)."""
    count: int
    """Records that led to it."""
    decided_by: str
    """``hard``, ``soft:N/Dd``, ``complaint``, ``esp``: which rule."""
    source: str
    """Where the deciding record came from."""


def explanation_of(e: Event, *, carrier: str = "", advice: tuple[str, ...] = ()) -> Explanation:
    """A bounced record as the bounce explainer's result (its suppression rule and its
    reply draft take these)."""
    from maildoctor.bounce import Explanation

    return Explanation(
        recipient=e.address,
        reason=e.reason or "undefined",
        hard_bounce=e.hard,
        status=e.dsn,
        reply_code="",
        diagnostic=e.reply,
        remote_mta=e.relay,
        reporting_mta="",
        mta="",
        carrier=carrier,
        advice=advice,
        decided_by="record",
        date=e.time,
    )


def suppression(
    events: list[Event], *, soft_limit: int = 3, soft_days: int = 7
) -> Suppression | None:
    """Whether the address of ``events`` (one address, any order) is suppressed."""
    ordered = sorted(events, key=lambda e: e.time)
    accepted = [i for i, e in enumerate(ordered) if e.status == "sent"]
    live = ordered[accepted[-1] + 1 :] if accepted else ordered
    if not live:
        return None
    address = live[0].address
    for status, why, decided in (
        ("suppressed", "suppressed", "record"),
        ("complaint", "complaint", "complaint"),
        ("dropped", "esp_drop", "esp"),
    ):
        found = [e for e in live if e.status == status]
        if found:
            return Suppression(
                address=address,
                why=why,
                reason=found[-1].reason or found[-1].reply,
                since=found[0].time,
                count=len(found),
                decided_by=decided,
                source=found[0].source,
            )
    bounces = [e for e in live if e.status in _BOUNCES]
    if not bounces:
        return None
    # Imported here: a diagnosis reading a clean timeline does not pay for the bounce parser.
    from maildoctor.bounce.batch import suppression_list

    rows = suppression_list(
        [explanation_of(e) for e in bounces], soft_limit=soft_limit, soft_days=soft_days
    )
    if not rows:
        return None
    row = rows[0]
    hard = [e for e in bounces if e.hard]
    first = hard[0] if row.hard and hard else bounces[-1]
    return Suppression(
        address=address,
        why="hard_bounce" if row.hard else "soft_bounces",
        reason=row.reason,
        since=first.time,
        count=row.count,
        decided_by=row.decided_by,
        source=first.source,
    )
