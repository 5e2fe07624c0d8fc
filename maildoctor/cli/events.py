"""``maildoctor events``: ingest delivery records, show an address's timeline, list suppressions."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from maildoctor.cli.options import (
    CouldNotRun,
    InputError,
    days_range,
    events_db_option,
    lang_option,
)
from maildoctor.spreadsheet import csv_text

__all__ = ["command"]


def _store(path: Path | None, *, create: bool) -> Any:
    from maildoctor.events import EventStore, EventStoreError, default_events_db

    try:
        return EventStore(path or default_events_db(), create=create)
    except EventStoreError as e:
        raise CouldNotRun(str(e)) from e


def _zone(name: str | None) -> Any:
    if not name:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"{name!r} is not a time zone name.", param_hint="--log-zone"
        ) from None


def _csv(header: tuple[str, ...], rows: list[list[str]]) -> str:
    return csv_text(header, rows, crlf=True)


@click.group("events")
def command() -> None:
    """Delivery records: what actually happened to our mail (MTA log, ESP events,
    bounces, the harness's deliveries), kept per address."""


@command.command("ingest")
@click.argument("sources", nargs=-1)
@click.option(
    "--follow",
    "follow_path",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Keep reading a Postfix log as it grows, across rotations, until stopped.",
)
@click.option(
    "--log-zone",
    default=None,
    metavar="ZONE",
    help="Time zone of log lines that carry none (classic syslog), e.g. Asia/Tokyo "
    "(default: this machine's).",
)
@click.option(
    "--events-days",
    type=days_range(),
    default=90,
    show_default=True,
    help="Keep records this many days, pruning older ones (0 keeps all).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@events_db_option
def ingest(
    sources: tuple[str, ...],
    follow_path: str | None,
    log_zone: str | None,
    events_days: int,
    fmt: str,
    events_db: Path | None,
) -> None:
    """Read SOURCE... (files, Maildir/bounce folders, a harness store, or - for stdin):
    Postfix logs, SES/SNS and SendGrid events as JSON, bounces, the harness's deliveries.

    Ingesting the same source twice adds nothing. Exit 1 when a source or some of its
    lines could not be read (one line each; the rest is ingested), 4 when the store
    cannot be written.
    """
    from maildoctor.events import EventStoreError
    from maildoctor.events.ingest import follow, ingest_source

    if not sources and not follow_path:
        raise click.UsageError("Give SOURCE... (files, folders, - for stdin) or --follow FILE.")
    zone = _zone(log_zone)
    store = _store(events_db, create=True)
    failed = False
    reports = []
    try:
        for source in sources:
            report = ingest_source(store, source, stdin=sys.stdin.buffer, zone=zone)
            reports.append(report)
            name = source
            if report.error:
                failed = True
                click.echo(f"error: {name}: {report.error}", err=True)
                continue
            for note in report.notes:
                click.echo(f"note: {name}: {note}", err=True)
            failed = failed or report.unreadable > 0
            if fmt == "text":
                click.echo(
                    f"{name}: {report.kind}, {report.read} read, {report.events} records "
                    f"({report.added} new), {report.skipped} skipped, "
                    f"{report.unreadable} unreadable"
                )
        if follow_path:
            stopping = {"now": False}

            def stop(*_: object) -> None:
                stopping["now"] = True

            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, stop)

            def progress(r: Any) -> None:
                click.echo(f"{follow_path}: {r.events} records ({r.added} new)")

            reports.append(
                follow(
                    store,
                    follow_path,
                    stop=lambda: stopping["now"],
                    on_batch=progress,
                    on_ready=lambda: click.echo(
                        f"following {follow_path} (Ctrl-C stops)", err=True
                    ),
                    poll=0.5,
                    zone=zone,
                )
            )
        pruned = store.prune(events_days)
    except EventStoreError as e:
        raise CouldNotRun(str(e)) from e
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps({"sources": [r.to_dict() for r in reports], "pruned": pruned}))
    elif pruned:
        click.echo(f"pruned {pruned} records older than {events_days} days")
    if failed:
        raise click.exceptions.Exit(1)


@command.command("show")
@click.argument("address")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "jsonl", "csv"]), default="text"
)
@click.option(
    "--days",
    type=days_range(),
    default=90,
    show_default=True,
    help="How far back to look (0: everything kept).",
)
@lang_option
@events_db_option
def show(address: str, fmt: str, days: int, lang: str, events_db: Path | None) -> None:
    """One address's timeline, newest first, and whether we stopped sending to it."""
    from maildoctor.events import EventStoreError, address_key
    from maildoctor.events.lookup import lookup
    from maildoctor.events.report import CSV_COLUMNS, csv_row, format_text

    if "@" not in address_key(address):  # ＠ typed through an IME is an @
        raise InputError(f"{address!r} is not an address (no @).")
    store = _store(events_db, create=False)
    try:
        record = lookup(store, address, days=days)
    except EventStoreError as e:
        raise CouldNotRun(str(e)) from e
    finally:
        store.close()
    if fmt == "json":
        rows = [ev.to_dict() for ev in record.events]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "jsonl":
        for ev in record.events:
            click.echo(json.dumps(ev.to_dict(), ensure_ascii=False))
    elif fmt == "csv":
        click.echo(_csv(CSV_COLUMNS, [csv_row(ev) for ev in record.events]), nl=False)
    else:
        text = format_text(record.address, list(record.events), record.suppression, lang)  # type: ignore[arg-type]
        click.echo(text, nl=False)


@command.command("suppressed")
@click.option(
    "--days",
    type=days_range(),
    default=90,
    show_default=True,
    help="Records of this many days count (0: everything kept).",
)
@events_db_option
def suppressed(days: int, events_db: Path | None) -> None:
    """The addresses we no longer send to, and why (CSV)."""
    from maildoctor.events import EventStoreError
    from maildoctor.events.lookup import lookup
    from maildoctor.events.report import SUPPRESSED_COLUMNS, suppressed_row

    store = _store(events_db, create=False)
    rows = []
    try:
        candidates = store.addresses(("bounced", "expired", "complaint", "dropped", "suppressed"))
        for address in candidates:
            found = lookup(store, address, days=days).suppression
            if found is not None:
                rows.append(suppressed_row(found))
    except EventStoreError as e:
        raise CouldNotRun(str(e)) from e
    finally:
        store.close()
    click.echo(_csv(SUPPRESSED_COLUMNS, rows), nl=False)
