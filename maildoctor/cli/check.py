"""``maildoctor check``: parse options, run the checks, print; nothing else lives here."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import click

from maildoctor.address.check import CheckResult, check_many, exit_code
from maildoctor.cli.options import (
    address_dns_options,
    format_option,
    input_not_utf8,
    lang_option,
    reply_templates,
    templates_option,
    ticket_option,
)
from maildoctor.findings import Lang


def _lines(stream: IO[str]) -> Iterator[str]:
    """Addresses of a file, one a line; blank lines skipped, spaces kept (IME input)."""
    for number, line in enumerate(stream):
        text = line.rstrip("\r\n")
        if number == 0:
            text = text.removeprefix("\ufeff")
        if text.strip():
            yield text


class _Progress:
    """A counter on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.count = 0

    def tick(self) -> None:
        self.count += 1
        if self.enabled and self.count % 500 == 0:
            click.echo(f"\rchecked {self.count} addresses", err=True, nl=False)

    def close(self) -> None:
        if self.enabled and self.count >= 500:
            click.echo(f"\rchecked {self.count} addresses", err=True)


@click.command("check")
@click.argument("addresses", nargs=-1)
@click.option(
    "--file",
    "file_",
    type=click.File("r", encoding="utf-8"),
    help="Read addresses from PATH, one a line ('-' for stdin).",
)
@format_option("text", "json", "jsonl", "csv")
@lang_option
@click.option("--reply", is_flag=True, help="Print a Japanese reply draft to the customer.")
@ticket_option
@address_dns_options
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=1000),
    default=20,
    show_default=True,
    help="Most DNS queries in flight at once.",
)
@templates_option
def command(
    addresses: tuple[str, ...],
    file_: IO[str] | None,
    fmt: str,
    lang: Lang,
    reply: bool,
    ticket: str,
    nameservers: tuple[str, ...],
    dns_timeout: float,
    canaries: tuple[str, ...],
    offline: bool,
    concurrency: int,
    templates_dir: Path | None,
) -> None:
    """Check addresses for the causes of non-delivery.

    Prints a verdict (ok, risky, undeliverable, unknown) per address with the
    findings, a suggested correction and the FAQ's advice. Exit status: 0 all ok,
    1 some risky or undeliverable, 3 some unknown (DNS could not tell), 2 usage error.

    \b
    Examples:
      maildoctor check taro@gmial.com
      maildoctor check --file members.txt --format jsonl --concurrency 50
      maildoctor check taro..yamada@docomo.ne.jp --offline --reply
      maildoctor check taro@gmail.com --reply --ticket login_trouble
    """
    if not addresses and file_ is None:
        raise click.UsageError("Give at least one ADDRESS or --file PATH (use '-' for stdin).")
    if ticket != "not_arrived" and not reply:
        raise click.UsageError("--ticket chooses the reply draft: use it with --reply.")
    probe = None
    if not offline:  # dnspython is imported only when DNS is asked
        from maildoctor.address.dnsprobe import (
            DEFAULT_CANARIES,
            DNSConfigError,
            DNSProbe,
            make_resolver,
        )

        try:
            resolver = make_resolver(nameservers, dns_timeout)
        except DNSConfigError as e:
            raise click.BadParameter(str(e), param_hint="--nameserver") from None
        # The probe holds no socket or loop: it can be made before the loop runs.
        probe = DNSProbe(resolver, canaries=canaries or DEFAULT_CANARIES, concurrency=concurrency)
    source: Iterable[str] = list(addresses)
    if file_ is not None:
        source = _chain(addresses, _lines(file_))
    progress = _Progress(enabled=file_ is not None and sys.stderr.isatty())
    reply_renderer = None
    if reply:
        from maildoctor.diagnose.reply import format_ticket_reply
        from maildoctor.tickets import ticket as ticket_of

        kind = ticket_of(ticket)
        folder = reply_templates(templates_dir, kind.reply)

        def reply_renderer(result: CheckResult) -> str:
            return format_ticket_reply(result, kind, folder)

    verdicts: set[str] = set()
    collected: list[CheckResult] = []
    first = True

    async def run() -> set[str]:
        async for result in check_many(source, probe=probe, lang=lang):
            emit(result)
        if collected:
            from maildoctor.address.report import format_json

            click.echo(format_json(collected), nl=False)
        return verdicts

    def emit(result: CheckResult) -> None:
        nonlocal first
        verdicts.add(result.verdict)
        progress.tick()
        if reply_renderer is not None:
            if not first:
                click.echo("-" * 40)
            click.echo(reply_renderer(result), nl=False)
        elif fmt == "json":
            collected.append(result)
        else:
            click.echo(_format_one(result, fmt, lang, first), nl=False)
        first = False

    try:
        asyncio.run(run())
    except UnicodeDecodeError as e:
        input_not_utf8(e)
    finally:
        progress.close()
    sys.exit(exit_code(verdicts))  # type: ignore[arg-type]


def _chain(first: Iterable[str], rest: Iterable[str]) -> Iterator[str]:
    yield from first
    yield from rest


def _format_one(result: CheckResult, fmt: str, lang: Lang, first: bool) -> str:
    from maildoctor.address import report

    if fmt == "jsonl":
        return report.format_jsonl(result)
    if fmt == "csv":
        return (report.csv_header() if first else "") + report.format_csv_row(result)
    return ("" if first else "\n") + report.format_text(result, lang)
