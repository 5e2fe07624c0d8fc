"""``maildoctor serve`` in a child process with few file descriptors (RLIMIT_NOFILE, as
``prlimit --nofile`` sets it): clients beyond the limits get a clean 421, running out
of descriptors logs one line a second (never asyncio's traceback per accept), and
the server takes clients again by itself once others leave. Bounded loops, loopback."""

from __future__ import annotations

import socket
import time
from contextlib import ExitStack

import pytest

from tests.serveproc import ServeProcess


def greeting(sock: socket.socket, wait: float = 3.0) -> str:
    sock.settimeout(wait)
    try:
        return sock.recv(1024).decode(errors="replace")
    except TimeoutError:
        return ""
    except ConnectionResetError:
        return "(reset)"


def connect_many(stack: ExitStack, address: tuple[str, int], n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        sock = socket.create_connection(address, timeout=5)
        stack.callback(sock.close)
        socks.append(sock)
    return socks


def greeted_again(address: tuple[str, int], within: float) -> str:
    """The greeting a new client gets, retried until ``within`` seconds have passed."""
    deadline = time.monotonic() + within
    last = ""
    while time.monotonic() < deadline:
        with socket.create_connection(address, timeout=5) as sock:
            last = greeting(sock, wait=2.0)
        if last.startswith("220 "):
            return last
        time.sleep(0.2)
    return last


@pytest.mark.slow
def test_with_128_descriptors_the_limits_fit_and_the_rest_get_421() -> None:
    with ServeProcess("--auth-dns", "off", nofile=128) as serve, ExitStack() as stack:
        banner = "\n".join(serve.banner) + serve.stderr_now(0.5)
        assert "note: this process may open 128 descriptors (ulimit -n)" in banner
        fitted = int(banner.split("SMTP sessions are limited to ")[1].split(",")[0].split()[0])
        assert 20 <= fitted <= 64
        socks = connect_many(stack, serve.smtp_address, fitted + 20)
        replies = [greeting(s) for s in socks]
        assert sum(r.startswith("220 ") for r in replies) == fitted
        refused = [r for r in replies if not r.startswith("220 ")]
        assert len(refused) == 20
        assert all(r.startswith("421 4.7.0 ") for r in refused), refused[:3]
        for sock in socks:
            sock.close()
        assert greeted_again(serve.smtp_address, within=5).startswith("220 ")
        log = serve.stderr_now(1.0)
        assert "Traceback" not in log
        assert "refused" in log and len(log.splitlines()) <= 5


@pytest.mark.slow
def test_out_of_descriptors_logs_one_line_a_second_and_recovers() -> None:
    # The limit given on the command line is kept (with a warning), so descriptors run out.
    args = ("--auth-dns", "off", "--smtp-max-sessions", "1000", "--smtp-max-per-client", "0")
    with ServeProcess(*args, nofile=48) as serve, ExitStack() as stack:
        assert any("fewer than the SMTP sessions" in line for line in serve.banner)
        socks = connect_many(stack, serve.smtp_address, 80)  # the kernel queues the rest
        started = time.monotonic()
        replies = [greeting(s, wait=0.05) for s in socks]
        answered = sum(r.startswith("220 ") for r in replies)
        assert 5 <= answered < 48
        time.sleep(max(0.0, 3.0 - (time.monotonic() - started)))  # three seconds starved
        log = serve.stderr_now(0.5)
        lines = [line for line in log.splitlines() if "out of descriptors" in line]
        assert "Traceback" not in log
        assert 1 <= len(lines) <= 5, log[:2000]
        assert "could not be accepted in the last second; SMTP sessions" in lines[0]
        for sock in socks:
            sock.close()
        assert greeted_again(serve.smtp_address, within=8).startswith("220 ")
        assert len(serve.stderr_now(0.5)) < 2000
