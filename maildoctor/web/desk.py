"""The support desk page and its JSON twins: diagnose one address, find addresses.

``GET /desk`` (the page; Japanese first, English one switch away), ``POST
/api/diagnose`` (``{"address", "ticket", "lang", "agent", "ticket_id", "replace"}`` →
the diagnose JSON plus the reply draft, the advice texts, evidence links, the
summary's ``verdict_state``/``verdict_label``/``cause`` and the history id; ``replace``
redoes a stored diagnosis, in another language, under the same id), ``GET /api/tickets``
(the ticket types), ``POST /api/addresses`` (the addresses in a pasted ticket text or
list, or in an uploaded CSV in UTF-8 or CP932: what the batch runs through
``/api/diagnose`` one by one, so that the page can show its progress).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from maildoctor.address.intake import UploadError, decode_upload, find_addresses, read_list
from maildoctor.diagnose.history import MAX_TEAM_FIELD, HistoryError
from maildoctor.tickets import TICKETS, UnknownTicket, ticket
from maildoctor.web.desk_run import DeskService, Team, TrialFailed
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

    async def diagnose(request: web.Request) -> web.Response:
        data = await read_json_object(request)
        if isinstance(data, web.Response):
            return data
        parsed = _diagnose_input(data)
        if isinstance(parsed, web.Response):
            return parsed
        address, kind, lang = parsed
        team = _team_input(data)
        if isinstance(team, web.Response):
            return team
        try:
            result = await service.diagnose(address, kind, lang, team=team)
        except TrialFailed as e:
            return error_response(503, str(e))
        except HistoryError as e:
            return error_response(503, str(e))
        return json_response(result)

    async def addresses(request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            data = await read_json_object(request, limit=5 * 1024 * 1024)
            if isinstance(data, web.Response):
                return data
            text = data.get("text")
            if not isinstance(text, str):
                return error_response(400, 'Send {"text": "..."}: the ticket text or the list.')
            encoding = "utf-8"
        elif request.content_type in ("text/csv", "text/plain", "application/octet-stream"):
            body = await read_body(request)
            if isinstance(body, web.Response):
                return body
            try:
                text, encoding = decode_upload(body)
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
        rows: list[dict[str, Any]]
        if mode == "text":
            rows = [{"address": a} for a in find_addresses(text)]
        else:
            try:
                rows = [r for r in read_list(text) if r["address"].strip()]
            except csv.Error as e:
                return error_response(400, f"The list cannot be read as CSV: {e}.")
        if len(rows) > MAX_ROWS:
            return error_response(413, f"{len(rows)} rows is more than {MAX_ROWS}; split the list.")
        return json_response({"encoding": encoding, "count": len(rows), "rows": rows})

    app.router.add_get("/desk", page)
    app.router.add_get("/desk/history/{id}", page)
    app.router.add_get("/api/tickets", tickets)
    app.router.add_post("/api/diagnose", diagnose)
    app.router.add_post("/api/addresses", addresses)


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
    replace = data.get("replace")
    if replace is not None and (type(replace) is not int or replace < 1):
        return error_response(400, '"replace" is the history id of the diagnosis it redoes.')
    return Team(agent=texts["agent"], ticket_id=texts["ticket_id"], replace=replace)


def _diagnose_input(data: dict[str, Any]) -> tuple[str, Any, Any] | web.Response:
    """(address, ticket, lang) from the request, or the JSON error that says what is wrong."""
    address = data.get("address")
    if not isinstance(address, str):
        return error_response(400, 'Give the customer\'s address as "address" (a string).')
    if not address.strip():
        return error_response(400, "The address is empty; paste the customer's address.")
    if len(address) > MAX_ADDRESS:
        return error_response(
            400, f"The address is {len(address)} characters long; give only the address."
        )
    raw_ticket = data.get("ticket")
    if raw_ticket is not None and not isinstance(raw_ticket, str):
        return error_response(400, '"ticket" must be a ticket type id (a string).')
    try:
        kind = ticket(raw_ticket)
    except UnknownTicket as e:
        return error_response(400, str(e))
    lang = data.get("lang", "ja")
    if lang not in ("ja", "en"):
        return error_response(400, f'"lang" is "ja" or "en", not {lang!r}.')
    return address.strip("\r\n"), kind, lang
