"""Stopping the harness closes every connection it holds, on both sides.

Python 3.11's ``asyncio.Server`` closes only its listening socket, and aiohttp's
shutdown leaves a response that the client never reads waiting for its unsent bytes:
a loop that ends then leaves sockets behind (``ResourceWarning: unclosed transport``,
raised later in whatever code the collector happens to run in).
"""

from __future__ import annotations

import asyncio
import gc
import smtplib
import socket
import time
import warnings
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from maildoctor.harness.guard import close_listener
from maildoctor.web.app import run_in_thread


def _recv_until_closed(sock: socket.socket, deadline: float) -> bytes:
    """Everything the server sends until it closes the connection (or the deadline)."""
    got = b""
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk
    raise AssertionError(f"still open after the harness stopped: {got[-200:]!r}")


@pytest.mark.slow  # 4 s: a 4 MB message, then aiohttp's 1 s grace for the unread response
def test_stopping_closes_open_smtp_sessions_and_unread_responses(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        harness = run_in_thread(tmp_path / "h.sqlite3")
        smtp_client = socket.create_connection(harness.smtp_address)
        http_client = socket.socket()
        try:
            msg = EmailMessage()
            msg["From"] = "noreply@lentrance.com"
            msg["To"] = "taro@docomo.ne.jp"
            msg["Subject"] = "大きな添付"
            msg.set_content("x" * 4_000_000)  # more than the server's socket takes at once
            with smtplib.SMTP(*harness.smtp_address, timeout=30) as s:
                s.send_message(msg)
            (stored,) = harness.messages()

            # An SMTP session left open after EHLO.
            smtp_client.settimeout(10)
            assert smtp_client.recv(1024).startswith(b"220")
            smtp_client.sendall(b"EHLO client.example\r\n")
            reply = b""
            while not reply.startswith(b"250 ") and b"\r\n250 " not in reply:
                reply += smtp_client.recv(4096)  # the last line of the EHLO reply

            # A download the client never reads: the server's bytes wait in its buffer.
            http_client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            assert harness.http_url is not None
            http_client.connect(("127.0.0.1", int(harness.http_url.rsplit(":", 1)[1])))
            http_client.sendall(
                f"GET /api/messages/{stored.id}/raw HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
            )
            time.sleep(0.5)  # the handler writes until the buffers are full
        finally:
            harness.stop()
        deadline = time.monotonic() + 10
        try:
            # The client sees each connection closed by the server.
            assert _recv_until_closed(smtp_client, deadline) == b""
            _recv_until_closed(http_client, deadline)
        finally:
            smtp_client.close()
            http_client.close()
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []


async def _accept_as_the_listener_closes(
    close: Callable[[asyncio.Server], Awaitable[None]],
) -> tuple[int, int]:
    """(protocols made, connections made) when the stop comes between an ``accept()``
    and the first step of the task that builds its transport: the closer is woken
    (its wake-up queued) as that task is created, so it runs first."""
    loop = asyncio.get_running_loop()
    made: list[asyncio.Protocol] = []
    connected: list[asyncio.BaseTransport] = []

    class Counted(asyncio.Protocol):
        def __init__(self) -> None:
            made.append(self)

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            connected.append(transport)

    server = await loop.create_server(Counted, "127.0.0.1", 0)
    go: asyncio.Future[None] = loop.create_future()
    create_task = loop.create_task

    def watching(coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        if "_accept_connection2" in getattr(coro, "__qualname__", "") and not go.done():
            go.set_result(None)
        return create_task(coro, **kwargs)

    loop.create_task = watching  # type: ignore[method-assign]

    async def closer() -> None:
        await go
        await close(server)

    stopping = asyncio.ensure_future(closer())
    client = socket.create_connection(server.sockets[0].getsockname()[:2])
    try:
        await asyncio.wait_for(stopping, 10)
        for transport in connected:
            transport.close()
        await asyncio.sleep(0)
    finally:
        client.close()
    return len(made), len(connected)


async def _close_at_once(server: asyncio.Server) -> None:
    server.close()


def test_a_connection_accepted_as_the_listener_closes_is_made_whole() -> None:
    """What ``close_listener`` is for: Python 3.11's ``Server.close()`` there leaves a
    protocol that never hears of its connection (a slot counted and never given back)
    and a socket for the collector; closing through ``close_listener`` builds it first."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert asyncio.run(_accept_as_the_listener_closes(_close_at_once)) == (1, 0)
        gc.collect()
    assert any("unclosed" in str(w.message) for w in caught)  # the leak, shown

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert asyncio.run(_accept_as_the_listener_closes(close_listener)) == (1, 1)
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
