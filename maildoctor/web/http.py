"""HTTP pieces every page module shares: JSON replies, CSPs, the Host check."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from maildoctor.errors import BadInput
from maildoctor.findings import Lang

#: The UI page: only its own scripts and styles, frames only from itself, framed by none.
UI_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
#: A stored message as received: never run or rendered as a page.
RAW_CSP = "sandbox; default-src 'none'"
#: A mail's HTML: a sandboxed unique origin, no scripts, nothing from the network; only
#: the app's own page may frame it (the message view, the template gallery).
MAIL_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "font-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, ensure_ascii=False),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


#: The largest request body any JSON twin takes (an upload of a tickets CSV included).
MAX_BODY = 5 * 1024 * 1024


def query_lang(request: web.Request) -> Lang:
    """The page's language from ``?lang=`` (Japanese when absent): the JSON twins' words
    follow the page; anything else is a BadInput (a 400)."""
    return lang_of(request.query.get("lang"))


def lang_of(value: object) -> Lang:
    """A request's ``lang`` (query or JSON body; Japanese when absent), or a BadInput."""
    if value is None or value == "ja":
        return "ja"
    if value == "en":
        return "en"
    raise BadInput(f'"lang" is "ja" or "en", not {str(value)[:20]!r}.')


def error_response(status: int, message: str) -> web.Response:
    """The contract's error body: ``{"error": "one full sentence"}``."""
    return json_response({"error": message}, status=status)


def mail_html_response(html: str) -> web.Response:
    return web.Response(
        text=html,
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": MAIL_CSP, "X-Content-Type-Options": "nosniff"},
    )


def host_allowed(host_header: str | None, configured: str) -> bool:
    """Whether a request's Host names this server, not some other site's domain.

    DNS rebinding points an attacker's name at 127.0.0.1 so that their page can
    read the API (captured reset links). Such a request carries their name in
    ``Host``; IP literals, ``localhost`` and the configured host cannot be rebound.
    """
    if not host_header:
        return True  # HTTP/1.0 without Host: not a browser
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    host = host.rstrip(".")
    if host == "localhost" or host.endswith(".localhost") or host == configured.lower():
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


#: SQLite's INTEGER range: a larger id or offset is refused, not an OverflowError.
_SQLITE_INT_MAX = 2**63 - 1


def path_id(request: web.Request, what: str) -> int | web.Response:
    """The ``{id}`` of a URL as a number, or a 400 naming ``what`` ("Message", "History")."""
    raw = request.match_info["id"]
    try:
        value = int(raw)
    except ValueError:
        value = _SQLITE_INT_MAX + 1
    if abs(value) > _SQLITE_INT_MAX:
        return error_response(400, f"{what} ids are numbers, not {raw!r}.")
    return value


def page_params(request: web.Request, *, limit: int, most: int) -> tuple[int, int] | web.Response:
    """``?limit=`` (``limit`` by default, clamped to 1..``most``) and ``?offset=``, or a 400."""
    try:
        wanted = max(min(int(request.query.get("limit", str(limit))), most), 1)
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        return error_response(400, "limit and offset must be whole numbers.")
    if offset > _SQLITE_INT_MAX:
        return error_response(400, f"offset must be at most {_SQLITE_INT_MAX}.")
    return wanted, max(offset, 0)


def _size(limit: int) -> str:
    """``limit`` as people read it: ``16,384 bytes (16 KB)``, ``5,242,880 bytes (5 MB)``."""
    unit = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return f"{limit:,} bytes ({unit})"


async def read_body(request: web.Request, *, limit: int = MAX_BODY) -> bytes | web.Response:
    """The request's body, or the contract's JSON error: 413 beyond ``limit``."""
    too_big = error_response(413, f"The request body is larger than {_size(limit)}; send less.")
    if request.content_length is not None and request.content_length > limit:
        return too_big
    chunks = []
    size = 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            return too_big
        chunks.append(chunk)
    return b"".join(chunks)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_form(request: web.Request) -> dict[str, str] | web.Response:
    """A form's text fields, or a JSON error: 415 for another content type, 400 for a
    body that is not a form in its charset (a broken multipart, UTF-16: no browser
    sends them, and aiohttp's parser raises on them)."""
    if request.content_type not in FORM_TYPES:
        return error_response(415, f"Send a form ({' or '.join(FORM_TYPES)}).")
    try:
        form = await request.post()
    except (ValueError, LookupError, AssertionError, HttpProcessingError) as e:
        # UnicodeDecodeError is a ValueError; a broken multipart part header, InvalidHeader.
        return error_response(400, f"The form could not be read: {type(e).__name__}.")
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def read_json_object(
    request: web.Request, *, limit: int = 64 * 1024
) -> dict[str, Any] | web.Response:
    """A JSON object body, or a JSON error: 415 for another content type, 413 too big,
    400 for what is not one JSON object. The one reader of every JSON API's body (the
    desk's, the sign-up check's), so that one mistake gets one answer everywhere."""
    if request.content_type != "application/json":
        return error_response(
            415,
            f"Send JSON with 'Content-Type: application/json', not {request.content_type!r}.",
        )
    body = await read_body(request, limit=limit)
    if isinstance(body, web.Response):
        return body
    if len(body) > _PARSE_ON_LOOP:  # megabytes of JSON: CPU work, off the event loop
        return await asyncio.to_thread(_json_object, body)
    return _json_object(body)


#: Bodies up to this size are parsed on the event loop (well under a millisecond).
_PARSE_ON_LOOP = 64 * 1024


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_object(body: bytes) -> dict[str, Any] | web.Response:
    """The JSON object in ``body``, or the JSON error saying what is wrong with it."""
    try:  # a BOM (Windows tools write one) is no error; NaN and Infinity are not JSON
        data = json.loads(body.decode("utf-8-sig"), parse_constant=_not_json)
    except UnicodeDecodeError as e:
        return error_response(
            400, f"The body is not valid JSON: it is not UTF-8 text (byte {e.start})."
        )
    except ValueError as e:
        return error_response(400, f"The body is not valid JSON: {e}.")
    except RecursionError:
        return error_response(400, "The body is not valid JSON: it is nested too deeply.")
    try:  # JSON may escape lone surrogates (\ud800), which no UTF-8 text can hold
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:
        return error_response(
            400,
            f"The body holds a control character (U+{ord(e.object[e.start]):04X}): "
            "a lone surrogate, which no UTF-8 text can hold.",
        )
    if not isinstance(data, dict):
        return error_response(400, 'The body must be a JSON object, such as {"address": ...}.')
    return data
