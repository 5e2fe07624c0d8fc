"""The web app (aiohttp) in the harness's event loop: one module per page kind.

``messages`` (the harness's list and message views), ``templates_gallery`` (the
template previews), ``desk`` (the support desk and ``/api/diagnose``), ``history``
(the desk's stored diagnoses), ``signup`` (the sign-up check API, its script and demo
form); each module registers its own routes. Who may use them is decided in one
place, :mod:`maildoctor.web.access`. A mail's HTML is only
ever served with ``Content-Security-Policy: sandbox; default-src 'none'`` and shown
in an ``<iframe sandbox>``: no script in a mail runs, no remote resource loads.
"""

from __future__ import annotations

import functools
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from maildoctor.harness import server as harness_server
from maildoctor.web import desk, events, history, messages, signup, templates_gallery, words
from maildoctor.web.access import Access
from maildoctor.web.config import WEB_CONFIG, WebConfig
from maildoctor.web.desk_run import DeskService
from maildoctor.web.errors import json_errors
from maildoctor.web.http import MAX_BODY
from maildoctor.web.serving import (
    WebServer,
    body_deadline,
    quiet_server_logger,
    start_server,
    tls_context,
)

if TYPE_CHECKING:
    from maildoctor.harness.server import Harness, HarnessThread

__all__ = ["WEB_CONFIG", "make_app", "run_in_thread", "start_web"]


def make_app(harness: Harness, config: WebConfig | None = None) -> web.Application:
    """The aiohttp application for one harness."""
    config = config or WebConfig()
    access = Access(
        config,
        harness.config.http_host,
        sessions_path=config.sessions_db or harness.config.db.parent / "desk-sessions.sqlite3",
        log=harness.log,
    )

    # client_max_size: the largest upload (a tickets CSV); read_body enforces each route's own.
    app = web.Application(
        middlewares=[
            json_errors,
            body_deadline(config.body_timeout, harness.log),
            access.middleware,
        ],
        client_max_size=MAX_BODY,
        # A 10 KB query (an essay pasted into the address field) reaches the check API,
        # which answers with a JSON error, instead of aiohttp's plain-text 400 at 8 KB.
        # The keep-alive timer runs from a connection's start and after each response and
        # closes one still waiting for a whole request: the header timeout (slowloris).
        handler_args={
            "max_line_size": 32 * 1024,
            "keepalive_timeout": config.header_timeout,
            "logger": quiet_server_logger(harness.log),
        },
    )
    app[WEB_CONFIG] = config
    assert harness.store is not None
    access.add_routes(app)
    messages.add_routes(app, harness)
    signup.add_routes(app, harness)  # after messages on purpose: registration order is free
    templates_gallery.add_routes(app, harness)
    service = DeskService(harness, config)
    desk.add_routes(app, harness, service)
    history.add_routes(app, service.history)
    words.add_routes(app)
    events.add_routes(app, harness, config)
    return app


async def start_web(
    harness: Harness, *, host: str, port: int, config: WebConfig | None = None
) -> tuple[WebServer, int]:
    """Serve the app on host:port (0 for a free port); returns the server and the port."""
    config = config or WebConfig()
    context: ssl.SSLContext | None = tls_context(config, harness.config.db.parent)
    return await start_server(
        make_app(harness, config),
        host=host,
        port=port,
        config=config,
        log=harness.log,
        ssl_context=context,
    )


def run_in_thread(db: Path, *, web_config: WebConfig | None = None, **kwargs: Any) -> HarnessThread:
    """:func:`maildoctor.harness.server.run_in_thread` with the web UI and API on.

    ``web_config`` sets what ``maildoctor serve``'s web options set (the desk's login,
    DNS and history; the check API's CORS, DNS and rate limit). Pass
    ``http_port=None`` for a harness without them.
    """
    return harness_server.run_in_thread(
        db, web=functools.partial(start_web, config=web_config), **kwargs
    )
