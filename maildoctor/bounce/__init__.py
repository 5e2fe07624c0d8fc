"""Bounce explainer: read a bounce message, say per recipient why it failed.

``explain(raw)`` is the one call most code needs; :mod:`.parse` reads the
message, :mod:`.classify` decides the reasons from the tables in
``maildoctor/data/bounce_patterns.toml``.
"""

from __future__ import annotations

from maildoctor.bounce.classify import Explanation, classify
from maildoctor.bounce.parse import (
    BounceRecipient,
    NotABounce,
    ParsedBounce,
    parse_bounce,
    parse_bounces,
)

__all__ = [
    "BounceRecipient",
    "Explanation",
    "NotABounce",
    "ParsedBounce",
    "classify",
    "explain",
    "parse_bounce",
    "parse_bounces",
]


def explain(raw: bytes) -> tuple[Explanation, ...]:
    """Every failed recipient of the bounce(s) in ``raw`` (a message or an mbox), explained.

    Raises :class:`NotABounce` when ``raw`` holds no bounce.
    """
    return tuple(e for parsed in parse_bounces(raw) for e in classify(parsed))
