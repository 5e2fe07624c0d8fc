"""Options that several commands share, declared once so that they read the same everywhere."""

from __future__ import annotations

import errno
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from maildoctor import errors

F = TypeVar("F", bound=Callable[..., Any])

#: A command could not do its work for a reason that is not the input's: the store
#: or the harness failed (README "Exit status"). Never a finding about an address.
EXIT_COULD_NOT_RUN = 4

#: The commands raise the exception family (maildoctor.errors); the group maps each
#: kind to its exit status (maildoctor.cli.EXIT_STATUS). The names commands use:
CouldNotRun = errors.CouldNotRun
InputError = errors.BadInput


class Seconds(click.FloatRange):
    """A number of seconds in a range, never ``nan`` or ``inf``: nan compares false with
    every bound, so click's FloatRange lets it through, and a timeout of nan or inf
    never fires (``--dns-timeout nan`` waited forever; ``send --timeout nan`` crashed)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a number of seconds.", param, ctx)
        return seconds


#: The most days a ``--days`` option takes: ``maildoctor.events.store.MAX_DAYS`` (100
#: years; a test holds them equal: importing the events package here costs 50 ms).
MAX_DAYS = 36_500


def days_range(min: int = 0) -> click.IntRange:
    """The type of a ``--days`` option: whole days from ``min`` to :data:`MAX_DAYS`."""
    return click.IntRange(min=min, max=MAX_DAYS)


#: What ``check`` and ``diagnose`` say of an empty ADDRESS (a usage error, exit 2).
EMPTY_ADDRESS = "the address is empty; give the customer's address."

#: What a failed write says when it is not about the user's input: a full disk, a
#: read-only or closed output. (EPIPE, a reader that stopped, is click's: a quiet exit.)
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EBADF})


def write_failure(error: OSError, where: str | Path | None = None) -> CouldNotRun:
    """The one line for output that could not be written (stdout, --out, --suppress):
    a fault of the machine, exit 4, never a finding."""
    place = f"'{where}'" if where is not None else "the output"
    return CouldNotRun(f"Cannot write {place}: {error.strerror or error}.")


def smtp_word(value: str, forbidden: str = "") -> bool:
    """Whether ``value`` goes into an SMTP command as one word: printable ASCII, no space,
    none of ``forbidden``. A line break would be a second command; a full-width or
    Japanese character cannot be sent without SMTPUTF8 (smtplib raised on both)."""
    return all("!" <= c <= "~" and c not in forbidden for c in value)


def envelope_sender(value: str, option: str) -> str:
    """``value`` as a MAIL FROM address (``""``: the null sender), or a usage error."""
    if value and ("@" not in value or not smtp_word(value, "<>")):
        raise click.BadParameter(
            f"{value!r} is not an address SMTP can send as the sender (ASCII, with @, "
            "no spaces; '' for the null sender)",
            param_hint=option,
        )
    return value


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


lang_option = click.option(
    "--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True, help="Language."
)


def _ticket_choices() -> list[str]:
    from maildoctor.tickets import ticket_ids

    return list(ticket_ids())


ticket_option = click.option(
    "--ticket",
    type=click.Choice(_ticket_choices()),
    default="not_arrived",
    show_default=True,
    help="What the customer's ticket says (the advice and the reply draft answer it).",
)

templates_option = click.option(
    "--templates",
    "templates_dir",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Templates folder of the same layout (default: $MAILDOCTOR_TEMPLATES, else "
    "./templates when the working directory has one, else the packaged templates).",
)


def _stderr_is_a_terminal() -> bool:
    import sys

    return sys.stderr.isatty()


def resolve_templates(path: Path | None) -> Path:
    """The templates folder for a command; a click error when it does not exist.

    On a terminal, a folder other than the packaged one (--templates,
    $MAILDOCTOR_TEMPLATES, or the working directory's templates/) is said once on
    stderr, with why that one: the user then knows which copy was read. (Not into a
    pipe or a CI log, where the output is the command's own, as for the progress lines.)
    """
    from maildoctor.mail.templating import PACKAGED, TemplatingError, find_templates

    try:
        found = find_templates(path)
    except TemplatingError as e:
        raise click.UsageError(str(e)) from e
    ctx = click.get_current_context(silent=True)
    said = ctx.meta.setdefault("maildoctor.templates_said", set()) if ctx else set()
    if found.source != PACKAGED and found.path not in said and _stderr_is_a_terminal():
        said.add(found.path)
        click.echo(found.describe(), err=True)
    return found.path


def reply_templates(path: Path | None, name: str | None = None) -> Path:
    """The templates folder for reply drafts, checked now: a missing folder or reply
    template is a usage error before any work starts, not a traceback after it."""
    import jinja2

    from maildoctor.address.report import REPLY_TEMPLATE
    from maildoctor.mail.templating import environment

    name = name or REPLY_TEMPLATE
    folder = resolve_templates(path)
    try:
        environment(folder).get_template(name)
    except jinja2.TemplateNotFound:
        raise click.BadParameter(
            f"The templates folder {str(folder)!r} has no {name}; "
            "copy it from maildoctor's templates/ or drop --templates.",
            param_hint="--templates",
        ) from None
    except jinja2.TemplateError as e:
        raise click.BadParameter(
            f"{name} in {str(folder)!r} is broken: {e}", param_hint="--templates"
        ) from None
    return folder


def format_option(*choices: str, help: str = "Output format.") -> Callable[[F], F]:
    """``--format`` with these choices, the first being the default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help,
    )


def charset_option(help: str | None = None) -> Callable[[F], F]:
    """``--charset``: the charsets a notification can be rendered in, UTF-8 by default."""
    from maildoctor.mail.mime import CHARSETS

    return click.option(
        "--charset",
        type=click.Choice(CHARSETS),
        default="utf-8",
        show_default=True,
        help=help,
    )


def resolver_for(nameservers: Sequence[str], timeout: float, *, batch: bool = False) -> Any:
    """The DNS resolver for ``--nameserver`` values (none: the system's); a bad value
    is a usage error naming the option (exit 2), never a traceback. ``batch``: the
    c-ares one for a list (``make_batch_resolver``)."""
    from maildoctor.address.dnsprobe import DNSConfigError, make_batch_resolver, make_resolver

    try:
        return (make_batch_resolver if batch else make_resolver)(nameservers, timeout)
    except DNSConfigError as e:
        raise click.BadParameter(str(e), param_hint="--nameserver") from None


nameserver_option = click.option(
    "--nameserver",
    "nameservers",
    multiple=True,
    envvar="MAILDOCTOR_NAMESERVER",
    metavar="IP[:PORT]",
    help="DNS server to ask (repeatable; env MAILDOCTOR_NAMESERVER; default: the system's).",
)

dns_timeout_option = click.option(
    "--dns-timeout",
    type=Seconds(min=0.05),
    default=5.0,
    show_default=True,
    help="Seconds to wait for a DNS answer.",
)

dns_canary_option = click.option(
    "--dns-canary",
    "canaries",
    multiple=True,
    metavar="NAME",
    help="Name that must resolve before NXDOMAIN is trusted (replaces '.' NS and gmail.com MX).",
)

#: What ``check`` and ``diagnose`` take to reach DNS (the contract's options).
address_dns_options = _stack(
    nameserver_option,
    dns_timeout_option,
    dns_canary_option,
    click.option("--offline", is_flag=True, help="No DNS at all: static checks only."),
)


events_db_option = click.option(
    "--events-db",
    "events_db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MAILDOCTOR_EVENTS_DB",
    default=None,
    metavar="FILE",
    help="The delivery-records store (default: $MAILDOCTOR_EVENTS_DB, else events.sqlite3 "
    "beside the desk's history).",
)


def parse_hostport(value: str, *, option: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT``, ``PORT`` or ``[v6]:PORT`` -> (host, port)."""
    text = value.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    elif text.isdigit():
        host, port_text = "", text
    else:
        host, port_text = text, ""
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise click.BadParameter(
            f"{value!r} is not HOST:PORT with a port from 0 to 65535 (0 picks a free port).",
            param_hint=option,
        )
    return host or default_host, int(port_text)


def parse_auth_dns(values: tuple[str, ...], option: str = "--auth-dns") -> tuple[str, ...] | None:
    """The words of ``--auth-dns`` (and ``--desk-dns``, ``--check-dns``): nameservers as
    IP[:PORT], ``system`` (none given: the system's, ``()``) or ``off`` (None).

    A bad value is a usage error naming ``option``.
    """
    from maildoctor.address.dnsprobe import DNSConfigError, parse_nameserver

    words = {v.strip().lower() for v in values}
    if not values or words == {"system"}:
        return ()
    if words == {"off"}:
        return None
    if words & {"system", "off"}:
        raise click.BadParameter(
            "'system' and 'off' stand alone; otherwise give nameservers as IP[:PORT].",
            param_hint=option,
        )
    for value in values:
        try:
            parse_nameserver(value)
        except DNSConfigError as e:
            raise click.BadParameter(str(e), param_hint=option) from None
    return tuple(v.strip() for v in values)
