"""The bounce classifier against Sisimai's public corpus (tests/data/bounces, bounces-more).

Reasons are compared with what Sisimai's own test tables expect for each recipient,
under Sisimai's current names. The 321 samples are split once, by a hash of the file
name and stratified by sender family (tests/bounce_corpus.py): rules are written from
the tuning part only, and the held-out part measures whether they generalise.
bench/bounce_bench.py prints the same figures.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from maildoctor.bounce import NotABounce, explain
from tests.bounce_corpus import DATA, FOLDERS, samples

SAMPLES = samples()


def _reasons(sample) -> tuple[str, ...]:
    try:
        return tuple(e.reason for e in explain(sample.path.read_bytes()))
    except NotABounce as e:
        return (f"not-a-bounce:{e.code}",)


def _rate(chosen) -> float:
    return sum(_reasons(s) == s.expected for s in chosen) / len(chosen)


def test_agreement_on_the_original_corpus_at_least_95_percent() -> None:
    rate = _rate([s for s in SAMPLES if s.path.parent.name == "bounces"])
    assert rate >= 0.95, f"{rate:.1%}"


def test_agreement_on_the_held_out_part_at_least_90_percent() -> None:
    held = [s for s in SAMPLES if s.held_out]
    assert len(held) >= 100  # about 35% of 321
    rate = _rate(held)
    assert rate >= 0.90, f"{rate:.1%}"


def test_split_is_stable_and_about_a_third_held_out() -> None:
    again = samples()
    assert [s.held_out for s in again] == [s.held_out for s in SAMPLES]
    for folder in FOLDERS:
        part = [s for s in SAMPLES if s.path.parent.name == folder]
        share = sum(s.held_out for s in part) / len(part)
        assert 0.28 <= share <= 0.40, (folder, share)


@pytest.mark.parametrize(
    "sample", [s for s in SAMPLES if s.group == "nonbounce"], ids=lambda s: s.name
)
def test_non_bounces_are_kept_apart(sample) -> None:
    kinds = {e.kind for e in explain(sample.path.read_bytes())}
    assert kinds <= {"feedback", "autoreply", "delivered"}, kinds


def test_vectors_are_the_ones_recorded() -> None:
    for folder in FOLDERS:
        for v in json.loads((DATA / folder / "expected.json").read_text("utf-8")):
            digest = hashlib.sha256((DATA / folder / v["file"]).read_bytes()).hexdigest()
            assert digest == v["sha256"], v["file"]
