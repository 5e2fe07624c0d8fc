"""The desk's history: every diagnosis, newest first, searchable by address.

``GET /api/diagnoses?q=`` (a JSON list, newest first, ``X-Total-Count``; ``q`` is
part of an address), ``GET /api/diagnoses/{id}`` (one entry with the whole
diagnosis). The page is the desk's history tab; ``/desk/history/{id}`` is the
permalink of one entry (served by :mod:`maildoctor.web.desk`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from maildoctor.diagnose.history import History, HistoryError
from maildoctor.web.http import error_response, json_response, page_params, path_id


def permalink(entry_id: int) -> str:
    return f"/desk/history/{entry_id}"


def add_routes(app: web.Application, history: History) -> None:
    """Register ``/api/diagnoses`` and ``/api/diagnoses/{id}``."""

    async def list_entries(request: web.Request) -> web.Response:
        page = page_params(request, limit=50, most=1000)
        if isinstance(page, web.Response):
            return page
        limit, offset = page
        query = request.query.get("q", "")
        if len(query) > 500:
            return error_response(400, "The search text is longer than 500 characters.")
        try:
            entries = await asyncio.to_thread(history.search, query, limit=limit, offset=offset)
            total = await asyncio.to_thread(history.count, query)
        except HistoryError as e:
            return error_response(503, str(e))
        items: list[dict[str, Any]] = [
            {**e.summary(), "permalink": permalink(e.id)} for e in entries
        ]
        resp = json_response(items)
        resp.headers["X-Total-Count"] = str(total)
        return resp

    async def get_entry(request: web.Request) -> web.Response:
        entry_id = path_id(request, "History")
        if isinstance(entry_id, web.Response):
            return entry_id
        try:
            entry = await asyncio.to_thread(history.get, entry_id)
        except HistoryError as e:
            return error_response(503, str(e))
        if entry is None:
            return error_response(
                404, f"There is no diagnosis {entry_id} (it may be past the retention limit)."
            )
        return json_response({**entry.to_dict(), "permalink": permalink(entry.id)})

    app.router.add_get("/api/diagnoses", list_entries)
    app.router.add_get("/api/diagnoses/{id}", get_entry)
