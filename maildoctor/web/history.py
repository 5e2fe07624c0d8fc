"""The desk's history: every diagnosis, newest first, searchable by address.

``GET /api/diagnoses?q=&ticket=&verdict=&agent=&from=&to=&lang=`` (a JSON list,
newest first, ``X-Total-Count``; ``q`` is part of an address, an agent's name or a
ticket id; ``from``/``to`` are days, ``2026-12-07``, both included; each entry's
``advice_titles`` in ``lang``), ``GET /api/diagnoses/agents`` (the agents' names, for
the filter), ``GET /api/diagnoses/{id}`` (one entry with the whole diagnosis).
The page is the desk's history tab; ``/desk/history/{id}`` is the
permalink of one entry (served by :mod:`maildoctor.web.desk`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from aiohttp import web

from maildoctor.advice import CATALOG
from maildoctor.diagnose.history import History, HistoryFilter
from maildoctor.errors import BadInput
from maildoctor.tickets import TICKETS
from maildoctor.web.http import error_response, json_response, page_params, path_id, query_lang


def permalink(entry_id: int) -> str:
    return f"/desk/history/{entry_id}"


#: The history this app's handlers read (set by :func:`add_routes`).
HISTORY = web.AppKey("history", History)


async def list_entries(request: web.Request) -> web.Response:
    """``GET /api/diagnoses``: the entries, newest first, filtered; ``X-Total-Count``."""
    history = request.app[HISTORY]
    page = page_params(request, limit=50, most=1000)
    if isinstance(page, web.Response):
        return page
    limit, offset = page
    query = request.query.get("q", "")
    if len(query) > 500:
        raise BadInput("The search text is longer than 500 characters.")
    filters = _filters(request.query)
    lang = query_lang(request)
    # A HistoryError (the store failed) is raised on: app.HTTP_STATUS makes it a 503.
    entries = await asyncio.to_thread(
        history.search, query, limit=limit, offset=offset, filters=filters
    )
    total = await asyncio.to_thread(history.count, query, filters)
    items: list[dict[str, Any]] = [
        {
            **e.summary(),
            "advice_titles": [CATALOG[a].title[lang] for a in e.advice if a in CATALOG],
            "permalink": permalink(e.id),
        }
        for e in entries
    ]
    resp = json_response(items)
    resp.headers["X-Total-Count"] = str(total)
    return resp


async def get_entry(request: web.Request) -> web.Response:
    """``GET /api/diagnoses/{id}``: one entry with the whole diagnosis."""
    entry_id = path_id(request, "History")
    if isinstance(entry_id, web.Response):
        return entry_id
    entry = await asyncio.to_thread(request.app[HISTORY].get, entry_id)
    if entry is None:
        return error_response(
            404, f"There is no diagnosis {entry_id} (it may be past the retention limit)."
        )
    return json_response({**entry.to_dict(), "permalink": permalink(entry.id)})


async def agents(request: web.Request) -> web.Response:
    """``GET /api/diagnoses/agents``: the agents' names, for the filter."""
    return json_response(await asyncio.to_thread(request.app[HISTORY].agents))


#: The routes, one table (``agents`` is a plain path: aiohttp matches it before ``{id}``
#: wherever it is listed).
ROUTES = [
    web.get("/api/diagnoses", list_entries),
    web.get("/api/diagnoses/{id}", get_entry),
    web.get("/api/diagnoses/agents", agents),
]


def add_routes(app: web.Application, history: History) -> None:
    """Register the history's routes over ``history``."""
    app[HISTORY] = history
    app.router.add_routes(ROUTES)


#: The verdicts an entry can have (what the page showed).
_VERDICTS = ("ok", "risky", "undeliverable", "unknown")


def _filters(query: Any) -> HistoryFilter:
    """The list's filters from the query string; BadInput (a 400) names a wrong one."""
    ticket = query.get("ticket", "")
    if ticket and ticket not in TICKETS:
        raise BadInput(f"ticket is one of {', '.join(TICKETS)}, not {ticket!r}.")
    verdict = query.get("verdict", "")
    if verdict and verdict not in _VERDICTS:
        raise BadInput(f"verdict is one of {', '.join(_VERDICTS)}, not {verdict!r}.")
    bounds: list[float | None] = []
    for name, days in (("from", 0), ("to", 1)):
        value = query.get(name, "")
        if not value:
            bounds.append(None)
            continue
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise BadInput(f"{name} is a day such as 2026-12-07, not {value!r}.") from None
        try:
            midnight = dt.datetime.combine(day + dt.timedelta(days=days), dt.time())
            bounds.append(midnight.timestamp())
        except (OverflowError, ValueError, OSError):
            # 0001-01-01 or 9999-12-31: before or after any time a clock gives, no bound
            bounds.append(None)
    agent = query.get("agent", "")
    if len(agent) > 200:
        raise BadInput("agent is longer than 200 characters.")
    return HistoryFilter(
        ticket=ticket, verdict=verdict, agent=agent, since=bounds[0], until=bounds[1]
    )
