"""A page's words in both languages, from the data files.

``GET /api/words/{page}`` is the JSON (``{"ja": {key: text}, "en": {key: text}}``);
``GET /words/{page}.js`` is the same table as the script the page loads before its
own (``const WORDS = {...}``), so that the page has its words before it runs and
switching the language needs no request. The desk, the harness and the preview pages
carry no table of their own: a sentence lives in ``data/page_words.toml`` (or in
``data/words.toml`` when the CLI says it too), once.
"""

from __future__ import annotations

import json

from aiohttp import web

from maildoctor.web.http import json_response
from maildoctor.words import page_words, pages


def _words(request: web.Request) -> dict[str, dict[str, str]]:
    page = request.match_info["page"]
    if page not in pages():
        raise web.HTTPNotFound(reason=f"There are no words for a page called {page!r}.")
    return page_words(page)


async def get_words(request: web.Request) -> web.Response:
    """``GET /api/words/{page}``: the page's words, by language."""
    return json_response(_words(request))


async def get_words_script(request: web.Request) -> web.Response:
    """``GET /words/{page}.js``: ``const WORDS = {...};`` for the page's first script."""
    table = json.dumps(_words(request), ensure_ascii=False)
    return web.Response(
        text=f'"use strict";\nconst WORDS = {table};\n',
        content_type="text/javascript",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


#: The routes, one table.
ROUTES = [
    web.get("/api/words/{page}", get_words),
    web.get("/words/{page}.js", get_words_script),
]


def add_routes(app: web.Application) -> None:
    """Register ``/api/words/{page}`` and ``/words/{page}.js``."""
    app.router.add_routes(ROUTES)
