"""The template gallery: each notification template rendered with its sample data."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from maildoctor.mail.decode import body_text, decode_header
from maildoctor.web import preview
from maildoctor.web.http import error_response, json_response, mail_html_response
from maildoctor.web.message_view import lint_json

if TYPE_CHECKING:
    from maildoctor.harness.server import Harness


def add_routes(app: web.Application, harness: Harness) -> None:
    """Register ``/api/templates``, one template's sample and its HTML, and the live
    preview (``/preview``, :mod:`maildoctor.web.preview`) the Templates tab links to."""
    from maildoctor.mail.catalog import folder_of

    preview.add_routes(app, lambda: folder_of(harness.config.templates_dir))

    async def templates(request: web.Request) -> web.Response:
        from maildoctor.mail.templating import TemplatingError

        try:
            data = await asyncio.to_thread(_catalog, harness.config.templates_dir)
        except TemplatingError as e:  # a broken template: say why, as for one template
            return error_response(422, str(e))
        except OSError as e:
            return error_response(503, f"The templates folder could not be read: {e}.")
        return json_response(data)

    async def _sample(name: str, variant: str | None) -> EmailMessage | web.Response:
        from maildoctor.mail.templating import TemplatingError, UnknownTemplate

        if not (name.isprintable() and (variant or "").isprintable()) or "/" in name:
            # A NUL or a control character names no file: not a template (was a 500).
            return error_response(404, f"There is no template named {name!r}.")
        try:
            return await asyncio.to_thread(_render_sample, harness, name, variant)
        except UnknownTemplate as e:
            return error_response(404, str(e))
        except TemplatingError as e:  # a broken template: say why, as the CLI does
            return error_response(422, str(e))

    async def template(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        variant = request.query.get("variant") or None
        msg = await _sample(name, variant)
        if isinstance(msg, web.Response):
            return msg
        return json_response(
            {
                "name": name,
                "variant": variant,
                "subject": decode_header(msg["Subject"]),
                "from": decode_header(msg["From"]),
                "to": decode_header(msg["To"]),
                "text": body_text(msg, "plain"),
                "lint": lint_json(msg),
            }
        )

    async def template_html(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        variant = request.query.get("variant") or None
        msg = await _sample(name, variant)
        if isinstance(msg, web.Response):
            return msg
        return mail_html_response(body_text(msg, "html") or "")

    app.router.add_get("/api/templates", templates)
    app.router.add_get("/api/templates/{name}", template)
    app.router.add_get("/api/templates/{name}/html", template_html)


SAMPLE_TO = "taro.yamada@example.com"


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
