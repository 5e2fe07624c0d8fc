"""``maildoctor check``: parse options, run the checks, print; nothing else lives here."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from maildoctor.address import report
from maildoctor.address.check import CheckResult, check_many, exit_code
from maildoctor.cli.check_format import ResultFormatter
from maildoctor.cli.check_input import Record, read_input
from maildoctor.cli.options import (
    EMPTY_ADDRESS,
    address_dns_options,
    format_option,
    lang_option,
    reply_templates,
    resolver_for,
    templates_option,
    ticket_option,
)
from maildoctor.cli.probe_options import probe_json, probe_options, probe_settings, probe_text
from maildoctor.findings import Lang

#: How many results ``check --file`` holds at once (as text once formatted): ten times
#: check_many's default, so that the reader runs ahead while DNS answers and the
#: results held back by input order are ready when their turn comes (issue 24);
#: bounded, so memory does not grow with the list (about 45 MiB more at most, jsonl).
_WINDOW = 50_000


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


class _Output:
    """Standard output for results: written (and flushed) every 256 results, or at
    once on a terminal: click.echo flushes on every call, one write a result, which
    cost a batch of 100,000 addresses more CPU than its DNS answers (issue 24)."""

    BLOCK = 256

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.each = sys.stdout.isatty()

    def write(self, text: str) -> None:
        self.parts.append(text)
        if self.each or len(self.parts) >= self.BLOCK:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            click.echo("".join(self.parts), nl=False)
            self.parts.clear()


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
@click.option(
    "--dns-repair",
    is_flag=True,
    help="When a domain takes no mail, ask DNS about up to three likely repairs and "
    "suggest the one that takes mail (the repairs asked are listed). Off unless given.",
)
@templates_option
@probe_options
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
    probe: bool,
    probe_from: str,
    probe_helo: str | None,
    probe_host: str | None,
    dns_repair: bool,
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
      maildoctor check taro@example.co.jp --probe --probe-from postmaster@lentrance.com

    --probe (off by default) also asks the address's mail server whether it takes
    the address: RCPT TO only, never DATA, paced per server; docomo, au, SoftBank and
    the large webmails are never asked (their replies do not tell). It is shown in
    text, json and jsonl output, with a line saying whether a connection was made;
    an address the server refuses as such (user unknown...) makes the exit status 1.
    """
    if not addresses and file_ is None:
        raise click.UsageError("Give at least one ADDRESS or --file PATH (use '-' for stdin).")
    if any(not a.strip() for a in addresses):  # as diagnose: no address, not a verdict
        raise click.BadParameter(EMPTY_ADDRESS)
    if ticket != "not_arrived" and not reply:
        raise click.UsageError("--ticket chooses the reply draft: use it with --reply.")
    if probe and (fmt == "csv" or reply):
        raise click.UsageError(
            "--probe shows in --format text, json or jsonl (not csv or --reply)."
        )
    settings = probe_settings(probe_from, probe_helo, probe_host) if probe else None
    dns_probe = None
    if not offline:  # dnspython is imported only when DNS is asked
        from maildoctor.address.dnsprobe import DEFAULT_CANARIES, DNSProbe

        # A list (--file) asks through c-ares; addresses on the command line through dnspython.
        resolver = resolver_for(nameservers, dns_timeout, batch=file_ is not None)
        # The probe holds no socket or loop: it can be made before the loop runs.
        dns_probe = DNSProbe(
            resolver, canaries=canaries or DEFAULT_CANARIES, concurrency=concurrency
        )
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
    first = True
    # One object for one address given as an argument; an array for --file (even of
    # one row, or none) or several: one meaning per format name. The array streams
    # out item by item, so its memory does not grow with the list.
    json_array = fmt == "json" and not reply and (file_ is not None or len(records) != 1)

    async def run() -> set[str]:
        nonlocal first
        if settings is None and reply_renderer is None:
            # Each result is formatted as soon as it can be made (check_many's prepare),
            # long before its turn when its domain is answered: the results held back
            # by input order wait as text, not as work after the last DNS answer.
            popped = 0

            def prepare(index: int, result: CheckResult) -> tuple[str, str]:
                record = pending[index - popped]
                return result.verdict, render(result, record, index == 0)

            async for verdict, text in check_many(
                addresses_of(source),
                probe=dns_probe,
                lang=lang,
                repair=dns_repair,
                window=_WINDOW,
                prepare=prepare,
            ):
                pending.popleft()
                popped += 1
                verdicts.add(verdict)
                progress.tick()
                out.write(text)
                first = False
        else:
            limiter = None
            if settings is not None:
                from maildoctor.probe import ProbeSettings

                limiter = ProbeSettings.limiter()
            async for result in check_many(
                addresses_of(source), probe=dns_probe, lang=lang, repair=dns_repair
            ):
                probed = None
                if settings is not None and limiter is not None:
                    from maildoctor.probe import probe_address

                    target = result.normalized or result.address
                    probed = await probe_address(
                        target, result.mx, settings=settings, limiter=limiter, lang=lang
                    )
                verdicts.add(result.verdict)
                if probed is not None and probed.outcome == "undeliverable":
                    verdicts.add("undeliverable")  # the server said so: exit 1, as for check's own
                progress.tick()
                out.write(render(result, pending.popleft(), first, probed))
                first = False
        if json_array:
            from maildoctor.address.report import json_array_end

            out.write(json_array_end(not first))
        return verdicts

    def render(result: CheckResult, record: Record, first: bool, probed: Any = None) -> str:
        """One result's output, separators included (``first``: the first result)."""
        if reply_renderer is not None:
            return ("" if first else "-" * 40 + "\n") + reply_renderer(result)
        columns = _columns(record, extra) if extra else None
        if fmt == "json":
            text = formatter.format(result, columns)
            if probed is not None:
                text = probe_json(text, probed, indent=2)
            return report.json_array_part(text, first=first) if json_array else text
        text = _format_one(formatter, result, first, columns, bom)
        if probed is not None and fmt == "jsonl":
            text = probe_json(text, probed, indent=None)
        elif probed is not None:
            text = probe_text(text, probed, lang)
        return text

    formatter = ResultFormatter(fmt, lang, extra)
    out = _Output()
    # The run allocates a few objects an address and holds up to _WINDOW results:
    # with the collector's default thresholds its passes over them cost ~0.3 s of a
    # 100,000-address list's CPU, in the middle of the DNS waits (issue 24).
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 50, 100)
    try:
        asyncio.run(run())
    finally:
        gc.set_threshold(*thresholds)
        out.flush()
        progress.close()
    raise click.exceptions.Exit(exit_code(verdicts))  # type: ignore[arg-type]


def _columns(record: Record, extra: tuple[str, ...]) -> dict[str, str]:
    """The row's other columns (empty for an address given on the command line)."""
    return {name: record.columns.get(name, "") for name in extra}


def _chain(first: list[Record], rest: Iterator[Record]) -> Iterator[Record]:
    yield from first
    yield from rest


def _format_one(
    formatter: ResultFormatter,
    result: CheckResult,
    first: bool,
    columns: dict[str, str] | None,
    bom: bool,
) -> str:
    text = formatter.format(result, columns)
    if formatter.fmt == "jsonl":
        return text
    if formatter.fmt == "csv":
        head = ("\ufeff" if bom else "") + report.csv_header(formatter.extra) if first else ""
        return head + text
    return ("" if first else "\n") + text
