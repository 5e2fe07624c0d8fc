"""The sign-up guard: the check API a registration form calls, its script and a demo.

``GET /api/check?address=…&lang=ja`` and ``POST /api/check`` (JSON
``{"address", "lang"}``) answer with the check JSON of the contract (the same
object as ``maildoctor check --format json``) plus, for the form:

- ``message``: one line in ``lang`` to show under the field ("" when there is
  nothing to say): 「もしかして taro@docomo.ne.jp ですか?」 for a suggestion,
  else the most important finding;
- ``block``: true only when the address cannot receive mail (verdict
  ``undeliverable``). DNS doubt ("unknown": a timeout, a resolver that fails
  the canary) never blocks a sign-up;
- ``carrier_note``: for carrier mail, the FAQ's note on receive settings (allow
  @lentrance.com, allow mail with URLs) from the advice catalog, with the
  carrier's own steps.

Static checks answer at once; DNS has ``check_dns_timeout`` seconds and a
per-domain cache shared by all requests (:class:`CachedProbe`). Each client
address has a token bucket (429 with Retry-After). CORS is off unless origins
are configured. ``PUBLIC_PATHS`` are what ``--public-check`` serves to other
machines without the desk's login (``WebConfig.public_paths``).
"""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from yarl import URL

from maildoctor.address.check import CheckResult, check_address
from maildoctor.advice import advice_text, carrier_steps
from maildoctor.errors import BadInput
from maildoctor.findings import Lang, Severity, Verdict
from maildoctor.web.config import WEB_CONFIG, WebConfig
from maildoctor.web.http import error_response, json_response, lang_of, read_json_object
from maildoctor.web.ratelimit import RateLimiter, client_key
from maildoctor.words import words

if TYPE_CHECKING:
    from maildoctor.address.dnscache import CachedProbe
    from maildoctor.harness.server import Harness

__all__ = [
    "CARRIER_NOTE_ADVICE",
    "CHECK",
    "MAX_ADDRESS_CHARS",
    "MAX_BODY_BYTES",
    "PUBLIC_PATHS",
    "ROUTES",
    "CheckService",
    "add_routes",
    "carrier_note",
    "form_message",
    "parse_address",
    "signup_payload",
]

STATIC = Path(__file__).parent / "static"

#: What ``--public-check`` puts in ``WebConfig.public_paths``: served to other machines
#: without the desk's login under ``--allow-remote``.
PUBLIC_PATHS: tuple[str, ...] = (
    "/api/check",
    "/static/signup-check.js",
    "/signup-demo",
    "/static/signup-demo.css",
)

#: Longer input is not an address typed into a form (RFC 5321 allows 254 octets; full-width
#: IME input triples that in UTF-8): refused before any work.
MAX_ADDRESS_CHARS = 1000
#: The largest POST body read.
MAX_BODY_BYTES = 16 * 1024
#: Which advice of the carrier_mail finding the form shows (the rest, e.g. the spam
#: folder, is for after the mail was sent).
CARRIER_NOTE_ADVICE = ("allow_sender_domain", "carrier_settings")

#: The page a form shows for an address; the 仮登録 form copies Lentrance's wording.
DEMO_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_USAGE = 'for example /api/check?address=taro@example.com or POST {"address": "taro@example.com"}'


def parse_address(value: object) -> str:
    """The address of a request, or :class:`BadInput` saying what is wrong with it."""
    if value is None:
        raise BadInput(f"Give the address to check, {_USAGE}.")
    if not isinstance(value, str):
        raise BadInput(f'"address" must be a string, not {type(value).__name__}.')
    if not value.strip():
        raise BadInput("The address is empty: give the address the customer typed.")
    if len(value) > MAX_ADDRESS_CHARS:
        raise BadInput(
            f"The address is {len(value):,} characters long; an email address has at most 254.",
        )
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise BadInput(
                f"The address contains a control character (U+{ord(char):04X}); "
                "send the text of the form field as typed.",
            )
    return value


def form_message(result: CheckResult, lang: Lang) -> str:
    """One line for the form: the suggestion first, then the worst finding; "" if all is well.

    DNS doubt says nothing: the form should not worry a customer about our resolver.
    A tie (``typo_ambiguous``) lists its candidates and suggests none of them.
    A repair whose domain takes no mail either (likelihood ``doubtful``) is not offered:
    "did you mean" a domain that does not exist would send the customer nowhere.
    """
    doubtful = any(
        f.evidence.get("likelihood") == "doubtful"
        and f.evidence.get("suggestion") == result.suggestion
        for f in result.findings
    )
    if result.suggestion and not doubtful:
        return words("signup_form", lang)["did_you_mean"].format(suggestion=result.suggestion)
    tie = next((f for f in result.findings if f.code == "typo_ambiguous"), None)
    if tie is not None:
        # "one of" is listed, never filled in: the customer knows which they meant
        local = (result.normalized or result.address).rpartition("@")[0]
        one_of = " / ".join(f"{local}@{c}" for c in tie.evidence["candidates"])
        return words("signup_form", lang)["did_you_mean_one_of"].format(one_of=one_of)
    for severity in (Severity.ERROR, Severity.WARNING):
        for finding in result.findings:
            if finding.severity == severity:
                return finding.message
    return ""


def carrier_note(result: CheckResult, lang: Lang) -> dict[str, Any] | None:
    """The FAQ's receive-settings note for a carrier address, from the advice catalog."""
    finding = next((f for f in result.findings if f.code == "carrier_mail"), None)
    if result.carrier is None or finding is None:
        return None
    ids = [a for a in finding.advice if a in CARRIER_NOTE_ADVICE]
    return {
        "carrier": result.carrier.id,
        "name": result.carrier.name(lang),
        "title": advice_text("carrier_settings", lang)[0],
        "text": [advice_text(a, lang)[1] for a in ids],
        "advice": ids,
        "steps": carrier_steps(result.carrier, lang),
    }


