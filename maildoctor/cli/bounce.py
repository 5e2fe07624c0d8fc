"""``maildoctor bounce SOURCE...``: explain bounces one by one or in bulk (files, folders,
Maildir, mbox, ``-``), summarise them, and write a suppression list."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click

from maildoctor.bounce import Explanation, NotABounce, explain
from maildoctor.bounce.batch import ReplyTargets, Summary, Suppression
from maildoctor.bounce.inputs import Message, expand, messages
from maildoctor.bounce.report import explanation_dict, format_reply, format_text, reply_template
from maildoctor.cli.options import (
    days_range,
    format_option,
    lang_option,
    reply_templates,
    templates_option,
    write_failure,
)
from maildoctor.findings import Lang
from maildoctor.spreadsheet import csv_line
from maildoctor.words import display_width, reason_label, words

#: NotABounce's codes, each with its line in words.toml [bounce_cli]
_NOT_A_BOUNCE = ("not_an_email", "no_failure", "empty", "no_recipients")
_CSV_FIELDS = (
    "file",
    "kind",
    "recipient",
    "reason",
    "hard_bounce",
    "status",
    "reply_code",
    "carrier",
    "mta",
    "remote_mta",
    "decided_by",
    "date",
    "diagnostic",
    "error",
)


def _csv_line(values: list[object]) -> str:
    return csv_line(values)


#: A bounce's own Message-ID (in its header block, before the first blank line).
_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(?:\r?\n[ \t]+)?(<[^>\r\n]{1,998}>)", re.I | re.M)
#: How much of a message is searched for its header block.
_HEADER_BYTES = 64 * 1024


def message_id(raw: bytes) -> str | None:
    """The bounce's Message-ID, or None when its header block has none."""
    head = raw[:_HEADER_BYTES]
    end = re.search(rb"\r?\n\r?\n", head)
    found = _MESSAGE_ID.search(head[: end.start()] if end else head)
    return found.group(1).decode("ascii", "replace") if found else None


def _explain_each(
    files: list[str], lang: Lang, problems: list[str]
) -> Iterator[tuple[int, str, tuple[Explanation, ...] | None, str]]:
    """(file index, name, explanations or None, error code) per message; never raises.

    The same bounce given twice (a Maildir and an mbox of it) is explained once: a
    message whose Message-ID was seen is skipped and said, so that it counts once in
    --summary and the suppression list.
    """
    # A 64-bit hash of each Message-ID to where it was first seen (the file's index and
    # the message's number in it): two ints a message, not its ID and name.
    seen: dict[int, int] = {}
    numbers = [0] * len(files)
    for index, message in messages(files):
        numbers[index] += 1
        key = message_id(message.raw) if not message.error else None
        digest = _digest(key) if key is not None else None
        if key is not None and digest in seen:
            said = words("bounce_cli", lang)["duplicate"]
            first = _first_name(files, numbers, seen[digest])
            problems.append(said.format(file=message.name, first=first, message_id=key))
            continue
        if digest is not None:
            seen[digest] = index << 32 | numbers[index]
        found, code, line = _explain_one(message, lang)
        if line:
            problems.append(line)
        yield index, message.name, found, code


