"""--allow-remote: other machines get the public check paths (with --public-check) without
the desk's login (web/access.py), and the rest only after it (or not at all without a password).

A request's peer address is what the guard decides on. Tests only talk to
127.0.0.1, so a first middleware (test-only) sets ``request.remote`` from a
header, as if the connection came from another machine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from maildoctor.harness.server import Harness, HarnessConfig
from maildoctor.web.app import make_app
from maildoctor.web.config import WebConfig
from maildoctor.web.signup import PUBLIC_PATHS

REMOTE = "203.0.113.9"


@web.middleware
async def as_if_from(request: web.Request, handler: Any) -> web.StreamResponse:
    remote = request.headers.get("X-Test-Remote")
    response: web.StreamResponse = await handler(
        request.clone(remote=remote) if remote else request
    )
    return response


Serve = Callable[..., Any]


@pytest_asyncio.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Serve]:
    harness = Harness(HarnessConfig(db=tmp_path / "h.sqlite3", http_port=None))
    await harness.start()
    runners: list[web.AppRunner] = []

    async def start(**fields: Any) -> str:
        app = make_app(harness, WebConfig(check_nameservers=None, **fields))
        app.middlewares.insert(0, as_if_from)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    try:
        yield start
    finally:
        for runner in runners:
            await runner.cleanup()
        await harness.stop()


async def status_of(
    base: str, path: str, remote: str | None = None, host: str | None = None
) -> int:
    headers = {"X-Test-Remote": remote} if remote else {}
    if host:
        headers["Host"] = host
    async with (
        aiohttp.ClientSession() as session,
        session.get(base + path, headers=headers, allow_redirects=False) as response,
    ):
        if response.status in (401, 403):
            data = await response.json()
            assert data["error"].endswith(".")
        return response.status


PRIVATE = ["/", "/api/messages", "/api/templates", "/static/app.js"]
PUBLIC = ["/api/check?address=taro@docomo.ne.jp", "/static/signup-check.js", "/signup-demo",
          "/static/signup-demo.css"]  # fmt: skip


def test_public_paths_are_the_documented_ones() -> None:
    assert {p.split("?")[0] for p in PUBLIC} == set(PUBLIC_PATHS)


@pytest.mark.asyncio
async def test_allow_remote_with_public_check(serve: Serve) -> None:
    base = await serve(allow_remote=True, public_paths=frozenset(PUBLIC_PATHS))
    for path in PUBLIC:
        assert await status_of(base, path, REMOTE) == 200, path
        # Reached by the site's own name (a reverse proxy's Host), still served.
        assert await status_of(base, path, REMOTE, host="check.lentrance.com") == 200, path
    for path in PRIVATE:
        assert await status_of(base, path, REMOTE) == 403, path
        assert await status_of(base, path, "2001:db8::9") == 403, path
        assert await status_of(base, path) == 200, path  # this machine
    assert await status_of(base, "/api/messages", host="evil.example") == 403  # DNS rebinding


@pytest.mark.asyncio
async def test_allow_remote_without_public_check_serves_others_nothing(serve: Serve) -> None:
    base = await serve(allow_remote=True)
    for path in PUBLIC + PRIVATE:
        assert await status_of(base, path, REMOTE) == 403, path
        assert await status_of(base, path) == 200, path


@pytest.mark.asyncio
async def test_loopback_only_server_serves_everything_locally(serve: Serve) -> None:
    base = await serve()
    for path in PUBLIC + PRIVATE:
        assert await status_of(base, path) == 200, path
    assert await status_of(base, "/signup-demo", host="evil.example") == 403


@pytest.mark.asyncio
async def test_with_the_desk_login_the_public_paths_need_none(serve: Serve) -> None:
    from maildoctor.web.access import hash_password

    base = await serve(
        allow_remote=True,
        password_hash=hash_password("s3cret"),
        public_paths=frozenset(PUBLIC_PATHS),
    )
    for path in PUBLIC:
        assert await status_of(base, path, REMOTE) == 200, path
    assert await status_of(base, "/api/messages", REMOTE) == 401
    assert await status_of(base, "/api/messages") == 401  # this machine logs in too
    assert await status_of(base, "/", REMOTE) == 303  # to /login
