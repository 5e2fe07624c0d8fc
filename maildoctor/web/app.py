"""The web app (aiohttp) in the harness's event loop: one module per page kind.

``messages`` (the harness's list and message views), ``templates_gallery`` (the
template previews), ``signup`` (the sign-up check API, its script and demo form);
each module registers its own routes. A mail's HTML is only
ever served with ``Content-Security-Policy: sandbox; default-src 'none'`` and shown
in an ``<iframe sandbox>``: no script in a mail runs, no remote resource loads.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from maildoctor.harness import server as harness_server
from maildoctor.harness.server import is_loopback
from maildoctor.web import messages, signup, templates_gallery
from maildoctor.web.config import WEB_CONFIG, WebConfig
from maildoctor.web.http import error_response, host_allowed

if TYPE_CHECKING:
    from maildoctor.harness.server import Harness, HarnessThread

__all__ = ["WEB_CONFIG", "make_app", "run_in_thread", "start_web"]


def make_app(harness: Harness, config: WebConfig | None = None) -> web.Application:
    """The aiohttp application for one harness."""
    config = config or WebConfig()

    def public(request: web.Request) -> bool:
        return request.path in config.public_paths

    @web.middleware
    async def check_host(request: web.Request, handler: Any) -> web.StreamResponse:
        # The public check paths hold nothing to steal by DNS rebinding, and are meant
        # to be reached by the site's own name.
        if not public(request) and not host_allowed(
            request.headers.get("Host"), harness.config.http_host
        ):
            return error_response(
                403,
                f"Host {request.headers.get('Host')!r} is not this harness; "
                "open it by 127.0.0.1 or localhost.",
            )
        response: web.StreamResponse = await handler(request)
        return response

    @web.middleware
    async def remote_guard(request: web.Request, handler: Any) -> web.StreamResponse:
        # --allow-remote: other machines get only the public check paths (with
        # --public-check); everything else is for this machine until the desk's
        # login lets them in.
        if config.allow_remote and not public(request) and not is_loopback(request.remote or ""):
            return error_response(
                403,
                "This page needs the support desk's login; from other machines only the "
                "public paths are served (the sign-up check, with --public-check).",
            )
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(
        middlewares=[check_host, remote_guard],
        # A 10 KB query (an essay pasted into the address field) reaches the check API,
        # which answers with a JSON error, instead of aiohttp's plain-text 400 at 8 KB.
        handler_args={"max_line_size": 32 * 1024},
    )
    app[WEB_CONFIG] = config
    assert harness.store is not None
    signup.add_routes(app, harness)  # before messages: its /static/ files get their headers
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


def run_in_thread(db: Path, *, web_config: WebConfig | None = None, **kwargs: Any) -> HarnessThread:
    """:func:`maildoctor.harness.server.run_in_thread` with the web UI and API on.

    ``web_config`` sets what ``maildoctor serve``'s web options set (CORS, the check
    API's DNS and rate limit...). Pass ``http_port=None`` for a harness without them.
    """
    return harness_server.run_in_thread(
        db, web=functools.partial(start_web, config=web_config), **kwargs
    )