def _digest(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


def _first_name(files: list[str], numbers: list[int], where: int) -> str:
    """The name :func:`messages` gave the message at ``where`` (file index, number)."""
    index, number = where >> 32, where & 0xFFFFFFFF
    # A file's only message carries the file's name; an mbox's messages their numbers
    # (the file has several once a second one of it was counted).
    return f"{files[index]}#{number}" if numbers[index] > 1 else files[index]


def _explain_one(message: Message, lang: Lang) -> tuple[tuple[Explanation, ...] | None, str, str]:
    said = words("bounce_cli", lang)
    if message.error:
        return None, "unreadable", said["unreadable"].format(file=message.name, why=message.error)
    try:
        return explain(message.raw), "", ""
    except NotABounce as e:
        key = e.code if e.code in _NOT_A_BOUNCE else "no_failure"
        return None, e.code, said[key].format(file=message.name)
    except Exception as e:  # a parser bug on one message must not end a bulk run
        return (
            None,
            "unparsable",
            said["unparsable"].format(file=message.name, why=type(e).__name__),
        )


@click.command()
@click.argument("sources", nargs=-1, required=True)
@format_option(
    "text",
    "json",
    "jsonl",
    "csv",
    help="text for people; json: one array; jsonl: one object a line; csv: one row per recipient.",
)
@click.option(
    "--summary",
    is_flag=True,
    help="Counts by kind, reason, carrier, hard/soft and day instead of one report per recipient.",
)
@click.option(
    "--suppress",
    "suppress_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the suppression list (CSV) to FILE.",
)
@click.option(
    "--soft-limit",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Soft bounces of one address that put it on the suppression list...",
)
@click.option(
    "--soft-days",
    type=days_range(min=1),
    default=7,
    show_default=True,
    help="...when they fall within this many days.",
)
@click.option("--reply", is_flag=True, help="Print the Japanese reply draft to the customer.")
@click.option(
    "--address", help="With --reply: the customer's address (default: every failed recipient)."
)
@templates_option
@lang_option
def command(
    sources: tuple[str, ...],
    fmt: str,
    summary: bool,
    suppress_file: Path | None,
    soft_limit: int,
    soft_days: int,
    reply: bool,
    address: str | None,
    templates_dir: Path | None,
    lang: Lang,
) -> None:
    """Explain bounce messages: per failed recipient, the reason (Sisimai's names), the
    status and reply codes, the remote server's words, who wrote the bounce, and the
    FAQ advice that fits. SOURCE is a file (.eml or mbox), a folder (read recursively;
    a Maildir too) or - for standard input. Delivery reports, auto-replies and
    feedback (ARF) reports are recognised and kept apart from bounces.

    Exit status: 0 when every message was explained, 1 when some file was not a bounce
    or could not be read or parsed (one line each on stderr; the run goes on).

    \b
    Examples:
      maildoctor bounce bounce.eml
      maildoctor bounce ~/Maildir --summary
      maildoctor bounce bounces.mbox --format csv --suppress suppress.csv
      maildoctor bounce bounce.eml --reply
    """
    # The reply template is checked before any work: missing or broken is a usage error.
    folder = reply_templates(templates_dir, reply_template(lang)) if reply else None
    files = expand(sources)
    if not files:
        click.echo(
            words("bounce_cli", lang)["no_files"].format(sources=" ".join(sources)), err=True
        )
        raise click.exceptions.Exit(1)
    problems: list[str] = []
    # What --summary, --suppress and --reply need, added up as the bounces stream by:
    # counters and one record per address, never every explanation.
    tally = Summary() if summary else None
    suppression = Suppression(soft_limit=soft_limit, soft_days=soft_days) if suppress_file else None
    targets = ReplyTargets(address) if reply else None
    unreadable = 0
    written = 0  # reports written: each is written as it is made, none is held
    failed = False
    out = sys.stdout
    stream = not summary and not reply
    show_bar = sys.stderr.isatty() and len(files) > 1
    bar_cm: Any = (
        click.progressbar(length=len(files), file=sys.stderr, label="bounce", show_pos=True)
        if show_bar
        else nullcontext()
    )
    if stream and fmt == "csv":
        out.write(_csv_line(list(_CSV_FIELDS)))
    last_index = -1
    with bar_cm as bar:
        for index, name, found, code in _explain_each(files, lang, problems):
            if bar is not None and index != last_index:
                bar.update(index - last_index)
                last_index = index
            if not show_bar:
                for line in problems:
                    click.echo(line, err=True)
                problems.clear()
            if found is None:
                failed = True
                unreadable += 1
                if stream:
                    written += _emit_error(out, fmt, name, code, written)
                continue
            for e in found:
                for sink in (tally, suppression, targets):
                    if sink is not None:
                        sink.add(e)
            if summary or reply:
                continue
            if fmt == "text":
                out.write(("\n\n" if written else "") + format_text(name, found, lang))
                written += 1
                continue
            for e in found:
                out.write(_row(fmt, explanation_dict(e, lang, file=name), written))
                written += 1
        if bar is not None:
            bar.update(len(files) - 1 - last_index)
    for line in problems:
        click.echo(line, err=True)

    if targets is not None:
        drafts = [format_reply(e, folder, lang) for e in targets.targets()]
        if not drafts:
            click.echo(
                words("bounce_cli", lang)["no_reply"].format(address=address or ""), err=True
            )
            raise click.exceptions.Exit(1)
        click.echo("\n\n".join(drafts), nl=False)
    elif tally is not None:
        _print_summary(out, fmt, tally.result(errors=unreadable), lang)
    elif fmt == "json":
        out.write("\n]\n" if written else "[]\n")  # the array's end (json.dumps's layout)
    elif fmt == "text" and written:
        out.write("\n")
    if suppress_file is not None and suppression is not None:
        _write_suppression(suppress_file, suppression, lang)
    if failed:
        raise click.exceptions.Exit(1)


def _emit_error(out: Any, fmt: str, name: str, code: str, written: int) -> int:
    """Write a message that was not explained as its row (none in text: stderr says it);
    how many reports were written."""
    record = {"file": name, "error": code}
    if fmt == "text":
        return 0
    if fmt == "csv":
        out.write(_csv_line([name, *[""] * (len(_CSV_FIELDS) - 2), code]))
    else:
        out.write(_row(fmt, record, written))
    return 1


def _row(fmt: str, record: dict[str, Any], written: int) -> str:
    """One report: a line of jsonl or csv, or the next item of the json array."""
    if fmt == "jsonl":
        return json.dumps(record, ensure_ascii=False) + "\n"
    if fmt == "json":
        item = json.dumps(record, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        return ("[\n  " if not written else ",\n  ") + item
    carrier = record["carrier"]["id"] if record.get("carrier") else ""
    flat = {**record, "carrier": carrier, "error": ""}
    return _csv_line([flat.get(k) for k in _CSV_FIELDS])


def _print_summary(out: Any, fmt: str, data: dict[str, Any], lang: Lang) -> None:
    if fmt in ("json", "jsonl"):
        indent = 2 if fmt == "json" else None
        out.write(json.dumps(data, ensure_ascii=False, indent=indent) + "\n")
        return
    if fmt == "csv":
        out.write(_csv_line(["dimension", "key", "count"]))
        out.write(_csv_line(["messages_unreadable", "", data["messages_unreadable"]]))
        for dim in ("by_kind", "by_reason", "by_carrier", "hard_soft", "by_day"):
            for key, count in data[dim].items():
                out.write(_csv_line([dim, key, count]))
        return
    said = words("bounce_cli", lang)
    lines = [f"{said['summary_unreadable']}: {data['messages_unreadable']}"]
    kinds = words("bounce_report", lang)
    named: dict[str, Callable[[str], str]] = {  # a reason's name, hard or soft in words
        "by_reason": lambda key: f"{reason_label(key, lang)} [{key}]",
        "hard_soft": lambda key: kinds.get(key) or key,
    }
    for dim in ("by_kind", "by_reason", "by_carrier", "hard_soft", "by_day"):
        lines.append(f"{said['summary_' + dim]}:")
        name_of = named.get(dim, str)
        rows = [(name_of(key), count) for key, count in data[dim].items()]
        pad = max([24, *(display_width(name) for name, _ in rows)])
        lines.extend(
            f"  {name}{' ' * (pad - display_width(name))} {count:>7}" for name, count in rows
        )
    out.write("\n".join(lines) + "\n")


#: the last three say why: the rule that read the deciding bounce, its status, its words
_SUPPRESS_FIELDS = (
    "address", "reason", "hard", "first_seen", "last_seen", "count", "decided_by",
    "rule", "status", "words",
)  # fmt: skip


def _write_suppression(path: Path, suppression: Suppression, lang: Lang) -> None:
    rows = suppression.rows()
    lines = [_csv_line(list(_SUPPRESS_FIELDS))]
    for r in rows:
        lines.append(
            _csv_line(
                [
                    r.address,
                    r.reason,
                    "true" if r.hard else "false",
                    r.first_seen.isoformat() if r.first_seen else "",
                    r.last_seen.isoformat() if r.last_seen else "",
                    r.count,
                    r.decided_by,
                    r.rule,
                    r.status,
                    r.words,
                ]
            )
        )
    try:
        path.write_text("".join(lines), encoding="utf-8")
    except OSError as e:
        raise write_failure(e, path) from None
    click.echo(words("bounce_cli", lang)["wrote"].format(file=path, n=len(rows)), err=True)
