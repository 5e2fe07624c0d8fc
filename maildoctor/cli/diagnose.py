"""``maildoctor diagnose``: parse options, run check + trial + advice, print."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
from click.core import ParameterSource

from maildoctor.cli.check_input import Record, read_input
from maildoctor.cli.options import (
    EMPTY_ADDRESS,
    CouldNotRun,
    address_dns_options,
    days_range,
    events_db_option,
    lang_option,
    reply_templates,
    resolver_for,
    templates_option,
    ticket_option,
)
from maildoctor.cli.probe_options import probe_json, probe_options, probe_settings, probe_text
from maildoctor.diagnose.diagnosis import DEFAULT_TEMPLATE
from maildoctor.diagnose.paste import MAX_PASTE, Paste, intake_lines, read_paste
from maildoctor.findings import Lang


@click.command("diagnose")
@click.argument("address", required=False, metavar="ADDRESS_OR_TEXT")
@click.option(
    "--file",
    "file_",
    type=click.File("rb"),
    help="A tickets CSV whose header names the address column (other columns are kept), "
    "or one address a line; '-' for stdin. UTF-8, UTF-16 or CP932, as for check --file.",
)
@ticket_option
@click.option(
    "--template",
    default=None,
    help="The notification to render and deliver in the trial "
    f"(default: the one the ticket is about; {DEFAULT_TEMPLATE} for not_arrived).",
)
@lang_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "jsonl", "markdown"]),
    default="text",
    show_default=True,
    help="json: one JSON document (an array with --file), jsonl: one JSON object a line.",
)
@address_dns_options
@click.option(
    "--db",
    type=click.Path(path_type=Path),
    help="The harness database for the trial (default: the user's data directory).",
)
@templates_option
@events_db_option
@click.option(
    "--events-days",
    type=days_range(),
    default=90,
    show_default=True,
    help="How far back the delivery records are searched (0: all kept).",
)
@probe_options
@click.pass_context
def command(
    ctx: click.Context,
    address: str | None,
    file_: IO[bytes] | None,
    ticket: str,
    template: str | None,
    lang: Lang,
    fmt: str,
    nameservers: tuple[str, ...],
    dns_timeout: float,
    canaries: tuple[str, ...],
    offline: bool,
    db: Path | None,
    events_db: Path | None,
    events_days: int,
    templates_dir: Path | None,
    probe: bool,
    probe_from: str,
    probe_helo: str | None,
    probe_host: str | None,
) -> None:
    """Diagnose why mail to ADDRESS did not arrive, and what the customer should do.

    ADDRESS_OR_TEXT may be what the customer wrote, pasted as it is (or '-' to read
    it from stdin): Japanese prose around the address, a forwarded mail or ticket
    export with its headers, or the text of a bounce. The address, the customer's
    name (the draft greets them by it) and, without --ticket, the ticket type are
    read from it (maildoctor.diagnose.paste.read_paste; JSON output adds "intake").

    Checks the address, delivers the notification to an in-process SMTP
    harness under each of the carrier's filter settings, and prints the advice
    in order of likelihood with a reply draft. Exit status as for check: 0 ok,
    1 risky or undeliverable, 3 unknown (DNS could not tell), 2 usage error;
    4 when the trial's harness failed (its database cannot be opened or written).

    \b
    Examples:
      maildoctor diagnose taro@docomo.ne.jp
      maildoctor diagnose taro@gmial.com --format markdown
      maildoctor diagnose --file tickets.csv --format jsonl > reports.jsonl
      maildoctor diagnose taro@docomo.ne.jp --ticket customer_number
      maildoctor diagnose "山田です。登録したアドレスはtaro@docomo.ne.jpです。届きません"
      pbpaste | maildoctor diagnose -

    --probe (off by default) also asks the address's mail server whether it takes
    the address, as check --probe does (RCPT TO only, never DATA).
    """
    from maildoctor.address.check import exit_code
    from maildoctor.diagnose import diagnosis as dg
    from maildoctor.diagnose import report as fmt_
    from maildoctor.diagnose.spoofing import published_sender_auth
    from maildoctor.mail.render import load_template
    from maildoctor.mail.templating import TemplatingError
    from maildoctor.tickets import ticket as ticket_of

    paste = None
    if address is not None and file_ is None:
        paste = _read_pasted(address)
        if paste is not None:
            address = paste.address
            if ctx.get_parameter_source("ticket") is ParameterSource.DEFAULT:
                ticket = paste.ticket_type
        elif address == "-":
            raise click.UsageError("No email address was found in the text on stdin.")
    kind = ticket_of(ticket)
    if (address is None) == (file_ is None):
        raise click.UsageError("Give one ADDRESS or --file PATH (not both).")
    if address is not None and not address.strip():
        raise click.BadParameter(EMPTY_ADDRESS)
    templates_dir = reply_templates(templates_dir, kind.reply)
    try:
        load_template(template or kind.template, templates_dir)
    except TemplatingError as e:
        raise click.BadParameter(str(e), param_hint="--template") from None
    resolver = None
    if not offline:
        resolver = resolver_for(nameservers, dns_timeout)
    # The same reader as check --file: encodings, the address column by name, a lone
    # CR kept in its address, an empty input said on stderr.
    rows: Iterator[Record] = (
        iter([Record(address=address or "")])
        if file_ is None
        else read_input(file_, verb="diagnose").records()
    )
    show_progress = file_ is not None and sys.stderr.isatty()

    settings = probe_settings(probe_from, probe_helo, probe_host) if probe else None

    def render(result: dg.DiagnoseResult, first: bool, probed: Any = None) -> str:
        if fmt == "jsonl":
            line = fmt_.format_jsonl(result)
            return probe_json(line, probed, indent=None) if probed is not None else line
        if fmt == "json":
            whole = fmt_.format_json(result)
            if probed is not None:
                whole = probe_json(whole, probed, indent=2)
            if file_ is None:
                return whole
            # an array, written as the rows come (a batch can be long)
            item = "\n".join("  " + line for line in whole.splitlines())
            return ("[\n" if first else ",\n") + item
        text = (
            fmt_.format_markdown(result, lang)
            if fmt == "markdown"
            else fmt_.format_text(result, lang)
        )
        if probed is not None:
            text = probe_text(text, probed, lang)
        return text if first else ("\n" + "=" * 72 + "\n\n" + text)

    def addresses() -> Iterator[Record]:
        for number, row in enumerate(rows, 1):
            if not row.address.strip():  # a blank cell is no address: skipped, said why
                click.echo(f"Skipped row {number}: no address.", err=True)
                continue
            yield row

    async def run() -> set[str]:
        probe = None
        if resolver is not None:
            from maildoctor.address.dnsprobe import DEFAULT_CANARIES, DNSProbe

            probe = DNSProbe(resolver, canaries=canaries or DEFAULT_CANARIES)
        # lentrance.com's authentication decides the spoofing rows (item 6, issue 10).
        sender_auth = await published_sender_auth(
            probe, nameservers, timeout=dns_timeout, lang=lang
        )
        verdicts: set[str] = set()
        limiter: Any = None
        with harness as running:
            count = 0
            for row in addresses():
                diagnosis = await dg.diagnose(
                    row.address,
                    running,
                    probe=probe,
                    sender_auth=sender_auth,
                    ticket=kind,
                    template=template,
                    templates_dir=templates_dir,
                    lang=lang,
                    events_db=events_db,
                    events_days=events_days,
                    paste=paste,
                    extra=dict(row.columns),
                )
                result = diagnosis.check
                if paste is not None and fmt != "json":
                    click.echo(intake_lines(paste, lang, kind.id), nl=False)
                probed = None
                if settings is not None:
                    from maildoctor.probe import ProbeSettings, probe_address

                    limiter = limiter or ProbeSettings.limiter()
                    target = result.normalized or result.address
                    probed = await probe_address(
                        target, result.mx, settings=settings, limiter=limiter, lang=lang
                    )
                    if probed.outcome == "undeliverable":
                        verdicts.add("undeliverable")
                click.echo(render(diagnosis, count == 0, probed), nl=False)
                verdicts.add(result.verdict)
                count += 1
                if show_progress:
                    click.echo(f"\rdiagnosed {count}", err=True, nl=False)
            if show_progress:
                click.echo("", err=True)
            if fmt == "json" and file_ is not None:
                click.echo("\n]" if count else "[]")
        return verdicts

    from maildoctor.harness.store import StoreError

    try:
        harness = dg.start_harness(db or dg.default_db())
    except (StoreError, OSError) as e:
        raise CouldNotRun(f"the delivery-trial harness could not start: {e}") from e
    try:
        verdicts = asyncio.run(run())
    except dg.TrialFailed as e:
        # A harness failure, not a carrier's decision: no verdict for this address.
        raise CouldNotRun(f"the delivery trial failed: {e}") from e
    raise click.exceptions.Exit(exit_code(verdicts))  # type: ignore[arg-type]


def _read_pasted(argument: str) -> Paste | None:
    """The paste reader's reading of ADDRESS_OR_TEXT ('-': stdin, in any encoding
    check --file reads), or None when it is one address or holds none: that is
    diagnosed as given, so that the check says what is wrong with it."""
    from maildoctor.address.intake import InputError, decode_bytes

    text = argument
    if argument == "-":
        data = sys.stdin.buffer.read(MAX_PASTE * 4 + 1)
        try:
            text = decode_bytes(data).text
        except InputError as e:
            raise click.UsageError(f"stdin: {e}") from None
    if len(text) > MAX_PASTE:
        raise click.UsageError(
            f"The text is {len(text)} characters long, more than {MAX_PASTE}; "
            "paste only the customer's message."
        )
    paste = read_paste(text)
    if paste.address is None or (paste.kind == "address" and argument != "-"):
        return None
    return paste
