"""``maildoctor preview``: the templates in the browser, reloaded on every save."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import click

from maildoctor.cli.options import (
    CouldNotRun,
    InputError,
    dns_timeout_option,
    nameserver_option,
    resolve_templates,
    templates_option,
)
from maildoctor.mail.templating import ContextError


@click.command("preview")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8026,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port (0: a free one).",
)
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE", help="Set a variable.")
@click.option(
    "--context",
    "context_file",
    metavar="FILE",
    default=None,
    help="Variables from a JSON or TOML file, over every template's sample data.",
)
@click.option(
    "--carrier-display",
    is_flag=True,
    help="Audit the From domain's DNS (maildoctor sender) and show what docomo, SoftBank and "
    "au will display, in the checks.",
)
@nameserver_option
@dns_timeout_option
@templates_option
def command(
    host: str,
    port: int,
    variables: tuple[str, ...],
    context_file: str | None,
    carrier_display: bool,
    nameservers: tuple[str, ...],
    dns_timeout: float,
    templates_dir: Path | None,
) -> None:
    """Preview every template and variant in the browser: HTML at 390/768/1280 px, dark
    mode, inverted colours, the text part, the raw message, the ISO-2022-JP message as an
    old phone shows it, and the checks. The page reloads when a template file is saved."""
    from maildoctor.cli.render import template_context
    from maildoctor.web import preview

    folder = resolve_templates(templates_dir)
    try:
        overrides = template_context({}, context_file, variables)
    except ContextError as e:
        raise InputError(str(e)) from e

    display = None
    if carrier_display:
        from maildoctor.sender.carrier_display import carrier_display as audit_display
        from maildoctor.sender.resolver import make_resolver

        servers = tuple(s for value in nameservers for s in value.split())
        try:
            make_resolver(list(servers), timeout=dns_timeout)  # a malformed server: exit 2 now
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--nameserver") from None

        def display(domain: str) -> Any:
            return audit_display(domain, nameservers=servers, timeout=dns_timeout)

    async def run() -> None:
        try:
            server, bound = await preview.start(
                folder, host=host, port=port, overrides=overrides, display=display
            )
        except OSError as e:
            raise CouldNotRun(f"Cannot listen on {host}:{port}: {e.strerror or e}.") from e
        shown = f"[{host}]" if ":" in host else host
        click.echo(
            f"Previewing {folder} at http://{shown}:{bound}/preview (Ctrl-C stops)", err=True
        )
        try:
            await asyncio.Event().wait()
        finally:
            await server.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
