"""The web side's listener: no client can hold it, whatever it sends or withholds.

- **Connections**: beyond ``WebConfig.max_connections`` a new connection gets ``503``
  (a JSON error) and is closed, before aiohttp parses anything.
- **Headers**: aiohttp has no header timeout of its own, but its keep-alive timer
  starts when a connection opens and again after each response, and closes a
  connection still waiting for a complete request. Set to
  ``WebConfig.header_timeout`` it is the header timeout: a request whose headers
  never finish (slowloris) is closed then, and so is an idle keep-alive connection.
- **Bodies**: a request whose body has not all arrived ``WebConfig.body_timeout``
  seconds after its headers fails its read with :class:`BodyTimeout` (answered 408).
- **HTTPS**: ``--tls-cert``/``--tls-key``, or a self-signed pair made beside the
  database (as for STARTTLS).
- **Logs**: aiohttp logs a traceback for every malformed request (a bad
  ``Content-Length``, a header line too long): :func:`quiet_server_logger` turns them
  into one line a second with a count.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from maildoctor.harness.guard import close_listener
from maildoctor.harness.tls import make_tls_context
from maildoctor.web.config import WebConfig

if TYPE_CHECKING:
    from maildoctor.harness.guard import QuietLog

__all__ = [
    "BodyTimeout",
    "WebServer",
    "body_deadline",
    "quiet_server_logger",
    "start_server",
    "start_site",
    "tls_context",
]


class BodyTimeout(asyncio.TimeoutError):
    """The request body did not arrive in time.

    A TimeoutError, so that aiohttp's draining of an unread body after the response
    takes it quietly instead of logging a traceback."""


def body_deadline(timeout: float, log: QuietLog) -> Any:
    """Middleware: a body still arriving ``timeout`` seconds after the headers fails."""

    def expire(request: web.Request) -> None:
        if not request.content.is_eof():
            request.content.set_exception(
                BodyTimeout(f"The request body did not arrive within {timeout:g} s.")
            )
            log.event(
                "http-body",
                lambda n: (
                    f"maildoctor: {n} HTTP request(s) whose body did not arrive "
                    f"within {timeout:g} s (--http-body-timeout) in the last second; "
                    f"last from {request.remote}."
                ),
            )

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if timeout <= 0 or not request.body_exists or request.content.is_eof():
            response: web.StreamResponse = await handler(request)
            return response
        timer = asyncio.get_running_loop().call_later(timeout, expire, request)
        try:
            response = await handler(request)
        finally:
            timer.cancel()
        return response

    return middleware


class _Quiet(logging.Filter):
    """Counts aiohttp's error records in a QuietLog and lets none through."""

    def __init__(self, log: QuietLog) -> None:
        super().__init__()
        self.log = log

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        name = type(error).__name__ if error is not None else "error"
        text = str(getattr(error, "message", "") or error or record.getMessage())
        detail = (text.strip().splitlines() or [""])[0][:160]
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        self.log.event(
            f"http-error-{name}",
            lambda n: (
                f"maildoctor: {n} HTTP request(s) failed in the last second with {name} "
                f"(last from {remote}: {detail})."
            ),
        )
        return False


def quiet_server_logger(log: QuietLog) -> logging.Logger:
    """The logger to give aiohttp's request handler: its errors as QuietLog lines."""
    logger = logging.Logger("maildoctor.web.aiohttp", level=logging.ERROR)
    logger.addFilter(_Quiet(log))
    return logger


_BUSY_BODY = json.dumps(
    {"error": "The server has as many connections as it takes; try again in a moment."}
).encode()
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
    + str(len(_BUSY_BODY)).encode()
    + b"\r\n\r\n"
    + _BUSY_BODY
)


