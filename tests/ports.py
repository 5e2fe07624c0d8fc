"""Free loopback ports for peers that are told their port before they listen (Postfix,
spamd, a ``serve`` subprocess, README blocks, "nothing listens here").

Binding port 0 and closing it hands out a port from the kernel's ephemeral range, the range
every other ``bind(0)`` and outgoing connection on the machine draws from: under
``pytest -n 4`` another test could take the port between the pick and the peer's listen,
and the peer then failed to start, or the test talked to someone else's server. These
ports come from below that range, from a slice of its own per xdist worker, picked at
random (two suites on one machine rarely meet) and checked free before they are handed out.
"""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

__all__ = ["free_port"]

#: The lowest port handed out (under it: services and the README's fixed ports).
FIRST = 10_000
#: Ports per xdist worker.
SLICE = 1_000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _slice() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    slices = max(1, (_ephemeral_start() - FIRST) // SLICE)
    start = FIRST + (int(worker) if worker.isdigit() else 0) % slices * SLICE
    return range(start, start + SLICE)


def _bindable(port: int) -> bool:
    """Free to listen on now: no listener, no connection (not even TIME_WAIT) uses it."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody uses now and no ``bind(0)`` will hand out."""
    ports = _slice()
    for port in random.sample(ports, len(ports)):
        if _bindable(port):
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")
