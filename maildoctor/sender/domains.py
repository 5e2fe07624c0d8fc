"""Domain arithmetic shared by DMARC evaluation (auth) and the carriers' spoofing filters
(harness policy): pure functions, no I/O and no heavy imports."""

from __future__ import annotations

__all__ = ["aligned", "org_domain"]

#: Registry labels under a country code (``example.co.jp``): a simplified stand-in
#: for the Public Suffix List, enough for the Japanese and common domains seen here.
_CC_SECOND_LEVEL = frozenset(
    {"co", "ne", "or", "ac", "go", "ad", "ed", "gr", "lg", "com", "net", "org"}
)


def org_domain(domain: str) -> str:
    """A simplified organizational domain (RFC 7489 3.2): the last two labels, three
    under a country code's registry label (``example.co.jp``)."""
    labels = domain.lower().rstrip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _CC_SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def aligned(a: str, b: str, mode: str = "r") -> bool:
    """RFC 7489 3.1 identifier alignment: strict is equality, relaxed the same org domain.
    An empty domain is never aligned."""
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    if not a or not b:
        return False
    return a == b if mode == "s" else org_domain(a) == org_domain(b)
