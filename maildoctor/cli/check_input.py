"""The input of ``check --file`` and ``diagnose --file`` as users hand it over:
member lists, ticket backlogs and CSV exports.

A file is either a CSV whose first row names an address column (``address``,
``email``, ``メールアドレス``...; the other columns are kept and come back in the
output) or a plain list with one address a line (the whole line is the
address, spaces and commas included: ``taro@docomo,ne.jp`` is a slip to report,
not two columns).

Bytes are decoded as UTF-8 (with or without BOM), UTF-16 with a BOM, or CP932
(Shift_JIS with Microsoft's extensions: what Excel saves in Japan), and the
caller is told which. Only LF (or CRLF) ends a line: a lone CR is a character
of the address it sits in (an address with a CR in it is invalid, and one line
in gives one record out).

:func:`read_input` is the commands' edge: it reads the file, says on stderr
how it was read (or that it holds nothing), and exits 2 with one line when it
cannot be read.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, NoReturn

import click

__all__ = [
    "ADDRESS_COLUMNS",
    "MAX_INPUT_BYTES",
    "InputError",
    "Record",
    "Table",
    "decode",
    "read_input",
    "read_table",
]

#: Input files larger than this are refused (a member list of a million addresses is ~40 MB).
MAX_INPUT_BYTES = 512 * 1024 * 1024

#: Header names taken for the address column (compared lower-cased and trimmed).
ADDRESS_COLUMNS = (
    "address",
    "email",
    "e-mail",
    "mail",
    "メールアドレス",
    "アドレス",
    "mailaddress",
)


class InputError(ValueError):
    """The input cannot be read as text; the message is one line for the user."""


@dataclass(frozen=True, kw_only=True)
class Record:
    """One address of the input, with the other columns of its row."""

    address: str
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Table:
    """A decoded input: how it was read and its records."""

    encoding: str
    """What the bytes were read as, for the user: ``UTF-8``, ``UTF-8 (BOM)``, ``CP932``..."""
    text: str
    header: tuple[str, ...] | None
    """The CSV header, or None for a plain list of addresses."""
    column: int
    """The address column's index in the header."""

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """The header's columns other than the address, in order."""
        if self.header is None:
            return ()
        return tuple(name for i, name in enumerate(self.header) if i != self.column)

    def records(self) -> Iterator[Record]:
        """The records in input order; blank lines skipped."""
        if self.header is None:
            for line in _lines(self.text):
                if line.strip():
                    yield Record(address=line)
            return
        rows = _csv_rows(self.text)
        next(rows, None)
        extra = self.extra_columns
        for row in rows:
            if not "".join(row).strip():
                continue
            address = row[self.column] if self.column < len(row) else ""
            others = [cell for i, cell in enumerate(row) if i != self.column]
            columns = {name: (others[i] if i < len(others) else "") for i, name in enumerate(extra)}
            yield Record(address=address, columns=columns)

    def count(self) -> int:
        """How many records :meth:`records` yields (one pass over the text)."""
        return sum(1 for _ in self.records())


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding label): UTF-8 (BOM or not), UTF-16 with a BOM, else CP932."""
    if data.startswith(b"\xef\xbb\xbf"):
        return _strict(data[3:], "utf-8", "UTF-8 (BOM)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict(data, "utf-16", "UTF-16")
    if b"\x00" in data:
        raise InputError("the input is binary, not text (it holds NUL bytes)")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("cp932"), "CP932 (Shift_JIS)"
        except UnicodeDecodeError:
            raise InputError(
                f"the input is neither UTF-8 nor CP932 (Shift_JIS) text "
                f"({utf8_error.reason} at byte {utf8_error.start})"
            ) from None


def _strict(data: bytes, codec: str, label: str) -> tuple[str, str]:
    try:
        return data.decode(codec), label
    except UnicodeDecodeError as e:
        message = f"the input is not valid {label} text ({e.reason} at byte {e.start})"
        raise InputError(message) from None


def read_table(data: bytes) -> Table:
    """Decode the bytes and find the address column, if the first row names one."""
    text, encoding = decode(data)
    text = text.removeprefix("\ufeff")
    first = next(_csv_rows(text), None)
    if first is not None:
        names = [cell.strip().lower() for cell in first]
        column = next((names.index(n) for n in ADDRESS_COLUMNS if n in names), None)
        if column is not None:
            header = tuple(cell.strip() for cell in first)
            return Table(encoding=encoding, text=text, header=header, column=column)
    return Table(encoding=encoding, text=text, header=None, column=0)


def read_input(file_: IO[bytes], *, verb: str = "check") -> Table:
    """The --file input decoded, with one line on stderr saying how it was read.

    An empty input is said on stderr too ("No addresses to {verb}: ..."); one
    that is too large or not text exits 2 with one line, never a traceback.
    """
    raw_name = getattr(file_, "name", "<stdin>")
    stdin = raw_name in ("<stdin>", "-")
    name = "stdin" if stdin else click.format_filename(raw_name)
    data = file_.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        _input_error(f"{name} is larger than {MAX_INPUT_BYTES // 2**20} MiB")
    try:
        table = read_table(data)
    except (InputError, csv.Error) as e:
        _input_error(f"{name}: {e}")
    if table.header is not None:
        shape = f"CSV, address column {table.header[table.column]!r}"
    else:
        shape = "one address a line"
    click.echo(f"Reading {name} as {table.encoding} ({shape}).", err=True)
    if next(table.records(), None) is None:
        where = "stdin" if stdin else "the file"
        click.echo(f"No addresses to {verb}: {where} is empty.", err=True)
    return table


def _input_error(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def _lines(text: str) -> Iterator[str]:
    """Lines ended by LF or CRLF only; a lone CR stays in its line."""
    for line in text.split("\n"):
        yield line.removesuffix("\r")
    # text.split leaves a last empty string after a final LF: blank, skipped by callers


#: Stands in for a lone CR while the csv module reads (it would end the record there).
_CR = "\ue000"


def _csv_rows(text: str) -> Iterator[list[str]]:
    """CSV rows, with records ended by LF or CRLF only (quoted fields may span lines)."""
    hidden = text.replace("\r\n", "\n")
    sentinel = _CR if _CR not in hidden else "\ue001"
    hidden = hidden.replace("\r", sentinel)
    lines = (line + "\n" for line in hidden.split("\n"))
    for row in csv.reader(lines):
        yield [cell.replace(sentinel, "\r") for cell in row]
