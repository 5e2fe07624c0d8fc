"""``maildoctor check``: parse options, run the checks, print; nothing else lives here."""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click

from maildoctor.address.check import CheckResult, check_many, exit_code
from maildoctor.cli.check_input import Record, read_input
from maildoctor.cli.options import (
    address_dns_options,
    format_option,
    lang_option,
    reply_templates,
    resolver_for,
    templates_option,
    ticket_option,
)
from maildoctor.findings import Lang


class _Progress:
    """A counter on stderr (with the total when known), only when stderr is a terminal."""

    def __init__(self, enabled: bool, total: int | None = None) -> None:
        self.enabled = enabled
        self.total = total
        self.count = 0

    def _line(self) -> str:
        of = f"/{self.total}" if self.total is not None else ""
        return f"\rchecked {self.count}{of} addresses"

    def tick(self) -> None:
        self.count += 1
        if self.enabled and self.count % 500 == 0:
            click.echo(self._line(), err=True, nl=False)

    def close(self) -> None:
        if self.enabled and self.count >= 500:
            click.echo(self._line(), err=True)


@click.command("check")
@click.argument("addresses", nargs=-1)
@click.option(
    "--file",
    "file_",
    type=click.File("rb"),
    help="Read addresses from PATH ('-' for stdin): a CSV whose header names the address "
    "column (other columns are kept), or one address a line. UTF-8, UTF-16 or CP932.",
)
@format_option("text", "json", "jsonl", "csv")
@click.option(
    "--bom/--no-bom",
    default=True,
    show_default=True,
    help="Start --format csv output with a UTF-8 BOM, so that Excel reads it as UTF-8.",
)
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
    file_: IO[bytes] | None,
    fmt: str,
    bom: bool,
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
      maildoctor check --file members.csv --format csv > checked.csv
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
        from maildoctor.address.dnsprobe import DEFAULT_CANARIES, DNSProbe

        resolver = resolver_for(nameservers, dns_timeout)
        # The probe holds no socket or loop: it can be made before the loop runs.
        probe = DNSProbe(resolver, canaries=canaries or DEFAULT_CANARIES, concurrency=concurrency)
    records: list[Record] = [Record(address=a) for a in addresses]
    table = read_input(file_) if file_ is not None else None
    extra = table.extra_columns if table is not None else ()
    source = _chain(records, table.records() if table is not None else iter(()))
    pending: deque[Record] = deque()

    def addresses_of(items: Iterator[Record]) -> Iterator[str]:
        # check_many keeps input order, so the records line up with the results.
        for record in items:
            pending.append(record)
            yield record.address

    show_progress = file_ is not None and sys.stderr.isatty()
    # The total costs one more pass over the file: only a terminal shows it.
    total = len(records) + table.count() if show_progress and table is not None else None
    progress = _Progress(enabled=show_progress, total=total)
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

    collected_columns: list[dict[str, str]] = []

    async def run() -> set[str]:
        async for result in check_many(addresses_of(source), probe=probe, lang=lang):
            emit(result, pending.popleft())
        if fmt == "json" and not reply:
            from maildoctor.address.report import format_json

            # One object for one address given as an argument; an array for --file
            # (even of one row, or none) or several: one meaning per format name.
            array = file_ is not None or len(collected) != 1
            columns = collected_columns if extra else None
            click.echo(format_json(collected, columns, array=array), nl=False)
        return verdicts

    def emit(result: CheckResult, record: Record) -> None:
        nonlocal first
        verdicts.add(result.verdict)
        progress.tick()
        if reply_renderer is not None:
            if not first:
                click.echo("-" * 40)
            click.echo(reply_renderer(result), nl=False)
        elif fmt == "json":
            collected.append(result)
            collected_columns.append(_columns(record, extra))
        else:
            columns = _columns(record, extra) if extra else None
            click.echo(_format_one(result, fmt, lang, first, columns, extra, bom), nl=False)
        first = False

    try:
        asyncio.run(run())
    finally:
        progress.close()
    sys.exit(exit_code(verdicts))  # type: ignore[arg-type]


def _columns(record: Record, extra: tuple[str, ...]) -> dict[str, str]:
    """The row's other columns (empty for an address given on the command line)."""
    return {name: record.columns.get(name, "") for name in extra}


def _chain(first: list[Record], rest: Iterator[Record]) -> Iterator[Record]:
    yield from first
    yield from rest


def _format_one(
    result: CheckResult,
    fmt: str,
    lang: Lang,
    first: bool,
    columns: dict[str, str] | None,
    extra: tuple[str, ...],
    bom: bool,
) -> str:
    from maildoctor.address import report

    if fmt == "jsonl":
        return report.format_jsonl(result, columns)
    if fmt == "csv":
        head = ("\ufeff" if bom else "") + report.csv_header(extra) if first else ""
        return head + report.format_csv_row(result, [columns[n] for n in extra] if columns else ())
    return ("" if first else "\n") + report.format_text(result, lang)
