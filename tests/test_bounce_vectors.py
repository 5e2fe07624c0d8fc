"""The bounce classifier against Sisimai's public corpus (tests/data/bounces/).

Every sample is compared with the reason Sisimai's own test tables expect for each
bounced recipient (the primary, classic-taxonomy fields of expected.json; see its
README). The few samples where maildoctor answers otherwise on purpose are listed
in DELIBERATE with the reason and what maildoctor says instead, and are asserted
to say exactly that, so a change in either direction shows up.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maildoctor.bounce import explain

DATA = Path(__file__).parent / "data" / "bounces"
VECTORS: list[dict] = json.loads((DATA / "expected.json").read_text("utf-8"))

#: file -> (maildoctor's reasons, why it differs from Sisimai 5.1/5.2)
DELIBERATE: dict[str, tuple[list[str], str]] = {
    "exim-03.eml": (
        ["contenterror"],
        "the server said '554 5.7.0 Header error': a complaint about the message's "
        "headers, which is contenterror; Sisimai itself moved this sample from "
        "policyviolation to contenterror after v5.2 (latest_upstream).",
    ),
    "gmail-03.eml": (
        ["contenterror"],
        "the remote server's words are the same '554 5.7.0 Header error' as exim-03; "
        "Sisimai's Gmail module reads Google's internal '(state 18)' as filtered. "
        "maildoctor classifies by what the refusing server said, so both samples agree.",
    ),
    "exchange2003-04.eml": (
        ["userunknown"],
        "the bounce says 'Recipient Not Found' and nothing else; Sisimai maps the "
        "Exchange 2003 MSEXCH:IMC code to filtered. For a support agent 'the address "
        "does not exist' is the reading the bounce supports.",
    ),
    "v5sendmail-05.eml": (
        ["hostunknown", "hostunknown", "hostunknown", "userunknown"],
        "a 1999 V5 sendmail transcript whose first recipient's lines run into the "
        "next recipient's '550 Host unknown'; Sisimai says blocked for it (v5.2) and "
        "systemerror (2026). The other three recipients agree.",
    ),
}


def _reasons(name: str) -> list[str]:
    return [e.reason for e in explain((DATA / name).read_bytes())]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["file"] for v in VECTORS])
def test_reason_matches_sisimai(vector: dict) -> None:
    got = _reasons(vector["file"])
    expected = [r["reason"] for r in vector["results"]]
    if vector["file"] in DELIBERATE:
        ours, why = DELIBERATE[vector["file"]]
        assert got == ours, why
        assert got != expected
    else:
        assert got == expected


@pytest.mark.parametrize("vector", VECTORS, ids=[v["file"] for v in VECTORS])
def test_status_matches_when_not_sisimai_internal(vector: dict) -> None:
    """Statuses from the bounce itself (not Sisimai's X.0.9YY pseudo codes) agree."""
    got = [e.status for e in explain((DATA / vector["file"]).read_bytes())]
    expected = [r["status"] for r in vector["results"]]
    if len(got) != len(expected):
        pytest.fail(f"{len(got)} recipients, expected {len(expected)}")
    for g, e in zip(got, expected, strict=True):
        if e and ".9" not in e and not e.endswith(".0.0") and g:
            assert g == e


def test_agreement_rate_at_least_90_percent() -> None:
    agree = sum(_reasons(v["file"]) == [r["reason"] for r in v["results"]] for v in VECTORS)
    rate = agree / len(VECTORS)
    assert rate >= 0.90, f"{agree}/{len(VECTORS)} = {rate:.1%}"
    # The deliberate list is the whole list of misses.
    assert len(VECTORS) - agree == len(DELIBERATE)


def test_vectors_are_the_ones_recorded() -> None:
    import hashlib

    for v in VECTORS:
        assert hashlib.sha256((DATA / v["file"]).read_bytes()).hexdigest() == v["sha256"]