class _Busy(asyncio.Protocol):
    """Answers 503 and closes: what a connection beyond the limit gets."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(_BUSY)
        transport.close()


class _Count:
    """Connections accepted and not yet gone, and the live ones (to abort at the end)."""

    def __init__(self) -> None:
        self.value = 0
        self.live: set[_CountedHandler] = set()

    def abort_all(self) -> None:
        """Drop what a graceful close left open (a TLS close waiting for its peer)."""
        for handler in list(self.live):
            # Not ``handler.transport``: aiohttp's shutdown sets it to None after a close
            # that may still wait on unsent bytes.
            if handler.own_transport is not None:
                handler.own_transport.abort()
        self.live.clear()


class _CountedHandler(RequestHandler):
    """aiohttp's protocol, counted until its connection is gone."""

    def __init__(self, count: _Count, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._count: _Count | None = count
        self.own_transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.own_transport = transport
        if self._count is not None:
            self._count.live.add(self)
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.own_transport = None
        if self._count is not None:
            self._count.value -= 1
            self._count.live.discard(self)
            self._count = None
        super().connection_lost(exc)


def tls_context(config: WebConfig, store_dir: Path) -> ssl.SSLContext | None:
    """The HTTPS context: the given pair, a self-signed one, or None (plain HTTP)."""
    if config.tls_cert is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(config.tls_cert, config.tls_key)
        return context
    if config.tls_self_signed:
        return make_tls_context(store_dir)
    return None


async def start_site(
    runner: web.AppRunner,
    *,
    host: str,
    port: int,
    config: WebConfig,
    log: QuietLog,
    ssl_context: ssl.SSLContext | None,
) -> tuple[asyncio.Server, _Count]:
    """Listen with the connection limit in front of aiohttp's protocol; returns the
    listener and the count of its connections."""
    server = runner.server
    assert server is not None
    # Counted from the moment a connection is accepted: several may be accepted before
    # the first of them reaches aiohttp's own list of connections.
    count = _Count()

    def factory() -> asyncio.BaseProtocol:
        open_now = count.value
        if config.max_connections and open_now >= config.max_connections:
            log.event(
                "http-busy",
                lambda n: (
                    f"maildoctor: refused {n} HTTP connection(s) with 503 in the "
                    f"last second: {open_now} open, the most this server takes "
                    "(--http-max-connections)."
                ),
            )
            return _Busy()
        count.value += 1
        return _CountedHandler(count, server, loop=loop, **server._kwargs)

    loop = asyncio.get_running_loop()
    listener = await loop.create_server(factory, host, port, ssl=ssl_context, backlog=1024)
    return listener, count


class WebServer:
    """A running web app: its runner, its listener and its connections."""

    def __init__(
        self, runner: web.AppRunner, listener: asyncio.Server, connections: _Count, *, tls: bool
    ) -> None:
        self.runner = runner
        self.listener = listener
        self.connections = connections
        self.tls = tls

    @property
    def server(self) -> web.Server | None:
        """aiohttp's connection manager (``.connections`` are the open ones)."""
        return self.runner.server

    async def cleanup(self) -> None:
        """Stop listening, let requests finish (1 s), then drop what is still open: a
        stopped loop must not leave a socket behind (an event stream's unsent bytes)."""
        await close_listener(self.listener)
        await self.runner.cleanup()
        self.connections.abort_all()
        await asyncio.sleep(0)  # their connection_lost callbacks close the sockets


async def start_server(
    app: web.Application,
    *,
    host: str,
    port: int,
    config: WebConfig,
    log: QuietLog,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[WebServer, int]:
    """Serve ``app`` on host:port (0 for a free port); returns the server and the port.
    The one way this project serves HTTP (the harness's web side, ``preview``)."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        listener, connections = await start_site(
            runner, host=host, port=port, config=config, log=log, ssl_context=ssl_context
        )
    except BaseException:
        await runner.cleanup()
        raise
    server = WebServer(runner, listener, connections, tls=ssl_context is not None)
    return server, int(listener.sockets[0].getsockname()[1])
