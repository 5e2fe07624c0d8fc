"""The bulk jobs of ``bounce`` added up as bounces stream (issue 24): each accumulator
gives exactly what the whole-list computation gave, on random runs that exercise the
orders, the ties, the time zones and the soft-bounce windows."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest

from maildoctor.bounce.batch import ReplyTargets, Summary, SuppressionRow, suppression_list
from maildoctor.bounce.classify import Explanation

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZONES = (UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5)))


def _whole_list_suppression(
    explanations: list[Explanation], soft_limit: int, soft_days: int
) -> list[SuppressionRow]:
    """The suppression list as it was computed before streaming: every explanation
    grouped per address, sorted by date, then decided (the reference)."""
    by_address: dict[str, list[Explanation]] = {}
    for e in explanations:
        local, _, domain = e.recipient.rpartition("@")
        if e.kind == "bounce" and local and "." in domain:
            by_address.setdefault(e.recipient.lower(), []).append(e)
    rows = []
    window = timedelta(days=soft_days)
    for address, found in sorted(by_address.items()):
        found.sort(key=lambda e: e.date or _EPOCH)
        dated = [e.date for e in found if e.date is not None]
        first, last = (dated[0], dated[-1]) if dated else (None, None)
        hard = [e for e in found if e.hard_bounce]
        repeats = (
            bool(dated)
            if soft_limit <= 1
            else any(
                dated[i + soft_limit - 1] - dated[i] <= window
                for i in range(len(dated) - soft_limit + 1)
            )
        )
        if hard:
            deciding, decided_by = hard[-1], "hard"
        elif repeats or (not dated and len(found) >= soft_limit):
            deciding, decided_by = found[-1], f"soft:{soft_limit}/{soft_days}d"
        else:
            continue
        rows.append(
            SuppressionRow(
                address=address,
                reason=deciding.reason,
                hard=bool(hard),
                first_seen=first,
                last_seen=last,
                count=len(found),
                decided_by=decided_by,
                rule=deciding.decided_by,
                status=deciding.status,
                words=deciding.diagnostic[:300],
            )
        )
    return rows


def _random_run(rng: random.Random, n: int) -> list[Explanation]:
    addresses = ["a@example.jp", "A@Example.jp", "b@docomo.ne.jp", "c@ezweb.ne.jp", "d@x", ""]
    base = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        hours = rng.choice((0, 0, 12, 30, rng.randrange(0, 24 * 40)))  # many equal instants
        date = (
            None
            if rng.random() < 0.15
            else (base + timedelta(hours=hours)).astimezone(rng.choice(_ZONES))
        )
        out.append(
            Explanation(
                recipient=rng.choice(addresses),
                reason=rng.choice(("userunknown", "mailboxfull", "filtered")),
                hard_bounce=rng.random() < 0.1,
                status=f"5.{i % 3}.{i}",
                reply_code="550",
                diagnostic=f"words of bounce {i} " * rng.choice((1, 40)),
                remote_mta="",
                reporting_mta="",
                mta="",
                carrier=rng.choice(("", "docomo", "au")),
                advice=(),
                decided_by=f"rule-{i}",
                kind=rng.choice(("bounce",) * 6 + ("delivered", "autoreply", "feedback")),
                date=date,
            )
        )
    return out


@pytest.mark.parametrize("seed", range(40))
def test_streamed_suppression_equals_the_whole_list(seed: int) -> None:
    rng = random.Random(seed)
    run = _random_run(rng, rng.randrange(1, 120))
    for soft_limit, soft_days in ((1, 1), (2, 1), (3, 7), (4, 2), (6, 30)):
        streamed = suppression_list(run, soft_limit=soft_limit, soft_days=soft_days)
        reference = _whole_list_suppression(run, soft_limit, soft_days)
        assert streamed == reference
        # the same instant written in two zones stays as the first/last bounce wrote it
        assert [(r.first_seen and r.first_seen.isoformat()) for r in streamed] == [
            (r.first_seen and r.first_seen.isoformat()) for r in reference
        ]
        assert [(r.last_seen and r.last_seen.isoformat()) for r in streamed] == [
            (r.last_seen and r.last_seen.isoformat()) for r in reference
        ]


@pytest.mark.parametrize("seed", range(10))
def test_streamed_summary_and_reply_targets_equal_the_whole_list(seed: int) -> None:
    rng = random.Random(seed)
    run = _random_run(rng, rng.randrange(1, 200))
    summary = Summary()
    targets = ReplyTargets()
    only = ReplyTargets(" a@EXAMPLE.jp ")
    for e in run:
        summary.add(e)
        targets.add(e)
        only.add(e)
    bounces = [e for e in run if e.kind == "bounce"]
    day = lambda e: e.date.astimezone(UTC).date().isoformat() if e.date else "-"  # noqa: E731
    assert summary.result(errors=2) == {
        "messages_unreadable": 2,
        "by_kind": dict(Counter(e.kind for e in run).most_common()),
        "by_reason": dict(Counter(e.reason for e in bounces).most_common()),
        "by_carrier": dict(Counter(e.carrier or "-" for e in bounces).most_common()),
        "hard_soft": {
            "hard": sum(e.hard_bounce for e in bounces),
            "soft": sum(not e.hard_bounce for e in bounces),
        },
        "by_day": dict(sorted(Counter(day(e) for e in bounces).items())),
    }
    latest: dict[str, Explanation] = {}
    for e in bounces:
        if e.recipient:
            latest[e.recipient.lower()] = e
    assert targets.targets() == list(latest.values())
    assert only.targets() == [v for k, v in latest.items() if k == "a@example.jp"]
