"""``maildoctor serve``'s limits, accounts and HTTPS options, declared apart from serve.py.

Every limit is an option with a default that keeps one client from taking the server
down (see the README's reliability section); :func:`guard_settings` turns their
values into the harness's :class:`Limits` and the web side's fields, fitted to the
descriptors the process may open, and :func:`start_lines` says them at start.
Passwords come from a file or the environment: one given in argv is visible to
every local user in ``ps``, so it is warned about.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click

from maildoctor.cli.options import Seconds, _stack
from maildoctor.harness.guard import descriptor_limit
from maildoctor.harness.smtp import Limits

__all__ = [
    "GuardSettings",
    "guard_options",
    "guard_settings",
    "parse_bytes",
    "parse_users",
    "start_lines",
]

#: Descriptors kept for what is not a client: the store, the listeners, DNS, threads.
RESERVED_DESCRIPTORS = 64
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_bytes(text: str) -> int:
    """``134217728``, ``128M``, ``512k``, ``1G`` -> bytes (ValueError otherwise)."""
    found = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)(?:i?[bB])?\s*", text)
    if not found:
        raise ValueError(f"{text!r} is not a size: write bytes, or N with K, M or G.")
    return int(found.group(1)) * _UNITS[found.group(2).lower()]


def _size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    try:
        return parse_bytes(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from e


def parse_users(text: str, *, source: str) -> dict[str, str]:
    """``USER:PASSWORD`` lines (blank lines and ``#`` comments skipped) -> accounts.

    A bad line is a usage error naming ``source`` and the line number, never the
    password."""
    users: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        user, sep, password = entry.partition(":")
        if not sep or not user.strip() or not password:
            raise click.UsageError(f"{source} line {number} is not USER:PASSWORD.")
        users[user.strip()] = password
    return users


guard_options = _stack(
    click.option(
        "--user-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="SMTP AUTH accounts, one USER:PASSWORD a line (as --user, kept out of argv). "
        "$MAILDOCTOR_USERS holds the same lines.",
    ),
    click.option(
        "--smtp-max-sessions",
        type=click.IntRange(min=0),
        default=Limits().max_sessions,
        show_default=True,
        help="Concurrent SMTP sessions (421 beyond; 0: no limit).",
    ),
    click.option(
        "--smtp-max-per-client",
        type=click.IntRange(min=0),
        default=Limits().max_sessions_per_client,
        show_default=True,
        help="Concurrent SMTP sessions from one client address (421 beyond; 0: no limit).",
    ),
    click.option(
        "--smtp-idle-timeout",
        type=Seconds(min=0.1),
        default=Limits().timeout,
        show_default=True,
        help="Seconds an SMTP client may take for its next command.",
    ),
    click.option(
        "--smtp-data-timeout",
        type=Seconds(min=0.1),
        default=Limits().data_timeout,
        show_default=True,
        help="Seconds a whole message may take after 354.",
    ),
    click.option(
        "--smtp-data-memory",
        default="128M",
        show_default=True,
        callback=_size,
        metavar="BYTES",
        help="DATA held in memory across all sessions (452 4.3.1 beyond; 0: no limit).",
    ),
    click.option(
        "--http-max-connections",
        type=click.IntRange(min=0),
        default=200,
        show_default=True,
        help="Concurrent HTTP connections (503 beyond; 0: no limit).",
    ),
    click.option(
        "--http-header-timeout",
        type=Seconds(min=0.1),
        default=20.0,
        show_default=True,
        help="Seconds a client may take to send a request's headers (or stay idle).",
    ),
    click.option(
        "--http-body-timeout",
        type=Seconds(min=0.1),
        default=60.0,
        show_default=True,
        help="Seconds a request body may take to arrive (408 beyond).",
    ),
    click.option(
        "--desk-budget",
        type=Seconds(min=0.1),
        default=30.0,
        show_default=True,
        help="Seconds a desk request (a diagnosis, a list read) may take (504 beyond).",
    ),
    click.option(
        "--store-check-every",
        type=Seconds(min=0),
        default=600.0,
        show_default=True,
        help="Seconds between PRAGMA quick_check runs of the store while serving (0: none).",
    ),
    click.option(
        "--tls-cert",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="Serve the web side over HTTPS with this certificate chain (PEM; with --tls-key).",
    ),
    click.option(
        "--tls-key",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="The private key of --tls-cert (PEM).",
    ),
    click.option(
        "--tls-self-signed",
        is_flag=True,
        help="Serve the web side over HTTPS with a self-signed certificate made beside --db "
        "(for trials: browsers warn).",
    ),
)

_NAMES = (
    "user_file",
    "smtp_max_sessions",
    "smtp_max_per_client",
    "smtp_idle_timeout",
    "smtp_data_timeout",
    "smtp_data_memory",
    "http_max_connections",
    "http_header_timeout",
    "http_body_timeout",
    "desk_budget",
    "store_check_every",
    "tls_cert",
    "tls_key",
    "tls_self_signed",
)


@dataclass(frozen=True)
class GuardSettings:
    """What the ``@guard_options`` values become."""

    limits: Limits
    web: dict[str, Any]
    """WebConfig fields."""
    users: dict[str, str]
    """Accounts from --user-file and $MAILDOCTOR_USERS."""
    check_every: float
    notes: list[str] = field(default_factory=list)
    """Lines for stderr at start (a limit fitted to the descriptors)."""


def guard_settings(
    values: dict[str, Any], limits: Limits, *, http: bool, remote_http: bool, ctx: click.Context
) -> GuardSettings:
    """Take the ``@guard_options`` values out of ``values`` (the command's kwargs)."""
    v = {name: values.pop(name) for name in _NAMES}
    given = {
        name
        for name in ("smtp_max_sessions", "http_max_connections")
        if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
    }
    if (v["tls_cert"] is None) != (v["tls_key"] is None):
        raise click.UsageError("--tls-cert and --tls-key go together.")
    if v["tls_cert"] is not None and v["tls_self_signed"]:
        raise click.UsageError("Give --tls-cert/--tls-key or --tls-self-signed, not both.")
    users: dict[str, str] = {}
    env = os.environ.get("MAILDOCTOR_USERS", "")
    if env.strip():
        users.update(parse_users(env, source="$MAILDOCTOR_USERS"))
    if v["user_file"] is not None:
        try:
            text = v["user_file"].read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise click.UsageError(f"Cannot read --user-file {v['user_file']}: {e}") from e
        users.update(parse_users(text, source=str(v["user_file"])))
    smtp, connections, notes = _fit(
        v["smtp_max_sessions"], v["http_max_connections"] if http else 0, given
    )
    limits = replace(
        limits,
        max_sessions=smtp,
        max_sessions_per_client=v["smtp_max_per_client"],
        timeout=v["smtp_idle_timeout"],
        data_timeout=v["smtp_data_timeout"],
        data_memory=v["smtp_data_memory"],
    )
    web = {
        "max_connections": connections if http else v["http_max_connections"],
        "header_timeout": v["http_header_timeout"],
        "body_timeout": v["http_body_timeout"],
        "desk_budget": v["desk_budget"],
        "tls_cert": v["tls_cert"],
        "tls_key": v["tls_key"],
        "tls_self_signed": v["tls_self_signed"],
    }
    if remote_http and not (v["tls_cert"] or v["tls_self_signed"]):
        notes.append(
            "warning: the web side is plain HTTP: the desk password and the session "
            "cookies cross the network in clear. Add --tls-cert/--tls-key "
            "(or --tls-self-signed for a trial)."
        )
    return GuardSettings(limits, web, users, v["store_check_every"], notes)


def _fit(smtp: int, http: int, given: set[str]) -> tuple[int, int, list[str]]:
    """Session limits that fit the descriptors this process may open (``ulimit -n``).

    Past them ``accept()`` fails and clients wait unanswered; within them, a client
    beyond a limit gets a clean 421/503. Defaults are fitted; a limit given on the
    command line is kept, with a warning."""
    fds = descriptor_limit()
    room = max(fds - RESERVED_DESCRIPTORS, 8)
    if smtp + http <= room:
        return smtp, http, []
    if given:
        return (
            smtp,
            http,
            [
                f"warning: this process may open {fds} descriptors (ulimit -n), fewer than "
                "the SMTP sessions and HTTP connections allowed: past them clients wait "
                "unanswered until others leave (one line a second says so)."
            ],
        )
    share = room * smtp // (smtp + http)
    fitted_smtp = max(1, share) if smtp else 0
    fitted_http = max(1, room - fitted_smtp) if http else 0
    return (
        fitted_smtp,
        fitted_http,
        [
            f"note: this process may open {fds} descriptors (ulimit -n): SMTP sessions are "
            f"limited to {fitted_smtp}"
            + (f" and HTTP connections to {fitted_http}" if http else "")
            + ", so that a client beyond them gets a clean refusal instead of no answer."
        ],
    )


def start_lines(limits: Limits, web: dict[str, Any] | None, check_every: float) -> list[str]:
    """The limits as ``serve`` says them at start."""

    def count(n: int) -> str:
        return str(n) if n else "unlimited"

    memory = f"{limits.data_memory // (1024 * 1024)} MiB" if limits.data_memory else "unlimited"
    lines = [
        f"Limits SMTP {count(limits.max_sessions)} sessions "
        f"({count(limits.max_sessions_per_client)} per client), idle {limits.timeout:g} s, "
        f"message {limits.data_timeout:g} s, DATA in memory {memory}, "
        f"AUTH closed after {limits.auth_failures} failures"
    ]
    if web is not None:
        lines.append(
            f"Limits HTTP {count(web['max_connections'])} connections, headers "
            f"{web['header_timeout']:g} s, body {web['body_timeout']:g} s, desk request "
            f"{web['desk_budget']:g} s"
        )
    check = f"every {check_every:g} s" if check_every else "off"
    lines.append(f"Limits descriptors {descriptor_limit()}; store quick_check {check}")
    return lines


def argv_password_warnings(ctx: click.Context, users: tuple[str, ...]) -> list[str]:
    """Passwords given in argv: ``ps`` shows them to every user of the machine."""
    warnings = []
    if users:
        warnings.append(
            "warning: --user puts passwords in the command line, where `ps` shows them to "
            "every local user: use --user-file FILE or $MAILDOCTOR_USERS."
        )
    source = ctx.get_parameter_source("desk_password")
    if source is click.core.ParameterSource.COMMANDLINE:
        warnings.append(
            "warning: --desk-password puts the password in the command line, where `ps` "
            "shows it to every local user: set $MAILDOCTOR_DESK_PASSWORD instead."
        )
    return warnings
