"""The web UI and JSON API (aiohttp), in the harness's event loop.

Contract API: ``GET /api/messages`` (a JSON list, newest first),
``GET /api/messages/{id}`` (headers, parts, decisions, lint findings, and
``authentication``: the harness's DKIM/SPF/DMARC results, null when it did not verify),
``GET /api/messages/{id}/raw`` (the bytes as received), ``DELETE /api/messages``.
Also: ``/api/messages/{id}/html`` (a mail's HTML for the sandboxed iframe),
``/api/events`` (server-sent events so the list updates without reload), and
``/api/templates`` for the gallery.

A mail's HTML is only ever served with ``Content-Security-Policy: sandbox;
default-src 'none'`` and shown in an ``<iframe sandbox>``: no script in a mail
runs, no remote resource loads.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from email import policy as email_policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from maildoctor.harness.smtp import headers_only

if TYPE_CHECKING:
    from maildoctor.harness.server import Harness

__all__ = [
    "authentication",
    "decode_text",
    "host_allowed",
    "make_app",
    "message_detail",
    "start_web",
]

STATIC = Path(__file__).parent / "static"

#: The UI page: only its own scripts and styles, frames only from itself.
UI_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'"
)
#: A stored message as received: never run or rendered as a page.
RAW_CSP = "sandbox; default-src 'none'"
#: A mail's HTML: a sandboxed unique origin, no scripts, nothing from the network.
MAIL_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "font-src data:; base-uri 'none'; form-action 'none'"
)

# Python codec names for the charsets Japanese mail declares. Shift_JIS mail is in
# practice Windows-31J (NEC specials such as ①), so decode it as cp932.
_CODEC = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "csiso2022jp": "iso2022_jp_ext",
    "euc-jp": "euc_jis_2004",
}
_FALLBACKS = ("utf-8", "cp932", "euc_jis_2004", "iso2022_jp_ext")


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes of a text part as str, whatever Japanese charset it is (or claims to be)."""
    tried = []
    if charset:
        tried.append(_CODEC.get(charset.lower(), charset))
    tried += [c for c in _FALLBACKS if c not in tried]
    for codec in tried:
        try:
            return data.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode(tried[0] if tried else "utf-8", "replace")


def _header_value(value: Any) -> str:
    text = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        # Raw 8-bit header bytes (not RFC 2047): guess the charset like a body's.
        return decode_text(text.encode("utf-8", "surrogateescape"), None)
    return text


def _parts(msg: Message) -> list[dict[str, Any]]:
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        out.append(
            {
                "content_type": part.get_content_type(),
                "charset": part.get_content_charset(),
                "filename": part.get_filename(),
                "transfer_encoding": part.get("Content-Transfer-Encoding"),
                "size": len(payload) if isinstance(payload, bytes) else 0,
            }
        )
    return out


def _body(msg: Message, subtype: str) -> str | None:
    for part in msg.walk():
        if part.get_content_type() == f"text/{subtype}" and not part.get_filename():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return decode_text(payload, part.get_content_charset())
    return None


def _lint(msg: EmailMessage) -> list[dict[str, Any]] | None:
    try:
        from maildoctor.lint import lint_message
    except ImportError:
        return None
    try:
        findings = lint_message(msg)
    except Exception as e:  # a lint bug must not hide the message
        return [{"code": "lint_failed", "severity": "info", "message": str(e), "fix": ""}]
    out = []
    for f in findings:
        data = f.to_dict() if hasattr(f, "to_dict") else dict(vars(f))
        out.append({k: str(v) if k == "severity" else v for k, v in data.items()})
    return out


def authentication(raw: bytes, authserv_id: str) -> dict[str, Any] | None:
    """The harness's own verification results in a stored message, or None.

    The harness puts its ``Authentication-Results`` first when it verifies, after
    removing senders' headers that claim its id (RFC 8601 5); only a first field
    with its id counts. ``{"authserv_id", "header",
    "dkim"|"spf"|"dmarc": {"result", "reason", "header.d"...} or None}``.
    """
    from maildoctor.auth import parse_authentication_results

    first = headers_only(raw[:65536]).get_all("Authentication-Results") or []
    if not first or not raw[:24].lower().startswith(b"authentication-results:"):
        return None
    value = " ".join(str(first[0]).split())
    server, methods = parse_authentication_results(value)
    if server != authserv_id.lower():
        return None
    return {
        "authserv_id": server,
        "header": value,
        **{m: methods.get(m) for m in ("dkim", "spf", "dmarc")},
    }


def message_detail(stored: Any, authserv_id: str = "maildoctor.harness") -> dict[str, Any]:
    """The ``GET /api/messages/{id}`` object for a stored message."""
    msg = BytesParser(policy=email_policy.default).parsebytes(stored.raw)
    # raw_items gives each occurrence of a header; decode each one itself.
    headers = []
    for name, value in msg.raw_items():
        try:
            parsed = email_policy.default.header_fetch_parse(name, value)
            shown = _header_value(parsed)
        except Exception:
            shown = _header_value(value)
        headers.append([name, shown])
    assert isinstance(msg, EmailMessage)
    return {
        **stored.summary(),
        "headers": headers,
        "text": _body(msg, "plain"),
        "html": _body(msg, "html") is not None,
        "parts": _parts(msg),
        "transcript": list(stored.transcript),
        "lint": _lint(msg),
        "raw_text": decode_text(stored.raw, "utf-8"),
        "authentication": authentication(stored.raw, authserv_id),
    }


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, ensure_ascii=False),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status=status)


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


