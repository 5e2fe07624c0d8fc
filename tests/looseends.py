"""What a test module leaves running: threads it started and child processes of the test
process. Either one outlives its test and becomes a flake for whatever runs next on the
worker (a port still held, CPU taken, a socket reported as a ResourceWarning in an
unrelated test when it is collected). tests/conftest.py checks every module with it."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

__all__ = ["left_running", "snapshot"]

#: Threads that are one per process by design, or idle pool workers that end when their
#: pool is collected: pycares' channel reaper, an event loop's default executor.
SHARED = re.compile(r"\(_run_safe_shutdown_loop\)$|^asyncio_\d+$")


def _threads() -> set[str]:
    return {
        f"thread {t.name!r} ({t.ident})"
        for t in threading.enumerate()
        if t is not threading.main_thread() and not SHARED.search(t.name)
    }


def _children() -> set[str]:
    """Running (not zombie) children of this process, with their command lines."""
    me = os.getpid()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            state, ppid = stat.rsplit(")", 1)[1].split()[:2]
            if int(ppid) != me or state in "ZX":
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue  # ended while we looked
        found.add(f"process {entry.name}: {cmdline.strip()[:160]}")
    return found


def snapshot() -> frozenset[str]:
    """The threads and child processes running now."""
    return frozenset(_threads() | _children())


def left_running(before: frozenset[str], grace: float = 5.0) -> list[str]:
    """What runs now that did not in ``before``, once ``grace`` seconds have not seen it
    end (a stop path may join its thread a moment after it returns)."""
    deadline = time.monotonic() + grace
    while True:
        left = sorted(snapshot() - before)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)
