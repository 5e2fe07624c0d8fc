"""The web app (aiohttp) in the harness's event loop: one module per page kind.

``messages`` (the harness's list and message views), ``templates_gallery`` (the
template previews); each module registers its own routes. A mail's HTML is only
ever served with ``Content-Security-Policy: sandbox; default-src 'none'`` and shown
in an ``<iframe sandbox>``: no script in a mail runs, no remote resource loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from maildoctor.harness import server as harness_server
from maildoctor.web import messages, templates_gallery
from maildoctor.web.config import WebConfig
from maildoctor.web.http import error_response, host_allowed

if TYPE_CHECKING:
    from maildoctor.harness.server import Harness, HarnessThread

__all__ = ["WEB_CONFIG", "make_app", "run_in_thread", "start_web"]

#: The app's :class:`WebConfig`, for page modules that need it.
WEB_CONFIG = web.AppKey("web_config", WebConfig)


def make_app(harness: Harness, config: WebConfig | None = None) -> web.Application:
    """The aiohttp application for one harness."""
    config = config or WebConfig()

    @web.middleware
    async def check_host(request: web.Request, handler: Any) -> web.StreamResponse:
        if not host_allowed(request.headers.get("Host"), harness.config.http_host):
            return error_response(
                403,
                f"Host {request.headers.get('Host')!r} is not this harness; "
                "open it by 127.0.0.1 or localhost.",
            )
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[check_host])
    app[WEB_CONFIG] = config
    assert harness.store is not None
    messages.add_routes(app, harness)
    templates_gallery.add_routes(app, harness)
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


def run_in_thread(db: Path, **kwargs: Any) -> HarnessThread:
    """:func:`maildoctor.harness.server.run_in_thread` with the web UI and API on.

    Pass ``http_port=None`` for a harness without them.
    """
    return harness_server.run_in_thread(db, web=start_web, **kwargs)
