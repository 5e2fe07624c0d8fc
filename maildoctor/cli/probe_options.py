"""The mailbox probe's options, shared by ``check`` and ``diagnose`` (off by default)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from maildoctor.cli.options import envelope_sender, smtp_word

__all__ = ["probe_json", "probe_options", "probe_settings", "probe_text"]

F = TypeVar("F", bound=Callable[..., Any])


def probe_options(fn: F) -> F:
    """``--probe``, ``--probe-from``, ``--probe-helo``, ``--probe-host``."""
    options = [
        click.option(
            "--probe",
            is_flag=True,
            help="Also ask the recipient's mail server whether it takes the address "
            "(EHLO, MAIL FROM, RCPT TO the address and a random one, QUIT; never DATA). "
            "Off by default; the report says when a probe was made.",
        ),
        click.option(
            "--probe-from",
            metavar="ADDR",
            default="",
            envvar="MAILDOCTOR_PROBE_FROM",
            help="MAIL FROM of the probe (default: the null sender <>).",
        ),
        click.option(
            "--probe-helo",
            metavar="NAME",
            default=None,
            envvar="MAILDOCTOR_PROBE_HELO",
            help="EHLO name of the probe (default: this host's name).",
        ),
        click.option(
            "--probe-host",
            metavar="HOST:PORT",
            default=None,
            help="Probe this server instead of the domain's MX (a test server, a relay).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def probe_settings(probe_from: str, probe_helo: str | None, probe_host: str | None) -> Any:
    """The ``ProbeSettings`` the options ask for; a bad --probe-host exits 2."""
    from maildoctor.probe import ProbeSettings

    host = _host_port(probe_host) if probe_host is not None else None
    envelope_sender(probe_from, "--probe-from")
    if probe_helo is not None and not smtp_word(probe_helo):
        raise click.BadParameter(
            f"{probe_helo!r} is not a host name (ASCII letters, digits, dots and hyphens)",
            param_hint="--probe-helo",
        )
    kwargs: dict[str, Any] = {"mail_from": probe_from, "host": host}
    if probe_helo:
        kwargs["helo"] = probe_helo
    return ProbeSettings(**kwargs)


def _host_port(value: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT`` or ``[IPv6]:PORT`` (port 25 when not given); exits 2."""
    text = value.strip()
    host, port = text, "25"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ("" if rest else "25")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{value!r} is not HOST[:PORT]", param_hint="--probe-host")
    return host, int(port)


def probe_json(text: str, probed: Any, *, indent: int | None) -> str:
    """A report's JSON (an object, or an array of objects lined up with ``probed``)
    with the probe's result as ``probe`` in each object."""
    data = json.loads(text)
    results = probed if isinstance(probed, list) else [probed]
    rows = data if isinstance(data, list) else [data]
    for row, result in zip(rows, results, strict=True):
        row["probe"] = result.to_dict()
    separators = (",", ":") if indent is None else None
    return json.dumps(data, ensure_ascii=False, indent=indent, separators=separators) + "\n"


def probe_text(text: str, probed: Any, lang: Any) -> str:
    """A text or markdown report followed by the probe's lines."""
    from maildoctor.probe import format_probe_text

    return text.rstrip("\n") + "\n\n" + format_probe_text(probed, lang)
