"""Who may use the web app: the one place for its access rules.

- Loopback (the default): no login. A foreign ``Host`` is refused (DNS rebinding),
  and a state-changing request from another site's page is refused by its ``Origin``.
- ``--allow-remote --desk-password``: any ``Host`` is served (the server has a name on
  the network, and a rebound name gets no session cookie), but every page and API needs
  the desk's login, from any machine, except the paths in
  :attr:`WebConfig.public_paths` (the hook ``--public-check`` uses; a POST from an
  origin of ``WebConfig.cors_origins`` passes the Origin check). A browser logs in at
  ``/login`` and gets a session cookie (HttpOnly, SameSite=Strict); its POSTs and
  DELETEs must carry the session's CSRF token in ``X-CSRF-Token``. A script sends
  ``Authorization: Bearer PASSWORD`` instead (no cookie, so no CSRF to fear).
- ``--allow-remote`` without a password: other machines get the public paths only;
  this machine gets everything, as on loopback.
- Always: every response forbids framing (``frame-ancestors 'none'``; a mail's HTML
  may be framed by the app's own page only), and ``nosniff``.

The password is kept only as an scrypt hash (:func:`hash_password`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from aiohttp import web

from maildoctor.harness.server import is_loopback
from maildoctor.web.config import WebConfig
from maildoctor.web.events import TOKEN_PATHS
from maildoctor.web.http import error_response, host_allowed, read_form

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Access",
    "hash_password",
    "verify_password",
]

SESSION_COOKIE = "maildoctor_session"
CSRF_COOKIE = "maildoctor_csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 1000
WRONG_PASSWORD_PAUSE = 0.5
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The login page and what it needs are always reachable.
_LOGIN_PATHS = frozenset({"/login", "/static/desk.css"})
LOGIN_CSP = (
    "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
#: scrypt cost: 2**14 x 8 (16 MiB, tens of ms): slow to guess, quick enough to log in.
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of a password; the password itself is not kept."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a :func:`hash_password` value (constant-time compare)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=32,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


@dataclass
class _Session:
    csrf: str
    expires: float


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Access:
    """The access rules of one app (sessions live in memory: a restart logs everyone out)."""

    def __init__(self, config: WebConfig, configured_host: str) -> None:
        self.config = config
        self.configured_host = configured_host
        self.login_required = config.allow_remote and config.password_hash is not None
        """With a password every private path needs the login, from any peer (a reverse
        proxy on this machine makes every peer look local). Without one, other machines
        get only the public paths and this machine gets the rest as on loopback."""
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._bearers: set[bytes] = set()
        """SHA-256 of bearer passwords already verified (skip scrypt on each API call)."""
        self._guess_lock = asyncio.Lock()
        """One password check at a time, each wrong one followed by a pause: guessing
        is slow, and parallel guesses cannot pile up scrypt's memory."""

    # -- the middleware --------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        # POST /api/events carries its own token (web/events.py): webhooks cannot log in.
        public = self.is_public(path) or (
            request.method == "POST" and bool(self.config.events_token) and path in TOKEN_PATHS
        )
        # Public paths hold nothing to steal by DNS rebinding and are reached by the
        # site's own name; with a login, a rebound name gets no session cookie.
        if (
            not public
            and not self.login_required
            and not host_allowed(request.headers.get("Host"), self.configured_host)
        ):
            return error_response(
                403,
                f"Host {request.headers.get('Host')!r} is not this harness; "
                "open it by 127.0.0.1 or localhost.",
            )
        if (
            request.method not in _SAFE_METHODS
            and not public
            and request.headers.get("Origin") not in self.config.cors_origins
            and not self._same_origin(request)
        ):
            return error_response(403, "This request came from another site's page; refused.")
        if public or (self.login_required and path in _LOGIN_PATHS):
            return await handler(request)
        if self.config.allow_remote and not self.login_required:
            if not is_loopback(request.remote or ""):
                return error_response(
                    403,
                    "This page needs the support desk's login, and none is set: other "
                    "machines get only the public paths (start serve with --desk-password).",
                )
        elif self.login_required:
            session = self._session(request)
            if session is None and not await self._bearer_ok(request):
                return self._login_needed(request)
            if (
                session is not None
                and request.method not in _SAFE_METHODS
                and not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), session.csrf)
            ):
                return error_response(403, f"Missing or wrong {CSRF_HEADER}; reload the page.")
        return await handler(request)

    def is_public(self, path: str) -> bool:
        """The hook for paths served without login (``WebConfig.public_paths``)."""
        return path in self.config.public_paths

    @staticmethod
    def _same_origin(request: web.Request) -> bool:
        """A browser names the page that sent a POST/DELETE in ``Origin``: it must be us."""
        origin = request.headers.get("Origin")
        if origin is None:
            return request.headers.get("Sec-Fetch-Site", "same-origin") in (
                "same-origin",
                "none",
            )
        if origin == "null":
            return False
        return urlsplit(origin).netloc.lower() == request.headers.get("Host", "").lower()

    def _login_needed(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/api/") or request.method not in _SAFE_METHODS:
            resp = error_response(
                401, "Log in first: open /login, or send 'Authorization: Bearer PASSWORD'."
            )
            resp.headers["WWW-Authenticate"] = 'Bearer realm="maildoctor desk"'
            return resp
        target = request.path_qs
        raise web.HTTPSeeOther(f"/login?next={quote(target, safe='')}")

    # -- sessions --------------------------------------------------------------

    def _session(self, request: web.Request) -> _Session | None:
        key = request.cookies.get(SESSION_COOKIE, "")
        session = self._sessions.get(key)
        if session is None:
            return None
        if session.expires < time.time():
            del self._sessions[key]
            return None
        return session

    async def _bearer_ok(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        key = hashlib.sha256(token.encode()).digest()
        if key in self._bearers:
            return True
        if await self.check_password(token):
            self._bearers.add(key)
            return True
        return False

    async def check_password(self, password: str) -> bool:
        """scrypt off the event loop, one check at a time, a pause after a wrong one."""
        assert self.config.password_hash is not None
        async with self._guess_lock:
            ok = await asyncio.to_thread(verify_password, password, self.config.password_hash)
            if not ok:
                await asyncio.sleep(WRONG_PASSWORD_PAUSE)
        return ok

    def csrf_token(self, request: web.Request) -> str | None:
        session = self._session(request)
        return session.csrf if session else None

    def new_session(self) -> tuple[str, _Session]:
        while len(self._sessions) >= MAX_SESSIONS:
            self._sessions.popitem(last=False)
        key = secrets.token_urlsafe(32)
        session = _Session(csrf=secrets.token_urlsafe(24), expires=time.time() + SESSION_SECONDS)
        self._sessions[key] = session
        return key, session

    # -- the login page ----------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/login", self._login_page)
        app.router.add_post("/login", self._login)
        app.router.add_post("/logout", self._logout)
        app.on_response_prepare.append(_security_headers)

    async def _login_page(self, request: web.Request, error: str = "") -> web.Response:
        nxt = _safe_next(request.query.get("next", "/desk"))
        message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        body = _LOGIN_HTML.format(next=html.escape(nxt), error=message)
        return web.Response(
            text=body,
            content_type="text/html",
            status=401 if error else 200,
            headers={"Content-Security-Policy": LOGIN_CSP},
        )

    async def _login(self, request: web.Request) -> web.StreamResponse:
        if not self.login_required:
            raise web.HTTPSeeOther("/desk")
        form = await read_form(request)
        if isinstance(form, web.Response):
            return form
        password = form.get("password", "")
        nxt = _safe_next(str(form.get("next", "/desk")))
        if not await self.check_password(password):
            return await self._login_page(request, "パスワードが違います。 / Wrong password.")
        key, session = self.new_session()
        resp = web.HTTPSeeOther(nxt)
        secure = request.secure
        resp.set_cookie(
            SESSION_COOKIE, key, httponly=True, samesite="Strict", secure=secure, path="/"
        )
        resp.set_cookie(CSRF_COOKIE, session.csrf, samesite="Strict", secure=secure, path="/")
        raise resp

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        self._sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        resp = web.HTTPSeeOther("/login")
        resp.del_cookie(SESSION_COOKIE, path="/")
        resp.del_cookie(CSRF_COOKIE, path="/")
        raise resp


def _safe_next(target: str) -> str:
    """Only a path on this server (no ``//evil``, no scheme): open redirects are refused.

    Whitespace and control characters are refused too: URL parsers (yarl, browsers)
    drop a tab or newline, so ``/\t/evil`` would become ``//evil``."""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(c.isspace() or not c.isprintable() for c in target)
    ):
        return "/desk"
    return target


#: Framing is refused everywhere (clickjacking); a mail's HTML is framed by our own page.
FRAME_NONE = "frame-ancestors 'none'"


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    csp = response.headers.getall("Content-Security-Policy", [])
    if not any("frame-ancestors" in value for value in csp):
        response.headers.add("Content-Security-Policy", FRAME_NONE)
    if "X-Frame-Options" not in response.headers:
        framed = any("frame-ancestors 'self'" in value for value in csp)
        response.headers["X-Frame-Options"] = "SAMEORIGIN" if framed else "DENY"
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")


_LOGIN_HTML = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ログイン - maildoctor サポートデスク</title>
<link rel="stylesheet" href="/static/desk.css"></head>
<body class="login"><main>
<h1>maildoctor サポートデスク</h1>
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<label for="password">パスワード / Password</label>
<input id="password" name="password" type="password"
 autocomplete="current-password" required autofocus>
<button type="submit">ログイン / Log in</button>
{error}
</form></main></body></html>
"""
