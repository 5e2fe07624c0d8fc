"""The check API's per-client token bucket: rates, keys, refill, bounded memory."""

from __future__ import annotations

import pytest

from maildoctor.web.ratelimit import RateLimiter, client_key, parse_rate


@pytest.mark.parametrize(
    ("text", "per_minute"),
    [("60/min", 60.0), ("2/s", 120.0), ("600/h", 10.0), ("30", 30.0), ("off", 0.0), ("0", 0.0),
     (" 5/MIN ", 5.0), ("1.5/s", 90.0)],
)  # fmt: skip
def test_parse_rate(text: str, per_minute: float) -> None:
    assert parse_rate(text) == per_minute


@pytest.mark.parametrize("text", ["", "fast", "10/day", "-1/min", "nan/s", "inf", "/min"])
def test_parse_rate_refuses_what_is_not_a_rate(text: str) -> None:
    with pytest.raises(ValueError, match="is not a rate: write N/min, N/s or N/h"):
        parse_rate(text)


@pytest.mark.parametrize(
    ("remote", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # same /64, same bucket
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),
        (None, "?"),
        ("not-an-ip", "not-an-ip"),
    ],
)
def test_client_key(remote: str | None, key: str) -> None:
    assert client_key(remote) == key


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_wait_then_refill() -> None:
    clock = Clock()
    limiter = RateLimiter(6, clock=clock)  # 6 a minute: one every 10 s
    assert [limiter.allow("a") for _ in range(6)] == [0.0] * 6
    assert limiter.allow("a") == pytest.approx(10.0)
    assert limiter.allow("b") == 0.0  # another client has its own bucket
    clock.now += 10.0
    assert limiter.allow("a") == 0.0
    assert limiter.allow("a") > 0


def test_memory_is_bounded() -> None:
    limiter = RateLimiter(1, max_clients=100)
    for i in range(10_000):
        limiter.allow(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter) == 100
    assert limiter.allow("10.0.39.15") > 0  # the most recent are still remembered
