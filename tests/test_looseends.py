"""The check tests/conftest.py runs after each module: it sees a thread or a child process
the module left running, and nothing once they have ended."""

from __future__ import annotations

import subprocess
import threading

from tests.looseends import left_running, snapshot


def test_a_thread_left_running_is_named_until_it_ends() -> None:
    before = snapshot()
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="maildoctor-leftover", daemon=True)
    thread.start()
    try:
        [left] = left_running(before, grace=0.2)
        assert "maildoctor-leftover" in left
    finally:
        stop.set()
        thread.join()
    assert left_running(before, grace=0.2) == []


def test_a_child_process_left_running_is_named_until_it_ends() -> None:
    before = snapshot()
    child = subprocess.Popen(["sleep", "30"])
    try:
        [left] = left_running(before, grace=0.2)
        assert left == f"process {child.pid}: sleep 30"
    finally:
        child.kill()
        child.wait()
    assert left_running(before, grace=0.2) == []


def test_an_ending_thread_is_given_its_grace() -> None:
    before = snapshot()
    thread = threading.Thread(target=threading.Event().wait, args=(0.3,), name="ending")
    thread.start()
    assert left_running(before, grace=5.0) == []
    thread.join()
