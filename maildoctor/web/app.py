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
import errno
import functools
import logging
import secrets
import ssl
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from maildoctor.errors import BadInput, CouldNotRun, DnsUntrusted, MaildoctorError, by_kind
from maildoctor.harness import server as harness_server
from maildoctor.mail.templating import TemplatingError, UnknownTemplate
from maildoctor.web import desk, events, history, messages, signup, templates_gallery, words
from maildoctor.web.access import Access
from maildoctor.web.config import WEB_CONFIG, WebConfig
from maildoctor.web.desk_run import DeskService
from maildoctor.web.http import MAX_BODY, error_response, json_response
from maildoctor.web.serving import (
    BodyTimeout,
    WebServer,
    body_deadline,
    quiet_server_logger,
    start_server,
    tls_context,
)

if TYPE_CHECKING:
    from maildoctor.harness.server import Harness, HarnessThread

__all__ = ["WEB_CONFIG", "make_app", "run_in_thread", "start_web"]

log = logging.getLogger(__name__)


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every error is a JSON answer: an API's HTTP error in the contract's body, a
    body that came too slowly 408, and a bug 500 with an id and one log line."""
    try:
        response: web.StreamResponse = await handler(request)
    except MaildoctorError as e:  # a handler raised: the one place it becomes a status
        return error_response(http_status(e), str(e))
    except web.HTTPException as e:
        if not request.path.startswith("/api/") or e.status < 400:
            raise
        return error_response(e.status, e.reason)
    except BodyTimeout as e:
        response = error_response(408, str(e))
        response.force_close()
        return response
    except (asyncio.CancelledError, ConnectionError):
        raise
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:  # aiohttp's static files do not catch it
            return error_response(404, "There is no such file (the name is too long).")
        return unexpected_error(request, e)
    except Exception as e:
        return unexpected_error(request, e)
    return response


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


#: The one place a kind of failure becomes an HTTP status (maildoctor.errors).
HTTP_STATUS: dict[type[MaildoctorError], int] = {
    BadInput: 400,
    UnknownTemplate: 404,
    TemplatingError: 422,  # a broken template: the request was fine, the template is not
    DnsUntrusted: 503,
    CouldNotRun: 503,  # StoreFailure (HistoryError, StoreError...), TrialFailed
}


def http_status(error: MaildoctorError) -> int:
    """The status of a failure a handler raised: its kind's, the nearest in its ancestry."""
    return by_kind(error, HTTP_STATUS, 500)


def unexpected_error(request: web.Request, error: BaseException) -> web.Response:
    """A bug, not bad input: one log line (with where it happened) and a JSON 500 whose id
    finds that line; the traceback goes with it only when asked (``-X dev``)."""
    error_id = secrets.token_hex(4)
    where = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    at = f" at {Path(where[0].filename).name}:{where[0].lineno}" if where else ""
    log.error(
        "error %s: %s %s failed: %s: %s%s",
        error_id,
        request.method,
        request.path[:200],
        type(error).__name__,
        str(error)[:200],
        at,
        exc_info=error if sys.flags.dev_mode else None,
    )
    return json_response(
        {
            "error": f"maildoctor failed on this request ({type(error).__name__}); "
            f"the server's log says more under error {error_id}.",
            "error_id": error_id,
        },
        status=500,
    )


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
