"""The input of ``check --file`` and ``diagnose --file`` as users hand it over:
member lists, ticket backlogs and CSV exports.

How bytes become records (encodings, the address column, what ends a line) is
:mod:`maildoctor.address.intake`, shared with the desk's batch upload.
:func:`read_input` is the commands' edge: it reads the file, says on stderr
how it was read (or that it holds nothing), and exits 2 with one line when it
cannot be read.
"""

from __future__ import annotations

import csv
from typing import IO, NoReturn

import click

from maildoctor.address.intake import InputError, Record, Table, read_table
from maildoctor.errors import BadInput

__all__ = ["MAX_INPUT_BYTES", "Record", "Table", "read_input"]

#: Input files larger than this are refused (a member list of a million addresses is ~40 MB).
MAX_INPUT_BYTES = 512 * 1024 * 1024


def read_input(file_: IO[bytes], *, verb: str = "check") -> Table:
    """The --file input decoded, with one line on stderr saying how it was read.

    An empty input is said on stderr too ("No addresses to {verb}: ..."); one
    that is too large, not text or not readable CSV exits 2 with one line, never
    a traceback.
    """
    raw_name = getattr(file_, "name", "<stdin>")
    stdin = raw_name in ("<stdin>", "-")
    name = "stdin" if stdin else click.format_filename(raw_name)
    data = file_.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        _input_error(f"{name} is larger than {MAX_INPUT_BYTES // 2**20} MiB")
    try:
        table = read_table(data)
        # One pass over every row now: a row the csv module refuses (a field over its
        # 128 KiB limit) is this one line and exit 2, not a traceback mid-output.
        empty = table.count() == 0
    except (InputError, csv.Error) as e:
        _input_error(f"{name}: {e}")
    if table.header is not None:
        shape = f"CSV, address column {table.header[table.column]!r}"
    else:
        shape = "one address a line"
    click.echo(f"Reading {name} as {table.encoding} ({shape}).", err=True)
    if empty:
        where = "stdin" if stdin else "the file"
        click.echo(f"No addresses to {verb}: {where} is empty.", err=True)
    return table


def _input_error(message: str) -> NoReturn:
    raise BadInput(message)