def signup_payload(result: CheckResult, lang: Lang) -> dict[str, Any]:
    """The API's answer: the check JSON plus what a form needs."""
    return {
        **result.to_dict(),
        "lang": lang,
        "message": form_message(result, lang),
        "block": result.verdict == Verdict.UNDELIVERABLE,
        "carrier_note": carrier_note(result, lang),
    }


def _cors(request: web.Request, config: WebConfig) -> dict[str, str] | None:
    """CORS headers for this request, or None when its origin is refused."""
    origin = request.headers.get("Origin")
    vary = {"Vary": "Origin"} if config.cors_origins else {}
    if origin is None:
        return vary
    if origin in config.cors_origins:
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": "Retry-After",
            "Vary": "Origin",
        }
    try:
        url = URL(origin)
        same = (url.scheme, url.host, url.port) == (
            request.scheme,
            request.url.host,
            request.url.port,
        )
    except ValueError:
        same = False
    return vary if same else None


def _refused(origin: str | None) -> web.Response:
    return error_response(
        403,
        f"The origin {origin!r} may not call this API; "
        f"start the server with --cors-origin {origin} to allow it.",
    )


class CheckService:
    """What the check handlers share for the app's lifetime: one DNS cache, one rate limiter."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self.limiter = RateLimiter(config.check_rate) if config.check_rate > 0 else None
        self.probe: CachedProbe | None = None
        if config.check_nameservers is not None:
            from maildoctor.address.dnscache import CachedProbe
            from maildoctor.address.dnsprobe import DEFAULT_CANARIES

            self.probe = CachedProbe.for_nameservers(
                config.check_nameservers,
                timeout=config.check_dns_timeout,
                canaries=config.canaries or DEFAULT_CANARIES,
                ttl=config.check_cache_ttl,
            )


#: The check API's shared state (set by :func:`add_routes`).
CHECK = web.AppKey("signup_check", CheckService)


async def check_get(request: web.Request) -> web.Response:
    """``GET /api/check?address=&lang=``."""
    return await _answer(request, _from_query)


async def check_post(request: web.Request) -> web.Response:
    """``POST /api/check`` with JSON ``{"address", "lang"}``."""
    return await _answer(request, _from_body)


async def check_preflight(request: web.Request) -> web.Response:
    """``OPTIONS /api/check``: the CORS preflight of a form on another origin."""
    headers = _cors(request, request.app[CHECK].config)
    if headers is None:
        return _refused(request.headers.get("Origin"))
    if "Access-Control-Allow-Origin" in headers:
        headers |= {
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        }
    return web.Response(status=204, headers={"Allow": "GET, POST, OPTIONS", **headers})


async def script(request: web.Request) -> web.StreamResponse:
    """``GET /static/signup-check.js``: the embeddable script, cacheable cross-origin."""
    return web.FileResponse(
        STATIC / "signup-check.js",
        headers={
            "Content-Type": "text/javascript; charset=utf-8",
            "Cache-Control": "public, max-age=600",
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


async def demo(request: web.Request) -> web.StreamResponse:
    """``GET /signup-demo``: the demo form."""
    return web.FileResponse(
        STATIC / "signup-demo.html",
        headers={"Content-Security-Policy": DEMO_CSP, "Cache-Control": "no-cache"},
    )


#: The routes, one table. ``/static/signup-check.js`` is a plain path: aiohttp (>= 3.10)
#: matches it before the ``/static/`` folder wherever either is registered.
ROUTES = [
    web.get("/api/check", check_get),
    web.post("/api/check", check_post),
    web.options("/api/check", check_preflight),
    web.get("/static/signup-check.js", script),
    web.get("/signup-demo", demo),
]


def add_routes(app: web.Application, harness: Harness) -> None:
    """Register the check API, the embeddable script and the demo form."""
    app[CHECK] = CheckService(app[WEB_CONFIG])
    app.router.add_routes(ROUTES)


async def _answer(request: web.Request, parse: Any) -> web.Response:
    service = request.app[CHECK]
    cors = _cors(request, service.config)
    if cors is None:
        return _refused(request.headers.get("Origin"))
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **cors}
    if service.limiter is not None:
        wait = service.limiter.allow(client_key(request.remote))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            response = error_response(
                429, f"Too many checks from your address; try again in {seconds} seconds."
            )
            response.headers.update({**headers, "Retry-After": str(seconds)})
            return response
    try:
        parsed = await parse(request)
    except BadInput as e:  # answered here, not by the app's middleware: with the CORS headers
        parsed = error_response(400, str(e))
    if isinstance(parsed, web.Response):
        response = parsed
    else:
        address, lang = parsed
        result = await check_address(address, probe=service.probe, lang=lang)
        response = json_response(signup_payload(result, lang))
    response.headers.update(headers)
    return response


async def _from_query(request: web.Request) -> tuple[str, Lang]:
    query = request.query
    return parse_address(query.get("address")), lang_of(query.get("lang"))


async def _from_body(request: web.Request) -> tuple[str, Lang] | web.Response:
    """The body's address and lang; what is not one JSON object gets the JSON APIs' one
    answer (:func:`read_json_object`: 415, 413, 400)."""
    data = await read_json_object(request, limit=MAX_BODY_BYTES)
    if isinstance(data, web.Response):
        return data
    return parse_address(data.get("address")), lang_of(data.get("lang"))
