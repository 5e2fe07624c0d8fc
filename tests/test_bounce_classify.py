"""``classify``: how the carrier rule of a recipient's host is looked up."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from maildoctor.bounce.classify import classify
from maildoctor.bounce.parse import BounceRecipient, parse_bounce
from maildoctor.bounce.patterns import CarrierRule

# maildoctor.bounce re-exports the function classify under the submodule's name
classify_module = importlib.import_module("maildoctor.bounce.classify")

DATA = Path(__file__).parent / "data" / "bounces"


def test_carrier_rule_is_looked_up_once_per_recipient(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host scan runs every carrier's patterns; classify needs its answer once."""
    bounce = parse_bounce((DATA / "rhost-kddi-01.eml").read_bytes())
    calls: list[str] = []
    real = classify_module._rhost

    def counted(r: BounceRecipient) -> CarrierRule | None:
        calls.append(r.recipient)
        return real(r)

    monkeypatch.setattr(classify_module, "_rhost", counted)
    explanations = classify(bounce)
    assert [x.carrier for x in explanations] == ["au"]
    assert [x.reason for x in explanations] == ["filtered"]
    assert calls == [r.recipient for r in bounce.recipients]
