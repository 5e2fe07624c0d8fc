"""The pieces that keep clients from taking ``serve`` down, on a fake clock."""

from __future__ import annotations

import asyncio
import errno

from maildoctor.harness.guard import (
    FailureThrottle,
    Gate,
    MemoryBudget,
    QuietLog,
    install_loop_guard,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_quiet_log_says_one_line_per_kind_a_second_with_the_count() -> None:
    clock, lines = Clock(), []
    log = QuietLog(write=lines.append, clock=clock)
    for _ in range(500):
        log.event("accept", lambda n: f"{n} refused")
    log.event("auth", "one failed login")
    clock.now += 1.0
    log.event("accept", lambda n: f"{n} refused")
    assert lines == ["1 refused", "one failed login", "500 refused"]
    assert log.counts == {"accept": 501, "auth": 1}


def test_failure_throttle_doubles_locks_forgets_and_clears() -> None:
    clock = Clock()
    throttle = FailureThrottle(
        base=0.25, most=8.0, lock_after=10, lock_seconds=300, forget_after=900, clock=clock
    )
    pauses = [throttle.fail("192.0.2.1") for _ in range(9)]
    assert pauses == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]
    assert throttle.locked("192.0.2.1") == 0
    throttle.fail("192.0.2.1")
    assert throttle.locked("192.0.2.1") == 300
    assert throttle.locked("192.0.2.2") == 0  # another client is not touched
    clock.now += 301
    assert throttle.locked("192.0.2.1") == 0
    clock.now += 900
    assert throttle.failures("192.0.2.1") == 0  # forgotten
    throttle.fail("192.0.2.3")
    throttle.succeed("192.0.2.3")
    assert throttle.failures("192.0.2.3") == 0


def test_failure_throttle_memory_is_bounded() -> None:
    throttle = FailureThrottle(max_keys=100)
    for i in range(1000):
        throttle.fail(f"10.0.{i // 256}.{i % 256}")
    assert len(throttle._records) == 100


def test_gate_counts_in_all_and_per_client() -> None:
    gate = Gate(total=3, per_client=2)
    assert gate.admit("a") is None and gate.admit("a") is None
    assert "from a" in (gate.admit("a") or "")
    assert gate.admit("b") is None
    assert "3 sessions open" in (gate.admit("c") or "")
    gate.release("a")
    assert gate.admit("c") is None
    assert gate.refused == 2


def test_memory_budget_refuses_past_the_limit_and_takes_nothing() -> None:
    budget = MemoryBudget(100)
    assert budget.take(60)
    assert not budget.take(50)
    assert budget.used == 60
    budget.give_back(60)
    assert budget.take(100) and budget.used == 100


def test_the_loop_guard_turns_accept_errors_into_one_line_a_second() -> None:
    lines: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        undo = install_loop_guard(loop, QuietLog(write=lines.append), lambda: "SMTP sessions 9")
        error = OSError(errno.EMFILE, "Too many open files")
        for _ in range(1000):
            loop.call_exception_handler(
                {"message": "socket.accept() out of system resource", "exception": error}
            )
        loop.call_exception_handler({"message": "something else", "exception": ValueError("x")})
        undo()

    asyncio.run(main())
    assert lines == [
        "maildoctor: out of descriptors (EMFILE): 1 connection(s) could not be accepted in "
        "the last second; SMTP sessions 9. Accepting again as clients leave.",
        "maildoctor: something else: ValueError: x (1 time(s))",
    ]
