"""The harness's message pages and API: the list, one message, raw, HTML, live events.

Contract API: ``GET /api/messages`` (a JSON list, newest first, ``X-Total-Count`` the
total for paging with ``limit``/``offset``; ``?q=`` is a search in the language of
:mod:`maildoctor.harness.query`, over the subject, addresses, decisions and body text;
``?trials=0`` hides the delivery trials of the desk and ``diagnose``. A search counts
at most 10,000 matches: ``X-Total-Exact: 0`` says the total is "at least" that.
``X-Searched-Newest: N`` says only the newest N messages were searched, for a word
too short for the index, under 3 characters, with no longer word beside it),
``GET /api/messages/{id}`` (headers, parts, decisions, lint findings, and
``authentication``: the harness's DKIM/SPF/DMARC results, null when it did not verify),
``GET /api/messages/{id}/raw`` (the bytes as received), ``DELETE /api/messages``,
``DELETE /api/messages/{id}``. ``/messages/{id}`` is the page with that message open
(the deep link a diagnosis' evidence points at).
Also: ``/api/messages/{id}/html`` (a mail's HTML for the sandboxed iframe) and
``/api/events`` (server-sent events so the list updates without reload), and
``GET /api/harness``: where the harness takes mail (``smtp``, ``HOST:PORT``) and
``send_command``, the ``maildoctor send`` line that gives it a first message (what the
page's empty state shows).
"""

from __future__ import annotations

import asyncio
import json
import shlex
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from maildoctor.errors import MaildoctorError
from maildoctor.harness.defaults import DEFAULT_SMTP
from maildoctor.harness.query import QueryError
from maildoctor.harness.store import IndexWriteError, StoreError
from maildoctor.web.http import (
    RAW_CSP,
    UI_CSP,
    error_response,
    json_response,
    mail_html_response,
    page_params,
    path_id,
    query_lang,
)
from maildoctor.web.message_view import html_of, message_detail

if TYPE_CHECKING:
    from maildoctor.harness.server import Harness

STATIC = Path(__file__).parent / "static"


#: Events waiting for one ``/api/events`` client. One that stops reading gets no more
#: until it catches up (memory stays bounded); the page refetches the whole list on
#: any event, so the next one it reads brings it up to date.
MAX_PENDING_EVENTS = 100


def offer(listeners: set[asyncio.Queue[str | None]], event: str) -> None:
    """Queue ``event`` for every listener that has room for it."""
    for q in listeners:
        if q.qsize() < MAX_PENDING_EVENTS:
            q.put_nowait(event)


#: The template the first-message command sends, when the folder has it.
FIRST_TEMPLATE = "provisional_registration"


#: A bind on every interface, and the loopback address a client here reaches it at.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}


def connect_host(host: str) -> str:
    """Where a client on this machine reaches a server bound to ``host`` (a wildcard
    bind is reached on loopback)."""
    return _WILDCARDS.get(host, host)


def smtp_text(harness: Harness, seen_as: str | None = None) -> str:
    """``HOST:PORT`` where a reader sends this harness mail: its bound address, or for a
    bind on every interface the host the reader's browser reached (``seen_as``), else
    loopback."""
    host, port = harness.smtp_address
    host = seen_as if host in _WILDCARDS and seen_as else connect_host(host)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def send_command(harness: Harness, seen_as: str | None = None) -> str:
    """The ``maildoctor send`` line that gives this harness a first message: a template
    its folder has, the harness's SMTP address (:func:`smtp_text`), and the login and
    STARTTLS it asks for (the password left for the reader to fill in). Reads the
    templates folder: call it in a thread."""
    from maildoctor.mail.render import catalog

    config = harness.config
    names = list(catalog(config.templates_dir))
    name = FIRST_TEMPLATE if FIRST_TEMPLATE in names or not names else names[0]
    words = ["maildoctor", "send", name, "--to", "taro@docomo.ne.jp"]
    smtp = smtp_text(harness, seen_as)
    if smtp != DEFAULT_SMTP:
        words += ["--smtp", smtp]
    if config.templates_dir is not None:
        words += ["--templates", str(config.templates_dir)]
    if config.users:
        if config.tls and not config.auth_allow_insecure:
            words.append("--starttls")
        words += ["--user", next(iter(config.users)), "--password", "PASSWORD"]
    return shlex.join(words)


def _unreadable(e: Exception) -> web.Response:
    """A store failure is the harness's (503), never a 500 or an empty answer."""
    return error_response(503, f"The message store cannot be read: {e}")


