"""The support desk page and its JSON twins: diagnose one address, find addresses.

``GET /desk`` (the page; Japanese first, English one switch away), ``POST
/api/diagnose`` (``{"text" or "address", "ticket", "lang"}`` → the diagnose JSON plus
the reply draft, the advice texts, evidence links, the history id, the summary's
``verdict_state``/``verdict_label``/``cause`` (with ``"agent"``, ``"ticket_id"`` kept in
the history, ``"replace"``: the history id a re-diagnosis in the other language
redoes, ``"choose"``: another of the paste's candidate addresses, and ``"tz"``: the
reader's time zone for the times in the sentences, Asia/Tokyo by default) and ``intake``:
what :func:`maildoctor.diagnose.paste.read_paste` read in the pasted text, see
:func:`diagnose_request`), ``GET /api/tickets``
(the ticket types), ``POST /api/addresses`` (the addresses in a pasted ticket text or
list, or in an uploaded CSV in UTF-8 or CP932: what the batch runs through
``/api/diagnose`` one by one, so that the page can show its progress).

Nothing sent stops the server: reading a paste or a list, the check's CPU work and
the draft run in threads, off the event loop that also serves the SMTP harness, and
each request has a time budget (``WebConfig.desk_budget``): past it the answer is a
504 JSON error, never a hang.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from maildoctor.address.intake import (
    UploadError,
    decode_upload,
    find_addresses,
    read_list,
    read_text,
)
from maildoctor.diagnose.history import MAX_TEAM_FIELD
from maildoctor.diagnose.paste import MAX_PASTE, read_paste
from maildoctor.spreadsheet import csv_text, unique_names
from maildoctor.tickets import TICKETS, Ticket, UnknownTicket, ticket
from maildoctor.web.desk_run import DESK_ZONE, DeskService, Team
from maildoctor.web.http import (
    UI_CSP,
    error_response,
    json_response,
    read_body,
    read_json_object,
)

if TYPE_CHECKING:
    from maildoctor.harness.server import Harness

STATIC = Path(__file__).parent / "static"
#: Longer than any address (RFC 5321: 254) with room for a pasted line around it.
MAX_ADDRESS = 1000
#: Rows one batch may hold (each is one diagnosis, about 0.1 s).
MAX_ROWS = 5000
#: The largest ``/api/diagnose`` body: :data:`MAX_PASTE` characters, JSON-escaped.
MAX_DIAGNOSE_BODY = 1024 * 1024
#: The largest ``/api/csv`` body: a full batch with its reply drafts.
MAX_CSV_BODY = 64 * 1024 * 1024

DESK = web.AppKey("desk", DeskService)


def add_routes(app: web.Application, harness: Harness, service: DeskService) -> None:
    """Register the desk page, ``/api/diagnose``, ``/api/tickets`` and ``/api/addresses``."""
    app[DESK] = service

    async def page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "desk.html", headers={"Content-Security-Policy": UI_CSP})

    async def tickets(request: web.Request) -> web.Response:
        return json_response(
            [{"id": t.id, "label": t.label, "says": t.says} for t in TICKETS.values()]
        )

    budget = service.config.desk_budget
    background: set[asyncio.Task[Any]] = set()

    async def within_budget(work: Awaitable[Any], what: str) -> Any:
        """``work``'s result, or a 504 past the budget (the work itself goes on)."""
        task = asyncio.ensure_future(work)
        try:
            return await asyncio.wait_for(asyncio.shield(task), budget)
        except TimeoutError:
            background.add(task)
            task.add_done_callback(_forget(background))
            return error_response(
                504, f"{what} took longer than {budget:g} s; try again in a moment."
            )

    async def diagnose(request: web.Request) -> web.Response:
        data = await read_json_object(request, limit=MAX_DIAGNOSE_BODY)
        if isinstance(data, web.Response):
            return data
        parsed = _diagnose_input(data)
        if isinstance(parsed, web.Response):
            return parsed
        text, kind, lang, field = parsed
        team = _team_input(data)
        if isinstance(team, web.Response):
            return team
        zone = _zone_input(data)
        if isinstance(zone, web.Response):
            return zone
        paste = await within_budget(asyncio.to_thread(read_paste, text), "Reading the text")
        if isinstance(paste, web.Response):
            return paste
        chosen = data.get("choose")
        if chosen is not None:
            # The agent picked another of the paste's candidates for the draft.
            if chosen not in [c.address for c in paste.candidates]:
                return error_response(400, '"choose" is one of intake.candidates\' addresses.')
            paste = replace(paste, address=chosen, reason="chosen", cue="")
        if paste.address is None:
            if field == "text":
                return error_response(
                    422, "No email address was found in the text; paste the customer's address."
                )
            # An "address" with none in it: diagnosed as given, the check says what is wrong.
            paste = replace(paste, kind="address", address=text)
        if len(paste.address) > MAX_ADDRESS:
            # No address is that long (RFC 5321: 254), and checking one is CPU work on
            # the event loop: a clear answer instead.
            return error_response(
                422,
                f"The address in the text is {len(paste.address)} characters long, "
                f"more than any address can be ({MAX_ADDRESS}).",
            )
        kind = kind or ticket(paste.ticket_type)
        # TrialFailed, HistoryError: raised on, a 503 by app.HTTP_STATUS.
        result = await within_budget(
            service.diagnose(paste.address, kind, lang, paste=paste, team=team, zone=zone),
            "The diagnosis",
        )
        if isinstance(result, web.Response):
            return result
        return json_response(result)

    async def addresses(request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            data = await read_json_object(request, limit=5 * 1024 * 1024)
            if isinstance(data, web.Response):
                return data
            sent = data.get("text")
            if not isinstance(sent, str):
                return error_response(400, 'Send {"text": "..."}: the ticket text or the list.')
            text, encoding = sent, "utf-8"
        elif request.content_type in ("text/csv", "text/plain", "application/octet-stream"):
            body = await read_body(request)
            if isinstance(body, web.Response):
                return body
            try:
                text, encoding = await asyncio.to_thread(decode_upload, body)
            except UploadError as e:
                at = f" (byte {e.byte})" if e.byte is not None else ""
                return error_response(
                    400, f"The file is neither UTF-8 nor Shift_JIS (CP932) text{at}."
                )
        else:
            return error_response(
                415,
                'Send JSON {"text": ...} or the file itself as text/csv, '
                f"not {request.content_type!r}.",
            )
        mode = request.query.get("mode", "list")
        if mode not in ("list", "text"):
            return error_response(400, f'mode is "list" or "text", not {mode[:20]!r}.')
        found = await within_budget(asyncio.to_thread(_rows, text, mode), "Reading the list")
        if isinstance(found, web.Response):
            return found
        rows = found["rows"]
        if len(rows) > MAX_ROWS:
            return error_response(413, f"{len(rows)} rows is more than {MAX_ROWS}; split the list.")
        return json_response({"encoding": encoding, "count": len(rows), **found})

    async def batch_csv(request: web.Request) -> web.Response:
        data = await read_json_object(request, limit=MAX_CSV_BODY)
        if isinstance(data, web.Response):
            return data
        made = await within_budget(asyncio.to_thread(_batch_csv, data), "Writing the CSV")
        return made if isinstance(made, web.Response) else json_response({"csv": made})

    app.router.add_get("/desk", page)
    app.router.add_get("/desk/history/{id}", page)
    app.router.add_get("/api/tickets", tickets)
    app.router.add_post("/api/diagnose", diagnose)
    app.router.add_post("/api/addresses", addresses)
    app.router.add_post("/api/csv", batch_csv)


def _forget(tasks: set[asyncio.Task[Any]]) -> Callable[[asyncio.Task[Any]], None]:
    """A done-callback for work that outlived its request: drop it from ``tasks`` and
    take its exception (nobody awaits it any more; the history says what it stored)."""

    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled():
            task.exception()

    return done


def _rows(text: str, mode: str) -> dict[str, Any] | web.Response:
    """The rows of a pasted list or text (run in a thread: a big upload is CPU work), and
    the input's own columns: ``columns`` (its header as given, null for a plain list)
    and ``address_column`` (the header's name for the address, whose value is each
    row's ``address``), so that the batch CSV gives back the input's columns as they were."""
    if mode == "text":
        return {"rows": [{"address": a} for a in find_addresses(text)], "columns": None}
    try:
        rows = [r for r in read_list(text) if r["address"].strip()]
        table = read_text(text)
    except csv.Error as e:
        return error_response(400, f"The list cannot be read as CSV: {e}.")
    if table.header is None:
        return {"rows": rows, "columns": None}
    columns = list(table.header)
    return {"rows": rows, "columns": columns, "address_column": columns[table.column]}


def _batch_csv(data: dict[str, Any]) -> str | web.Response:
    """The batch download: ``{"header": [...], "rows": [[...], ...]}`` as CSV for Excel
    (UTF-8 with a BOM, CRLF lines), every cell formula-safe, the header's names made
    unique (the input's ``ticket`` column and the result's). The body is read by the
    JSON APIs' one reader (a lone surrogate in a name was a 500)."""
    header = data.get("header")
    rows = data.get("rows")
    if not isinstance(header, list) or not isinstance(rows, list):
        return error_response(400, 'Send {"header": [names], "rows": [[cells], ...]}.')
    if len(rows) > MAX_ROWS:
        return error_response(413, f"{len(rows)} rows is more than {MAX_ROWS}; split the list.")
    cells = (str, int, float, bool, type(None))
    if not all(isinstance(n, str) for n in header) or not all(
        isinstance(r, list) and all(isinstance(c, cells) for c in r) for r in rows
    ):
        return error_response(400, "Each name and cell must be a string, a number or null.")
    return "\ufeff" + csv_text(unique_names(header), rows, crlf=True)


def diagnose_request(data: dict[str, Any]) -> tuple[str, Ticket | None, Any, str] | str:
    """(text, ticket or None to take the paste's, lang, "text" or "address") of a
    ``/api/diagnose`` body, or the one-line error.

    ``"text"``: what the agent pasted (the customer's message, a forwarded mail or
    export, a bounce; at most :data:`~maildoctor.diagnose.paste.MAX_PASTE` characters).
    ``"address"``: one address (as before; prose pasted there is read as text too).
    ``"ticket"``: the type the agent chose; without it, the type the text's words
    point to (``intake.ticket_type``). The answer's ``intake`` object is
    :meth:`maildoctor.diagnose.paste.Paste.to_dict`: ``kind`` (address, prose,
    forwarded, bounce), ``address`` (as written: the one diagnosed), ``candidates``
    ([{address, normalized, ours}]), ``chosen_because`` (a sentence in ``lang``),
    ``name``, ``salutation`` (what the draft greets with), ``ticket_type``,
    ``ticket_type_guessed``, ``ticket_cues``, ``mail`` ({from, to, subject, date} or
    null), ``bounce`` (the ``bounce --format json`` objects, or null).
    """
    text = data.get("text")
    field = "text"
    if text is None:
        text, field = data.get("address"), "address"
        if text is None:
            return 'Send the pasted text as "text" (or one address as "address").'
    if not isinstance(text, str):
        return f'"{field}" must be a string.'
    if not text.strip():
        return f"The {field} is empty; paste the customer's message or address."
    most = MAX_PASTE if field == "text" else MAX_ADDRESS
    if len(text) > most:
        return f"The {field} is {len(text)} characters long, more than {most}; " + (
            "paste only the customer's message." if field == "text" else "give only the address."
        )
    raw_ticket = data.get("ticket")
    if raw_ticket is not None and not isinstance(raw_ticket, str):
        return '"ticket" must be a ticket type id (a string).'
    try:
        kind = ticket(raw_ticket) if raw_ticket else None
    except UnknownTicket as e:
        return str(e)
    lang = data.get("lang", "ja")
    if lang not in ("ja", "en"):
        return f'"lang" is "ja" or "en", not {lang!r}.'
    return text.strip("\r\n"), kind, lang, field


def _team_input(data: dict[str, Any]) -> Team | web.Response:
    """The agent's name, the ticket's id and the entry a re-diagnosis replaces."""
    texts = {}
    for name in ("agent", "ticket_id"):
        value = data.get(name, "")
        if not isinstance(value, str):
            return error_response(400, f'"{name}" is free text (a string).')
        if len(value) > MAX_TEAM_FIELD:
            return error_response(400, f'"{name}" is longer than {MAX_TEAM_FIELD} characters.')
        texts[name] = value.strip()
    redo = data.get("replace")
    if redo is not None and (type(redo) is not int or redo < 1):
        return error_response(400, '"replace" is the history id of the diagnosis it redoes.')
    return Team(agent=texts["agent"], ticket_id=texts["ticket_id"], replace=redo)


def _zone_input(data: dict[str, Any]) -> tzinfo | web.Response:
    """The reader's time zone for the times in the answer's sentences: ``"tz"``, an IANA
    name (the page sends the browser's own), else Japan's (:data:`DESK_ZONE`)."""
    name = data.get("tz")
    if name is None:
        return DESK_ZONE
    if isinstance(name, str) and 0 < len(name) <= 64:
        try:
            return ZoneInfo(name)
        except (ValueError, KeyError, OSError):  # not a zone, or a path outside the database
            pass
    return error_response(400, '"tz" is a time zone name such as "Asia/Tokyo".')


def _diagnose_input(data: dict[str, Any]) -> tuple[str, Ticket | None, Any, str] | web.Response:
    parsed = diagnose_request(data)
    return error_response(400, parsed) if isinstance(parsed, str) else parsed
