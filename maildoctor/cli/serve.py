"""``maildoctor serve``: the SMTP capture harness with its web UI and JSON API."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import ssl
from pathlib import Path
from typing import Any

import click

from maildoctor.cli.options import (
    CouldNotRun,
    events_db_option,
    parse_auth_dns,
    parse_hostport,
    resolve_templates,
    templates_option,
)
from maildoctor.cli.serve_guard import (
    argv_password_warnings,
    guard_options,
    guard_settings,
    start_lines,
)
from maildoctor.cli.signup_options import signup_options, signup_web_fields
from maildoctor.diagnose.history import DEFAULT_MAX_ENTRIES, HistoryError
from maildoctor.harness.defaults import DEFAULT_HTTP, DEFAULT_SMTP
from maildoctor.harness.faults import FaultError, FaultPlan, parse_faults
from maildoctor.harness.profiles import ProfileBook, ProfileError, load_profiles
from maildoctor.harness.server import (
    AuthConfigError,
    Harness,
    HarnessConfig,
    is_loopback,
)
from maildoctor.harness.smtp import Limits
from maildoctor.harness.store import StoreError, default_db_path
from maildoctor.web.access import hash_password
from maildoctor.web.app import start_web
from maildoctor.web.config import WebConfig


def _remote_view(password: bool, public_check: bool) -> str:
    """What other machines get from the web app, said when it listens beyond loopback."""
    parts = []
    if password:
        parts.append("the desk and the API after the --desk-password login")
    if public_check:
        parts.append("the sign-up check (/api/check, its script, /signup-demo) without login")
    return " and ".join(parts) or (
        "nothing: set --desk-password for the desk, --public-check for the sign-up check"
    )


def _user(value: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not sep or not user:
        raise click.BadParameter(f"{value!r} is not USER:PASSWORD.", param_hint="--user")
    return user, password


@click.command("serve")
@click.option("--smtp", "smtp", default=DEFAULT_SMTP, show_default=True, metavar="HOST:PORT")
@click.option(
    "--http",
    "http",
    default=DEFAULT_HTTP,
    show_default=True,
    metavar="HOST:PORT",
    help="Web UI and JSON API.",
)
@click.option("--no-http", is_flag=True, help="Run only the SMTP server.")
@click.option(
    "--db",
    type=click.Path(path_type=Path),
    default=None,
    help="SQLite file (default: harness.sqlite3 in the user's data directory).",
)
@click.option(
    "--profiles",
    "profiles_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML file of recipient profiles per address or domain.",
)
@click.option(
    "--faults",
    "faults_spec",
    default=None,
    metavar="SPEC",
    help="Faults to inject, e.g. 'greylist;rcpt=452 4.2.2 Mailbox full,p=0.3'.",
)
@click.option("--seed", type=int, default=None, help="Seed for fault probabilities.")
@click.option(
    "--max-messages",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Keep this many messages, pruning the oldest (0 keeps all).",
)
@click.option(
    "--max-size",
    type=click.IntRange(min=1),
    default=Limits().max_message_size,
    show_default=True,
    help="Largest message in bytes (552 beyond).",
)
@click.option(
    "--max-recipients",
    type=click.IntRange(min=1),
    default=Limits().max_recipients,
    show_default=True,
    help="RCPT TOs per message (452 beyond).",
)
@click.option("--starttls", is_flag=True, help="Offer STARTTLS with a self-signed certificate.")
@click.option(
    "--user",
    "users",
    multiple=True,
    metavar="USER:PASSWORD",
    help="Require AUTH PLAIN/LOGIN with this account (repeatable): mail without it gets "
    "530. Needs --starttls unless --auth-allow-insecure.",
)
@click.option(
    "--auth-allow-insecure",
    is_flag=True,
    help="Accept AUTH over plain text, without STARTTLS (the password travels in clear).",
)
@click.option(
    "--auth-dns",
    "auth_dns",
    multiple=True,
    metavar="IP[:PORT]|system|off",
    help="DNS to verify each message's DKIM, SPF and DMARC against (repeatable). "
    "Default: the system resolver. The results go in an Authentication-Results header "
    "on the stored copy, which the carriers' spoofing filters read. 'off' verifies nothing.",
)
@click.option(
    "--auth-dns-canary",
    "auth_canaries",
    multiple=True,
    metavar="NAME",
    help="Name the --auth-dns server must resolve before its answers are believed "
    "(repeatable; replaces '.' NS and gmail.com MX, as check's --dns-canary).",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow binding a non-loopback address. Other machines then get only the "
    "sign-up check (with --public-check) until the desk's login lets them in.",
)
@click.option(
    "--desk-password",
    envvar="MAILDOCTOR_DESK_PASSWORD",
    metavar="PASSWORD",
    help="The login of the desk and the API for other machines, with --allow-remote "
    "(default: $MAILDOCTOR_DESK_PASSWORD). Kept in memory only as an scrypt hash.",
)
@click.option(
    "--desk-dns",
    "desk_dns",
    multiple=True,
    metavar="IP[:PORT]|system|off",
    help="DNS for the desk's address checks (repeatable). Default: the system resolver; "
    "'off' checks without DNS.",
)
@click.option(
    "--history-db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The desk's history of diagnoses (default: desk-history.sqlite3 beside --db).",
)
@click.option(
    "--history-max",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_ENTRIES,
    show_default=True,
    help="Diagnoses kept in the history, pruning the oldest (0 keeps all).",
)
@templates_option
@events_db_option
@click.option(
    "--events-token",
    envvar="MAILDOCTOR_EVENTS_TOKEN",
    metavar="TOKEN",
    help="Open POST /api/events to webhooks (SES/SNS, SendGrid) that send this token "
    "(default: $MAILDOCTOR_EVENTS_TOKEN; without it the route is off).",
)
@signup_options
@guard_options
def command(
    smtp: str,
    http: str,
    no_http: bool,
    db: Path | None,
    profiles_file: Path | None,
    faults_spec: str | None,
    seed: int | None,
    max_messages: int,
    max_size: int,
    max_recipients: int,
    starttls: bool,
    users: tuple[str, ...],
    auth_allow_insecure: bool,
    auth_dns: tuple[str, ...],
    auth_canaries: tuple[str, ...],
    allow_remote: bool,
    desk_password: str | None,
    desk_dns: tuple[str, ...],
    history_db: Path | None,
    history_max: int,
    templates_dir: Path | None,
    events_db: Path | None,
    events_token: str | None,
    **signup: Any,
) -> None:
    """Run the SMTP capture server and its web UI. It never relays mail anywhere.

    Every recipient gets a decision from its profile (carrier filters simulated,
    faults injected): delivered, junk, filtered or rejected, with the rule.
    Each message's DKIM, SPF and DMARC are verified (--auth-dns) and recorded in
    an Authentication-Results header that the spoofing filters decide with.
    The support desk is at /desk; with --allow-remote it and the API need the
    --desk-password login.
    """
    smtp_host, smtp_port = parse_hostport(smtp, option="--smtp")
    http_host, http_port = parse_hostport(http, option="--http")
    for host, option in ((smtp_host, "--smtp"), *(() if no_http else ((http_host, "--http"),))):
        if not is_loopback(host):
            if not allow_remote:
                raise click.UsageError(
                    f"{option} {host} is not a loopback address: captured mail would be readable "
                    "from the network. Add --allow-remote if that is what you want."
                )
            click.echo(
                f"warning: {option} listens on {host}; anyone who can reach it can send mail "
                "to the harness."
                if option == "--smtp"
                else f"warning: {option} listens on {host}; other machines get "
                f"{_remote_view(bool(desk_password), signup['public_check'])}.",
                err=True,
            )
    if signup["public_check"] and not allow_remote:
        click.echo(
            "note: --public-check matters only with --allow-remote; on loopback the check "
            "API is always served.",
            err=True,
        )
    try:
        book = load_profiles(profiles_file) if profiles_file else ProfileBook()
        plan = FaultPlan(parse_faults(faults_spec) if faults_spec else (), seed=seed)
    except (ProfileError, FaultError) as e:
        raise click.UsageError(str(e)) from e
    guard = guard_settings(
        signup,
        Limits(max_message_size=max_size, max_recipients=max_recipients),
        http=not no_http,
        remote_http=not no_http and not is_loopback(http_host),
        ctx=click.get_current_context(),
    )
    for line in [*argv_password_warnings(click.get_current_context(), users), *guard.notes]:
        click.echo(line, err=True)
    accounts = {**guard.users, **dict(_user(u) for u in users)}
    if accounts and not starttls and not auth_allow_insecure:
        raise click.UsageError(
            "--user needs --starttls: AUTH PLAIN/LOGIN sends the password in clear. "
            "Add --auth-allow-insecure to accept it without TLS."
        )
    config = HarnessConfig(
        db=db or default_db_path(),
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        http_host=http_host,
        http_port=None if no_http else http_port,
        limits=guard.limits,
        max_messages=max_messages,
        tls=starttls,
        users=accounts,
        check_every=guard.check_every,
        auth_allow_insecure=auth_allow_insecure,
        auth_nameservers=parse_auth_dns(auth_dns),
        auth_canaries=tuple(auth_canaries) or HarnessConfig.auth_canaries,
        templates_dir=resolve_templates(templates_dir),  # the desk's trials, the gallery
    )
    web_config = WebConfig(
        allow_remote=allow_remote,
        password_hash=hash_password(desk_password) if allow_remote and desk_password else None,
        history_db=history_db,
        history_max=history_max,
        events_db=events_db,
        events_token=events_token or None,
        nameservers=parse_auth_dns(desk_dns, "--desk-dns"),
        **guard.web,
        **signup_web_fields(**signup),
    )
    limit_lines = start_lines(guard.limits, None if no_http else guard.web, guard.check_every)
    with contextlib.suppress(KeyboardInterrupt):
        web = functools.partial(start_web, config=web_config)
        asyncio.run(_serve(Harness(config, profiles=book, faults=plan, web=web), limit_lines))


async def _serve(harness: Harness, limit_lines: list[str]) -> None:
    # Before anything is announced: a supervisor may stop us as soon as we listen.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await harness.start()
    except StoreError as e:
        raise CouldNotRun(str(e)) from e
    except ssl.SSLError as e:
        raise CouldNotRun(
            f"Cannot serve HTTPS with that certificate and key: {e.reason or e}. "
            "Give a PEM certificate chain and its private key (--tls-cert, --tls-key)."
        ) from e
    except OSError as e:
        raise CouldNotRun(
            f"Cannot listen: {e.strerror or e}. Is another server on that port? "
            "Pick others with --smtp HOST:PORT and --http HOST:PORT."
        ) from e
    except (AuthConfigError, HistoryError) as e:
        raise CouldNotRun(str(e)) from e
    host, port = harness.smtp_address
    click.echo(f"SMTP  {host}:{port}  (never relays)", err=True)
    if harness.http_url:
        click.echo(f"Web   {harness.http_url}/", err=True)
        click.echo(f"Desk  {harness.http_url}/desk", err=True)
    click.echo(f"DB    {harness.config.db}", err=True)
    for line in limit_lines:
        click.echo(line, err=True)
    dns = harness.config.auth_nameservers
    if dns is None:
        click.echo("Auth  not verified (--auth-dns off)", err=True)
    else:
        where = ", ".join(dns) if dns else "the system resolver"
        click.echo(f"Auth  DKIM/SPF/DMARC verified with {where}", err=True)
        failure = await harness.auth_canary_failure()
        if failure is not None:
            click.echo(
                f"warning: the DNS for DKIM/SPF/DMARC fails the canary check ({failure}): "
                "results are temperror and the spoofing filters do not decide until it answers.",
                err=True,
            )
    for fault in harness.faults.faults:
        click.echo(f"Fault {fault.name} at {fault.stage}: {fault.reply or 'drop/delay'}", err=True)
    try:
        await stop.wait()
    finally:
        click.echo("Stopping.", err=True)
        await harness.stop()
