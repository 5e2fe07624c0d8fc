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
import shutil
import tempfile
from typing import IO, NoReturn

import click

from maildoctor.address.intake import InputError, Record, Table, read_stream
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
    source = _seekable(file_)
    if source.seek(0, 2) > MAX_INPUT_BYTES:
        _input_error(f"{name} is larger than {MAX_INPUT_BYTES // 2**20} MiB")
    source.seek(0)
    try:
        # Read in blocks, each pass again: memory holds a block, not the list.
        table = read_stream(source)
        # A CSV: one pass over every row now, so that a row the csv module refuses (a
        # field over its 128 KiB limit) is this one line and exit 2, not a traceback
        # mid-output. A plain list has no such row (read_stream has checked its
        # encoding): its first address tells whether it is empty (issue 24: the pass
        # cost 0.15 s of 100,000 addresses before the first query).
        plain = table.header is None
        empty = next(table.records(), None) is None if plain else table.count() == 0
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


def _seekable(file_: IO[bytes]) -> IO[bytes]:
    """The file itself, or (stdin, a pipe) a temporary file holding a copy of it: the
    records are read more than once, and a copy on disk costs no memory."""
    try:
        if file_.seekable():
            return file_
    except (OSError, ValueError):
        pass
    spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the run
    shutil.copyfileobj(file_, spool, 1024 * 1024)
    return spool


def _input_error(message: str) -> NoReturn:
    raise BadInput(message)
