"""``classify``: how the carrier rule of a recipient's host is looked up."""

from __future__ import annotations

import importlib
from pathlib import Path

from maildoctor.bounce.classify import classify
from maildoctor.bounce.parse import parse_bounce

# maildoctor.bounce re-exports the function classify under the submodule's name
classify_module = importlib.import_module("maildoctor.bounce.classify")

DATA = Path(__file__).parent / "data" / "bounces"


def test_a_carrier_is_named_by_the_recipients_host() -> None:
    """The remote host (an au relay) names the carrier and its filter reason."""
    bounce = parse_bounce((DATA / "rhost-kddi-01.eml").read_bytes())
    explanations = classify(bounce)
    assert [x.recipient for x in explanations] == [r.recipient for r in bounce.recipients]
    assert [x.carrier for x in explanations] == ["au"]
    assert [x.reason for x in explanations] == ["filtered"]
