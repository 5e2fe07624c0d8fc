"""The live template preview: ``/preview`` and its JSON twin ``/api/preview``.

Served by ``maildoctor preview`` on its own and by ``serve`` (the Templates tab
links to it). Every view comes from :func:`maildoctor.mail.preview.preview`; the
page only lays it out. ``/api/preview/events`` is a server-sent event stream that
says ``change`` when a file in the templates folder changes, and the page reloads
what it shows.

The folder is watched by polling file mtimes and sizes every half second in a
worker thread, one watcher per app whatever the number of open pages: a templates
folder holds a few dozen files, so a scan costs microseconds, and polling works
where inotify does not (network mounts, Docker bind mounts from macOS, editors
that replace files by renaming); watchfiles would add a compiled dependency for
no gain at that size. The scan is bounded (:data:`MAX_FILES`), and so are the open
event streams (:data:`MAX_LISTENERS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from maildoctor.errors import BadInput
from maildoctor.findings import Lang
from maildoctor.harness.guard import QuietLog
from maildoctor.web import words
from maildoctor.web.config import WebConfig
from maildoctor.web.errors import json_errors
from maildoctor.web.http import error_response, json_response, mail_html_response, query_lang
from maildoctor.web.serving import WebServer, start_server
from maildoctor.words import words as server_words

__all__ = ["MAX_FILES", "MAX_LISTENERS", "POLL_SECONDS", "TemplateWatcher", "add_routes"]

STATIC = Path(__file__).parent / "static"
POLL_SECONDS = 0.5
MAX_FILES = 5000
MAX_LISTENERS = 64
HEARTBEAT_SECONDS = 15.0

Snapshot = dict[str, tuple[int, int]]


def snapshot(folder: Path) -> Snapshot:
    """(mtime_ns, size) of every file under ``folder``, at most :data:`MAX_FILES`."""
    found: Snapshot = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith(".") or name.endswith(("~", ".swp")):
                continue
            path = os.path.join(root, name)
            with contextlib.suppress(OSError):  # deleted between listing and stat
                st = os.stat(path)
                found[os.path.relpath(path, folder)] = (st.st_mtime_ns, st.st_size)
            if len(found) >= MAX_FILES:
                return found
    return found


class TemplateWatcher:
    """Polls a templates folder and wakes every listener when it changes."""

    def __init__(self, folder: Path, interval: float = POLL_SECONDS) -> None:
        self.folder = folder
        self.interval = interval
        self.version = 0
        self.changed: list[str] = []
        self._listeners: set[asyncio.Queue[int]] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        # The first snapshot is taken here, before the server answers anyone: a page
        # that connects and then sees a save must never have that save in the baseline.
        before = snapshot(self.folder)
        self._task = asyncio.get_running_loop().create_task(self._run(before))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, before: Snapshot) -> None:
        while True:
            await asyncio.sleep(self.interval)
            now = await asyncio.to_thread(snapshot, self.folder)
            if now != before:
                self.changed = sorted(
                    k for k in now.keys() | before.keys() if now.get(k) != before.get(k)
                )
                before = now
                self.version += 1
                for queue in self._listeners:
                    if queue.empty():  # a slow page gets one wake-up, not a backlog
                        queue.put_nowait(self.version)

    def listen(self) -> asyncio.Queue[int] | None:
        """A queue woken on each change; None when :data:`MAX_LISTENERS` are open."""
        if len(self._listeners) >= MAX_LISTENERS:
            return None
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        self._listeners.add(queue)
        return queue

    def forget(self, queue: asyncio.Queue[int]) -> None:
        self._listeners.discard(queue)


WATCHERS: web.AppKey[dict[str, TemplateWatcher]] = web.AppKey("preview_watchers", dict)


#: Seconds a carrier display (a DNS audit of the From domain) is reused across reloads.
DISPLAY_TTL = 60.0


def add_routes(
    app: web.Application,
    folder_of: Callable[[], Path],
    overrides: Mapping[str, Any] | None = None,
    display: Callable[[str], Any] | None = None,
) -> None:
    """Register the preview page, its API and its event stream.

    ``folder_of`` gives the templates folder (resolved when the app starts);
    ``overrides`` are the ``--context`` / ``--var`` values every render uses;
    ``display`` audits a From domain for the carrier display (blocking: run in a
    thread, reused for :data:`DISPLAY_TTL` seconds), None when it is not asked for.
    """
    values = dict(overrides or {})
    shown: dict[str, tuple[float, dict[str, Any]]] = {}

    async def carrier_display(lang: Lang) -> dict[str, Any]:
        from maildoctor.mail.mime import FROM_ADDRESS

        if display is None:
            return {"ran": False, "why": server_words("preview_display", lang)["not_asked"]}
        domain = FROM_ADDRESS.domain
        now = asyncio.get_running_loop().time()
        if domain not in shown or now - shown[domain][0] > DISPLAY_TTL:
            result = await asyncio.to_thread(display, domain)
            shown[domain] = (now, result.to_dict())
        return shown[domain][1]

    app[WATCHERS] = {}

    async def start_watcher(app: web.Application) -> None:
        watcher = TemplateWatcher(folder_of())
        watcher.start()
        app[WATCHERS]["templates"] = watcher

    async def stop_watcher(app: web.Application) -> None:
        for watcher in app[WATCHERS].values():
            await watcher.stop()

    app.on_startup.append(start_watcher)
    app.on_cleanup.append(stop_watcher)

    def watcher() -> TemplateWatcher:
        return app[WATCHERS]["templates"]

    async def page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "preview.html")

    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["file"]
        if name not in ("preview.js", "preview.css", "common.js"):
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC / name)

    async def listing(request: web.Request) -> web.Response:
        from maildoctor.mail.preview import preview_catalog
        from maildoctor.mail.templating import TemplatingError

        folder = folder_of()
        try:
            templates = await asyncio.to_thread(preview_catalog, folder)
        except TemplatingError as e:  # a broken template.toml: said, and fixed by a save
            return json_response(
                {
                    "templates_dir": str(folder),
                    "templates": [],
                    "error": str(e),
                    "version": watcher().version,
                }
            )
        except OSError as e:
            return error_response(503, f"The templates folder could not be read: {e}.")
        return json_response(
            {
                "templates_dir": str(folder),
                "templates": templates,
                "error": None,
                "version": watcher().version,
            }
        )

    async def _preview(request: web.Request) -> Any:
        from maildoctor.mail.preview import preview
        from maildoctor.mail.templating import TemplatingError, UnknownTemplate

        name = request.match_info["name"]
        variant = request.query.get("variant") or None
        if not (name.isprintable() and (variant or "").isprintable()) or "/" in name:
            # A NUL or a control character names no file: not a template.
            return error_response(404, f"There is no template named {name[:100]!r}.")
        try:
            return await asyncio.to_thread(
                preview, name, folder_of(), variant=variant, overrides=values
            )
        except UnknownTemplate as e:
            return error_response(404, str(e))
        except TemplatingError as e:  # a broken template.toml
            return error_response(422, str(e))

    async def one(request: web.Request) -> web.Response:
        try:  # the standalone preview app has no BadInput middleware: said here
            lang = query_lang(request)
        except BadInput as e:
            return error_response(400, str(e))
        result = await _preview(request)
        if isinstance(result, web.Response):
            return result
        document = {**result.to_dict(lang), "version": watcher().version}
        document["carrier_display"] = await carrier_display(lang)
        return json_response(document)

    async def html(request: web.Request) -> web.Response:
        from maildoctor.mail.preview import dark_html

        result = await _preview(request)
        if isinstance(result, web.Response):
            return result
        if result.error is not None:
            return error_response(422, result.error.message)
        dark = request.query.get("mode") == "dark"
        return mail_html_response(dark_html(result.html) if dark else result.html)

    async def events(request: web.Request) -> web.StreamResponse:
        queue = watcher().listen()
        if queue is None:
            return error_response(503, "Too many preview pages are listening; close some.")
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        try:
            await response.prepare(request)
            await response.write(
                f"retry: 1000\nevent: hello\ndata: {watcher().version}\n\n".encode()
            )
            while True:
                try:
                    version = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                data = json.dumps({"version": version, "changed": watcher().changed[:50]})
                await response.write(f"event: change\ndata: {data}\n\n".encode())
        except ConnectionResetError:
            pass
        finally:
            watcher().forget(queue)
        return response

    app.router.add_get("/preview", page)
    app.router.add_get("/preview/{file}", asset)
    app.router.add_get("/api/preview", listing)
    app.router.add_get("/api/preview/events", events)
    app.router.add_get("/api/preview/{name}", one)
    app.router.add_get("/api/preview/{name}/html", html)


def make_app(
    folder: Path,
    overrides: Mapping[str, Any] | None = None,
    host: str = "127.0.0.1",
    display: Callable[[str], Any] | None = None,
) -> web.Application:
    """The preview on its own (``maildoctor preview``): the page, its API, the events.

    Only requests naming this server in ``Host`` are answered (a page elsewhere cannot
    rebind its name to 127.0.0.1 and read the templates).
    """
    from maildoctor.web.http import host_allowed

    @web.middleware
    async def same_host(request: web.Request, handler: Any) -> web.StreamResponse:
        if not host_allowed(request.headers.get("Host"), host):
            return error_response(421, "This preview answers only to its own address.")
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[json_errors, same_host])

    async def root(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/preview")

    app.router.add_get("/", root)
    add_routes(app, lambda: folder, overrides, display)
    words.add_routes(app)
    return app


async def start(
    folder: Path,
    *,
    host: str,
    port: int,
    overrides: Mapping[str, Any] | None = None,
    display: Callable[[str], Any] | None = None,
) -> tuple[WebServer, int]:
    """Serve the preview on host:port (0: a free port); returns the server and the port."""
    return await start_server(
        make_app(folder, overrides, host, display),
        host=host,
        port=port,
        config=WebConfig(),
        log=QuietLog(),
    )
