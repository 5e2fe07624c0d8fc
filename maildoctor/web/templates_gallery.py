"""The template gallery: each notification template rendered with its sample data.

``GET /api/templates`` (the catalog), ``GET /api/templates/{name}`` (one sample:
headers, text, lint; ``?variant=``) and ``GET /api/templates/{name}/html`` (its
HTML under the mail CSP). Handlers raise: an unknown template is 404 and a broken
one 422 (``maildoctor.web.errors.HTTP_STATUS``), an unreadable folder 503.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from maildoctor.errors import CouldNotRun
from maildoctor.mail.decode import body_text, decode_header
from maildoctor.web import preview
from maildoctor.web.http import json_response, mail_html_response, query_lang
from maildoctor.web.message_view import lint_json

if TYPE_CHECKING:
    from maildoctor.harness.server import Harness

#: The harness whose templates folder the handlers read (set by :func:`add_routes`).
HARNESS: web.AppKey[Harness] = web.AppKey("gallery_harness")

SAMPLE_TO = "taro.yamada@example.com"


async def templates(request: web.Request) -> web.Response:
    """``GET /api/templates``: every template with its variants."""
    try:
        data = await asyncio.to_thread(_catalog, request.app[HARNESS].config.templates_dir)
    except OSError as e:
        raise CouldNotRun(f"The templates folder could not be read: {e}.") from e
    return json_response(data)


async def template(request: web.Request) -> web.Response:
    """``GET /api/templates/{name}``: the sample's headers, text part and lint."""
    name, variant, msg = await _sample(request)
    return json_response(
        {
            "name": name,
            "variant": variant,
            "subject": decode_header(msg["Subject"]),
            "from": decode_header(msg["From"]),
            "to": decode_header(msg["To"]),
            "text": body_text(msg, "plain"),
            "lint": lint_json(msg, query_lang(request)),
        }
    )


async def template_html(request: web.Request) -> web.Response:
    """``GET /api/templates/{name}/html``: the sample's HTML part, sandboxed."""
    _, _, msg = await _sample(request)
    return mail_html_response(body_text(msg, "html") or "")


#: The routes, one table.
ROUTES = [
    web.get("/api/templates", templates),
    web.get("/api/templates/{name}", template),
    web.get("/api/templates/{name}/html", template_html),
]


def add_routes(app: web.Application, harness: Harness) -> None:
    """Register the gallery's routes over ``harness``, and the live preview (``/preview``,
    :mod:`maildoctor.web.preview`) the Templates tab links to."""
    from maildoctor.mail.catalog import folder_of

    app[HARNESS] = harness
    preview.add_routes(app, lambda: folder_of(harness.config.templates_dir))
    app.router.add_routes(ROUTES)


async def _sample(request: web.Request) -> tuple[str, str | None, EmailMessage]:
    from maildoctor.mail.templating import UnknownTemplate

    name = request.match_info["name"]
    variant = request.query.get("variant") or None
    if not (name.isprintable() and (variant or "").isprintable()) or "/" in name:
        # A NUL or a control character names no file: not a template (was a 500).
        raise UnknownTemplate(f"There is no template named {name!r}.")
    harness = request.app[HARNESS]
    return name, variant, await asyncio.to_thread(_render_sample, harness, name, variant)


def _catalog(templates_dir: Path | None) -> list[dict[str, Any]]:
    from maildoctor.mail.render import catalog

    return [
        {
            "name": info.name,
            "subject": info.subject,
            "description": info.description,
            "variants": [{"name": v.name, "description": v.description} for v in info.variants],
        }
        for info in catalog(templates_dir).values()
    ]


def _render_sample(harness: Harness, name: str, variant: str | None) -> EmailMessage:
    from maildoctor.mail.render import render_message

    return render_message(
        name, to=SAMPLE_TO, variant=variant, templates_dir=harness.config.templates_dir
    )
