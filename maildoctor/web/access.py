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

The password is kept only as an scrypt hash (:func:`hash_password`). Wrong passwords
are throttled per client address and per account with no lock shared between
clients (:class:`LoginGuard`); sessions live in a table beside the database
(:mod:`maildoctor.web.sessions`), so a restart logs nobody out. Over HTTPS the
cookies are ``Secure`` and every answer carries ``Strict-Transport-Security``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

from aiohttp import web

from maildoctor.harness.guard import FailureThrottle, QuietLog
from maildoctor.harness.server import is_loopback
from maildoctor.web.config import WebConfig
from maildoctor.web.events import TOKEN_PATHS
from maildoctor.web.http import error_response, host_allowed, read_form
from maildoctor.web.ratelimit import client_key
from maildoctor.web.sessions import Session, SessionTable

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
#: The desk's one account (a password, no user names): what the per-account count is under.
DESK_ACCOUNT = "desk"
#: Password checks running at once (scrypt takes 16 MiB each), across all clients.
CHECKS_AT_ONCE = 4
#: Login attempts one client address may have in flight (each wrong one pauses).
ATTEMPTS_PER_CLIENT = 2
#: Seconds a refused attempt (locked out, too many at once) waits for its 429.
REFUSAL_PAUSE = 1.0
HSTS = "max-age=31536000"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The login page and what it needs are always reachable; so are the pages' words (no
#: secret), so that a page the browser kept from before a logout runs and is sent to login.
_LOGIN_PATHS = frozenset({"/login", "/static/desk.css", "/words/desk.js", "/words/harness.js"})
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


class LoginGuard:
    """Wrong passwords, throttled per client address and per account, no global lock.

    - A client address locked out (``lock_after`` wrong passwords within the forget
      time) is answered 429 without a password check for ``lock_seconds``.
    - A wrong password is answered after a pause that doubles with each failure of
      the client or of the account (the larger), up to 8 s; the pause holds nothing
      another client waits for.
    - A client may have ``ATTEMPTS_PER_CLIENT`` attempts in flight (pauses included):
      so parallel guesses cannot outrun the pause; more get 429 (after a second, so
      that a flood of refusals cannot take the CPU a correct login needs).
    - At most ``CHECKS_AT_ONCE`` scrypt checks run together (their memory is bounded),
      each a few tens of ms, so a correct login waits for little whatever others do.
    - The account is never locked: that would let anyone lock the agents out.
    """

    def __init__(
        self,
        *,
        pause: float = 0.25,
        lock_after: int = 10,
        lock_seconds: float = 300.0,
        log: QuietLog | None = None,
    ) -> None:
        self.clients = FailureThrottle(base=pause, lock_after=lock_after, lock_seconds=lock_seconds)
        self.accounts = FailureThrottle(base=pause, lock_after=0, max_keys=100)
        self.log = log or QuietLog()
        self._checks = asyncio.Semaphore(CHECKS_AT_ONCE)
        self._in_flight: dict[str, int] = {}

    async def attempt(self, client: str, account: str, check: Callable[[], bool]) -> bool | float:
        """True (right), False (wrong, after its pause), or the seconds the client must
        wait before trying again (refused without a check)."""
        locked = self.clients.locked(client)
        busy = self._in_flight.get(client, 0) >= ATTEMPTS_PER_CLIENT
        if locked or busy:
            # Refused without a check, but not at once: answered at full speed, a flood of
            # refusals would take the CPU a correct login needs (a tarpit; the connection
            # limit bounds what waits here).
            await asyncio.sleep(REFUSAL_PAUSE)
            return locked or max(self.clients.pause(self.clients.failures(client)), 1.0)
        self._in_flight[client] = self._in_flight.get(client, 0) + 1
        try:
            async with self._checks:
                ok = await asyncio.to_thread(check)
            if ok:
                self.clients.succeed(client)
                return True
            pause = max(self.clients.fail(client), self.accounts.fail(account))
            self.log.event(
                "login",
                lambda n: (
                    f"maildoctor: {n} wrong desk password(s) in the last second "
                    f"(last from {client}; {self.clients.failures(client)} from it lately"
                    + (", now locked out" if self.clients.locked(client) else "")
                    + ")."
                ),
            )
            await asyncio.sleep(pause)
            return False
        finally:
            left = self._in_flight.get(client, 1) - 1
            if left > 0:
                self._in_flight[client] = left
            else:
                self._in_flight.pop(client, None)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Access:
    """The access rules of one app."""

    def __init__(
        self,
        config: WebConfig,
        configured_host: str,
        *,
        sessions_path: Path | None = None,
        log: QuietLog | None = None,
    ) -> None:
        self.config = config
        self.configured_host = configured_host
        self.login_required = config.allow_remote and config.password_hash is not None
        """With a password every private path needs the login, from any peer (a reverse
        proxy on this machine makes every peer look local). Without one, other machines
        get only the public paths and this machine gets the rest as on loopback."""
        self.sessions = SessionTable(
            sessions_path if self.login_required else None,
            seconds=SESSION_SECONDS,
            most=MAX_SESSIONS,
        )
        self._bearers: set[bytes] = set()
        """SHA-256 of bearer passwords already verified (skip scrypt on each API call)."""
        self.guard = LoginGuard(
            pause=config.login_pause,
            lock_after=config.login_lock_after,
            lock_seconds=config.login_lock_seconds,
            log=log,
        )

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

    def _session(self, request: web.Request) -> Session | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE, ""))

    async def _bearer_ok(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        key = hashlib.sha256(token.encode()).digest()
        if key in self._bearers:
            return True
        if await self.check_password(token, request) is True:
            self._bearers.add(key)
            return True
        return False

    async def check_password(self, password: str, request: web.Request) -> bool | float:
        """True or False, or the seconds this client must wait (locked out, or too many
        attempts at once): see :class:`LoginGuard`."""
        stored = self.config.password_hash
        assert stored is not None
        return await self.guard.attempt(
            client_key(request.remote),
            DESK_ACCOUNT,
            lambda: verify_password(password, stored),
        )

    async def new_session(self) -> tuple[str, Session]:
        return await asyncio.to_thread(self.sessions.create)

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
        nxt = _safe_next(form.get("next", "/desk"))
        verdict = await self.check_password(password, request)
        if verdict is False:
            return await self._login_page(request, "パスワードが違います。 / Wrong password.")
        if verdict is not True:
            minutes = max(1, round(verdict / 60))
            page = await self._login_page(
                request,
                f"ログインの失敗が続いたため、約{minutes}分お待ちください。 / Too many "
                f"failed logins from your address: try again in about {minutes} min.",
            )
            page.set_status(429)
            page.headers["Retry-After"] = str(max(1, round(verdict)))
            return page
        key, session = await self.new_session()
        resp = web.HTTPSeeOther(nxt)
        secure = request.secure
        resp.set_cookie(
            SESSION_COOKIE, key, httponly=True, samesite="Strict", secure=secure, path="/"
        )
        resp.set_cookie(CSRF_COOKIE, session.csrf, samesite="Strict", secure=secure, path="/")
        raise resp

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        key = request.cookies.get(SESSION_COOKIE, "")
        if key:
            await asyncio.to_thread(self.sessions.delete, key)
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
    if request.secure:  # served over HTTPS: browsers must not fall back to plain HTTP
        response.headers.setdefault("Strict-Transport-Security", HSTS)


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
