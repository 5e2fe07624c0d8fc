"""``maildoctor serve``'s options for the sign-up check API, declared apart from serve.py.

``@signup_options`` adds them to a command; :func:`signup_web_fields` turns their
values into :class:`~maildoctor.web.config.WebConfig` fields, checked up front so
a typo is a usage error (exit 2), not a failed start.
"""

from __future__ import annotations

from typing import Any

import click

from maildoctor.cli.options import Seconds, _stack, parse_auth_dns
from maildoctor.web.ratelimit import parse_rate
from maildoctor.web.signup import PUBLIC_PATHS

__all__ = ["parse_origins", "signup_options", "signup_web_fields"]


def parse_origins(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--cors-origin`` values, each exactly ``scheme://host[:port]`` as browsers send it."""
    from yarl import URL

    origins = []
    for value in values:
        text = value.strip().rstrip("/")
        try:
            url = URL(text)
        except ValueError:
            url = None
        if (
            url is None
            or url.scheme not in ("http", "https")
            or not url.host
            or url.path not in ("", "/")
            or url.query_string
            or url.fragment
            or url.user is not None
        ):
            raise click.BadParameter(
                f"{value!r} is not an origin: write scheme://host[:port], "
                "for example https://lentrance.com (no path).",
                param_hint="--cors-origin",
            )
        origins.append(text)
    return tuple(origins)


def _rate(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return parse_rate(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from e


signup_options = _stack(
    click.option(
        "--public-check",
        is_flag=True,
        help="With --allow-remote: serve /api/check, /static/signup-check.js and /signup-demo "
        "to other machines without the desk's login.",
    ),
    click.option(
        "--cors-origin",
        "cors_origins",
        multiple=True,
        metavar="ORIGIN",
        help="Let pages from ORIGIN (e.g. https://lentrance.com) call /api/check from a "
        "browser (repeatable; default: no cross-origin calls).",
    ),
    click.option(
        "--check-rate",
        default="60/min",
        show_default=True,
        callback=_rate,
        metavar="N/min|N/s|N/h|off",
        help="Check API requests allowed per client address (429 with Retry-After beyond).",
    ),
    click.option(
        "--check-dns",
        "check_dns",
        multiple=True,
        metavar="IP[:PORT]|system|off",
        help="DNS the check API asks (repeatable). Default: the system resolver; 'off' "
        "answers from the static checks only.",
    ),
    click.option(
        "--dns-canary",
        "canaries",
        multiple=True,
        metavar="NAME",
        help="Name that must resolve before the check API and the desk trust an NXDOMAIN "
        "(repeatable; replaces '.' NS and gmail.com MX).",
    ),
    click.option(
        "--check-dns-timeout",
        type=Seconds(min=0.05, max=30),
        default=1.5,
        show_default=True,
        help="Seconds the check API waits for DNS; later it answers 'unknown' (never a block).",
    ),
)


def signup_web_fields(
    *,
    public_check: bool,
    cors_origins: tuple[str, ...],
    check_rate: float,
    check_dns: tuple[str, ...],
    canaries: tuple[str, ...],
    check_dns_timeout: float,
) -> dict[str, Any]:
    """The WebConfig fields of the ``@signup_options`` values."""

    return {
        "public_paths": frozenset(PUBLIC_PATHS) if public_check else frozenset(),
        "cors_origins": parse_origins(cors_origins),
        "check_rate": check_rate,
        "check_nameservers": parse_auth_dns(check_dns, "--check-dns"),
        "canaries": tuple(c.strip() for c in canaries if c.strip()),
        "check_dns_timeout": check_dns_timeout,
    }