def make_app(harness: Harness) -> web.Application:
    """The aiohttp application for one harness."""

    @web.middleware
    async def check_host(request: web.Request, handler: Any) -> web.StreamResponse:
        if not host_allowed(request.headers.get("Host"), harness.config.http_host):
            return _error(
                403,
                f"Host {request.headers.get('Host')!r} is not this harness; "
                "open it by 127.0.0.1 or localhost.",
            )
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[check_host])
    listeners: set[asyncio.Queue[str | None]] = set()
    loop = asyncio.get_running_loop()

    def on_store(kind: str, ids: Any) -> None:  # called from the store's writer thread
        event = json.dumps({"kind": kind, "ids": list(ids)})

        def fan_out() -> None:
            for q in listeners:
                q.put_nowait(event)

        loop.call_soon_threadsafe(fan_out)

    store = harness.store
    assert store is not None
    store.subscribe(on_store)

    def get_id(request: web.Request) -> int | web.Response:
        try:
            return int(request.match_info["id"])
        except ValueError:
            return _error(400, f"Message ids are numbers, not {request.match_info['id']!r}.")

    async def load(request: web.Request) -> Any:
        mid = get_id(request)
        if isinstance(mid, web.Response):
            return mid
        stored = await asyncio.to_thread(store.get, mid)
        if stored is None:
            return _error(404, f"There is no message {mid} (it may have been deleted or pruned).")
        return stored

    async def index(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": UI_CSP})

    async def list_messages(request: web.Request) -> web.Response:
        try:
            limit = max(min(int(request.query.get("limit", "200")), 5000), 1)
            offset = max(int(request.query.get("offset", "0")), 0)
        except ValueError:
            return _error(400, "limit and offset must be whole numbers.")
        rows = await asyncio.to_thread(store.recent, limit=limit, offset=offset)
        total = await asyncio.to_thread(store.count)
        resp = _json([m.summary() for m in rows])
        resp.headers["X-Total-Count"] = str(total)
        return resp

    async def get_message(request: web.Request) -> web.Response:
        stored = await load(request)
        if isinstance(stored, web.Response):
            return stored
        detail = await asyncio.to_thread(message_detail, stored, harness.config.authserv_id)
        return _json(detail)

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
        html = await asyncio.to_thread(_html_of, stored.raw)
        return _mail_html(html)

    async def delete_all(request: web.Request) -> web.Response:
        return _json({"deleted": await asyncio.to_thread(store.delete_all)})

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

    async def on_shutdown(app: web.Application) -> None:
        for q in listeners:
            q.put_nowait(None)

    async def templates(request: web.Request) -> web.Response:
        try:
            data = await asyncio.to_thread(_catalog, harness.config.templates_dir)
        except Exception as e:
            return _error(500, f"The templates could not be read: {e}")
        return _json(data)

    async def _sample(name: str, variant: str | None) -> EmailMessage | web.Response:
        from maildoctor.templating import TemplatingError, UnknownTemplate

        try:
            return await asyncio.to_thread(_render_sample, harness, name, variant)
        except UnknownTemplate as e:
            return _error(404, str(e))
        except TemplatingError as e:  # a broken template: say why, as the CLI does
            return _error(422, str(e))

    async def template(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        variant = request.query.get("variant") or None
        msg = await _sample(name, variant)
        if isinstance(msg, web.Response):
            return msg
        return _json(
            {
                "name": name,
                "variant": variant,
                "subject": _header_value(msg["Subject"]),
                "from": _header_value(msg["From"]),
                "to": _header_value(msg["To"]),
                "text": _body(msg, "plain"),
                "lint": _lint(msg),
            }
        )

    async def template_html(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        variant = request.query.get("variant") or None
        msg = await _sample(name, variant)
        if isinstance(msg, web.Response):
            return msg
        return _mail_html(_body(msg, "html") or "")

    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/api/messages", list_messages)
    app.router.add_delete("/api/messages", delete_all)
    app.router.add_get("/api/messages/{id}", get_message)
    app.router.add_get("/api/messages/{id}/raw", get_raw)
    app.router.add_get("/api/messages/{id}/html", get_html)
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/templates", templates)
    app.router.add_get("/api/templates/{name}", template)
    app.router.add_get("/api/templates/{name}/html", template_html)
    app.on_shutdown.append(on_shutdown)
    return app


def _html_of(raw: bytes) -> str:
    msg = BytesParser(policy=email_policy.default).parsebytes(raw)
    return _body(msg, "html") or ""


def _mail_html(html: str) -> web.Response:
    return web.Response(
        text=html,
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": MAIL_CSP, "X-Content-Type-Options": "nosniff"},
    )


SAMPLE_TO = "taro.yamada@example.com"


def _catalog(templates_dir: Path | None) -> list[dict[str, Any]]:
    from maildoctor.render import catalog

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
    from maildoctor.render import render_message

    return render_message(
        name, to=SAMPLE_TO, variant=variant, templates_dir=harness.config.templates_dir
    )


async def start_web(harness: Harness, *, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve the app on host:port (0 for a free port); returns the runner and the port."""
    runner = web.AppRunner(make_app(harness), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host=host, port=port)
    await site.start()
    server = site._server
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    return runner, sockets[0].getsockname()[1]
