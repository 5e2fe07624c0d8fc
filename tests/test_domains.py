"""Organizational domains and DMARC relaxed alignment (maildoctor/domains.py)."""

from __future__ import annotations

import pytest

from maildoctor.sender.domains import aligned, org_domain


@pytest.mark.parametrize(
    ("domain", "org"),
    [
        ("lentrance.com", "lentrance.com"),
        ("news.lentrance.com", "lentrance.com"),
        ("mail.example.co.jp", "example.co.jp"),
        ("docomo.ne.jp", "docomo.ne.jp"),
        ("i.softbank.jp", "softbank.jp"),
        ("LENTRANCE.COM.", "lentrance.com"),
    ],
)
def test_org_domain(domain: str, org: str) -> None:
    assert org_domain(domain) == org


@pytest.mark.parametrize(
    ("a", "b", "mode", "expected"),
    [
        ("news.lentrance.com", "bounce.lentrance.com", "r", True),  # siblings: same org
        ("news.lentrance.com", "lentrance.com", "s", False),
        ("lentrance.com", "LENTRANCE.com.", "s", True),
        ("example.co.jp", "other.co.jp", "r", False),
        ("", "", "r", False),  # no domain is never aligned
        ("lentrance.com", "", "r", False),
    ],
)
def test_aligned(a: str, b: str, mode: str, expected: bool) -> None:
    assert aligned(a, b, mode) is expected