def add_routes(app: web.Application, harness: Harness) -> None:
    """Register the message pages and API for one harness."""
    listeners: set[asyncio.Queue[str | None]] = set()
    loop = asyncio.get_running_loop()

    def on_store(kind: str, ids: Any) -> None:  # called from the store's writer thread
        event = json.dumps({"kind": kind, "ids": list(ids)})

        loop.call_soon_threadsafe(offer, listeners, event)

    store = harness.store
    assert store is not None
    store.subscribe(on_store)

    async def load(request: web.Request) -> Any:
        mid = path_id(request, "Message")
        if isinstance(mid, web.Response):
            return mid
        try:
            stored = await asyncio.to_thread(store.get, mid)
        except (StoreError, sqlite3.Error) as e:
            return _unreadable(e)
        if stored is None:
            return error_response(
                404, f"There is no message {mid} (it may have been deleted or pruned)."
            )
        return stored

    async def index(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": UI_CSP})

    async def list_messages(request: web.Request) -> web.Response:
        page = page_params(request, limit=200, most=5000)
        if isinstance(page, web.Response):
            return page
        limit, offset = page
        query = request.query.get("q", "").strip()
        if len(query) > 500:
            return error_response(400, "The search text is longer than 500 characters.")
        trials = request.query.get("trials", "1")
        if trials not in ("0", "1"):
            return error_response(
                400, f'"trials" is 0 (hide the desk\'s trials) or 1, not {trials!r}.'
            )
        try:
            found = await asyncio.to_thread(
                store.search, query, limit=limit, offset=offset, trials=trials == "1"
            )
        except QueryError as e:
            return error_response(400, str(e))
        except IndexWriteError as e:
            return error_response(503, f"The search could not index the new messages: {e}")
        except (StoreError, sqlite3.Error) as e:
            return _unreadable(e)
        resp = json_response([m.summary() for m in found.messages])
        resp.headers["X-Total-Count"] = str(found.total)
        resp.headers["X-Total-Exact"] = "1" if found.exact else "0"
        if found.searched is not None:
            resp.headers["X-Searched-Newest"] = str(found.searched)
        return resp

    async def delete_one(request: web.Request) -> web.Response:
        mid = path_id(request, "Message")
        if isinstance(mid, web.Response):
            return mid
        try:
            deleted = await asyncio.to_thread(store.delete, mid)
        except StoreError as e:
            return error_response(503, str(e))
        if not deleted:
            return error_response(
                404, f"There is no message {mid} (it may have been deleted or pruned)."
            )
        on_store("deleted", [mid])
        return json_response({"deleted": 1, "id": mid})

    async def get_message(request: web.Request) -> web.Response:
        stored = await load(request)
        if isinstance(stored, web.Response):
            return stored
        detail = await asyncio.to_thread(
            message_detail, stored, harness.config.authserv_id, query_lang(request)
        )
        return json_response(detail)

    async def get_raw(request: web.Request) -> web.Response:
        stored = await load(request)
        if isinstance(stored, web.Response):
            return stored
        try:
            stored.raw.decode("utf-8")
            ctype = "text/plain; charset=utf-8"
        except UnicodeDecodeError:
            ctype = "application/octet-stream"
        return web.Response(
            body=stored.raw,
            headers={
                "Content-Type": ctype,
                "Content-Security-Policy": RAW_CSP,
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def get_html(request: web.Request) -> web.Response:
        stored = await load(request)
        if isinstance(stored, web.Response):
            return stored
        html = await asyncio.to_thread(html_of, stored.raw)
        return mail_html_response(html)

    async def delete_all(request: web.Request) -> web.Response:
        try:
            deleted = await asyncio.to_thread(store.delete_all)
        except (StoreError, sqlite3.Error) as e:
            return error_response(503, f"The message store cannot be written: {e}")
        return json_response({"deleted": deleted})

    async def events(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        q: asyncio.Queue[str | None] = asyncio.Queue()
        listeners.add(q)
        try:
            await resp.write(b": connected\n\n")
            while True:
                try:
                    event = await asyncio.wait_for(q.get(), timeout=15)
                except TimeoutError:
                    await resp.write(b": keep-alive\n\n")
                    continue
                if event is None:
                    break
                await resp.write(f"data: {event}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            listeners.discard(q)
        return resp

    async def about(request: web.Request) -> web.Response:
        seen_as = request.url.host
        try:
            command = await asyncio.to_thread(send_command, harness, seen_as)
        except (MaildoctorError, OSError) as e:  # a broken templates folder: said, not a 500
            command = ""
            why = str(e)
        else:
            why = ""
        return json_response(
            {
                "smtp": smtp_text(harness, seen_as),
                "send_command": command,
                "send_command_error": why or None,
            }
        )

    async def on_shutdown(app: web.Application) -> None:
        for q in listeners:
            q.put_nowait(None)

    app.router.add_get("/", index)
    app.router.add_get("/messages/{id}", index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/api/messages", list_messages)
    app.router.add_delete("/api/messages", delete_all)
    app.router.add_get("/api/messages/{id}", get_message)
    app.router.add_delete("/api/messages/{id}", delete_one)
    app.router.add_get("/api/messages/{id}/raw", get_raw)
    app.router.add_get("/api/messages/{id}/html", get_html)
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/harness", about)
    app.on_shutdown.append(on_shutdown)
