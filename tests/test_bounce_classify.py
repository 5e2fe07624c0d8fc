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


def test_required_literals_are_only_what_every_match_contains() -> None:
    """The MTA scan skips a rule's regex when a literal every match holds is absent: so
    each literal must really be required (never optional, never inside a group)."""
    import re

    from maildoctor.bounce.patterns import required_literals, tables

    assert required_literals(r"^Message-I[dD]: <\w{6,7}-\w{6}-\w{2}@") == ("message-i", ": <")
    assert required_literals(r"(?s)X-Failed-Recipients:.*google") == (
        "x-failed-recipients:",
        "google",
    )
    assert required_literals(r"qmail-(local|remote|send)") == ("qmail-",)
    assert required_literals(r"abc|def") == ()  # alternation at the top: nothing required
    assert required_literals(r"^-+ ?Original message ?-+") == ("original message",)
    # every pattern of the table, on every field of every sample it matches: the
    # literals are there
    checked = 0
    for path in sorted(DATA.glob("*.eml")):
        parsed = parse_bounce(path.read_bytes()) if b"\n\n" in path.read_bytes() else None
        if parsed is None:
            continue
        fields = (parsed.headers, parsed.subject, parsed.sender, parsed.text[:3000])
        for rule in tables().mtas:
            patterns = (rule.headers, rule.subject, rule.sender, rule.text)
            for field, group in zip(fields, patterns, strict=True):
                for p in group:
                    if re.search(p, field):
                        checked += 1
                        needed = required_literals(p.pattern)
                        assert all(n in field.lower() for n in needed), (path.name, p.pattern)
    assert checked > 100
