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

import asyncio
import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from maildoctor.harness import server as harness_server
from maildoctor.web import desk, history, messages, signup, templates_gallery
from maildoctor.web.access import Access
from maildoctor.web.config import WEB_CONFIG, WebConfig
from maildoctor.web.desk_run import DeskService
from maildoctor.web.http import MAX_BODY, error_response

if TYPE_CHECKING:
    from maildoctor.harness.server import Harness, HarnessThread

__all__ = ["WEB_CONFIG", "make_app", "run_in_thread", "start_web"]

log = logging.getLogger(__name__)


def make_app(harness: Harness, config: WebConfig | None = None) -> web.Application:
    """The aiohttp application for one harness."""
    config = config or WebConfig()
    access = Access(config, harness.config.http_host)

    @web.middleware
    async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
        """An API error is the contract's JSON body, whatever raised it."""
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as e:
            if not request.path.startswith("/api/") or e.status < 400:
                raise
            return error_response(e.status, e.reason)
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception as e:
            # A bug, not bad input: logged with its traceback, answered in one JSON line.
            log.exception("%s %s failed", request.method, request.path)
            if not request.path.startswith("/api/"):
                raise
            return error_response(500, f"maildoctor failed on this request ({type(e).__name__}).")
        return response

    # client_max_size: the largest upload (a tickets CSV); read_body enforces each route's own.
    app = web.Application(
        middlewares=[access.middleware, json_errors],
        client_max_size=MAX_BODY,
        # A 10 KB query (an essay pasted into the address field) reaches the check API,
        # which answers with a JSON error, instead of aiohttp's plain-text 400 at 8 KB.
        handler_args={"max_line_size": 32 * 1024},
    )
    app[WEB_CONFIG] = config
    assert harness.store is not None
    access.add_routes(app)
    signup.add_routes(app, harness)  # before messages: its /static/ files get their headers
    messages.add_routes(app, harness)
    templates_gallery.add_routes(app, harness)
    service = DeskService(harness, config)
    desk.add_routes(app, harness, service)
    history.add_routes(app, service.history)
    return app


async def start_web(
    harness: Harness, *, host: str, port: int, config: WebConfig | None = None
) -> tuple[web.AppRunner, int]:
    """Serve the app on host:port (0 for a free port); returns the runner and the port."""
    runner = web.AppRunner(make_app(harness, config), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host=host, port=port)
    await site.start()
    server = site._server
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    return runner, sockets[0].getsockname()[1]


def run_in_thread(db: Path, *, web_config: WebConfig | None = None, **kwargs: Any) -> HarnessThread:
    """:func:`maildoctor.harness.server.run_in_thread` with the web UI and API on.

    ``web_config`` sets what ``maildoctor serve``'s web options set (the desk's login,
    DNS and history; the check API's CORS, DNS and rate limit). Pass
    ``http_port=None`` for a harness without them.
    """
    return harness_server.run_in_thread(
        db, web=functools.partial(start_web, config=web_config), **kwargs
    )
