"""How the web side answers a failure: every error a one-line JSON body, with its status.

The harness's app and ``maildoctor preview`` both put :func:`json_errors` first, so a
handler only raises (a :class:`maildoctor.errors.MaildoctorError`, an aiohttp HTTP
error) and this is the one place it becomes a status and a body.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import secrets
import sys
import traceback
from pathlib import Path
from typing import Any

from aiohttp import web

from maildoctor.errors import BadInput, CouldNotRun, DnsUntrusted, MaildoctorError, by_kind
from maildoctor.mail.templating import TemplatingError, UnknownTemplate
from maildoctor.web.http import error_response, json_response
from maildoctor.web.serving import BodyTimeout

__all__ = ["HTTP_STATUS", "http_status", "json_errors", "unexpected_error"]

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
