"""Address lists as users hand them over: member lists, ticket backlogs, CSV
exports and ticket text. Pure functions from bytes or text to addresses, shared
by ``check --file`` and ``diagnose --file`` (maildoctor/cli/check_input.py) and
the desk's batch upload (maildoctor/web/desk.py), so both read a file alike.

A file is either a CSV whose first row names an address column (``address``,
``email``, ``メールアドレス``...; the other columns are kept and come back in the
output) or a plain list with one address a line (the whole line is the
address, spaces and commas included: ``taro@docomo,ne.jp`` is a slip to report,
not two columns). A tab-separated file (Excel's "Unicode text", UTF-16) is read
like a CSV when it has tabs and no comma.

Bytes are decoded as UTF-8 (with or without BOM), UTF-16 with a BOM, or CP932
(Shift_JIS with Microsoft's extensions: what Excel saves in Japan), and the
caller is told which. Only LF (or CRLF) ends a line: a lone CR is a character
of the address it sits in (an address with a CR in it is invalid, and one line
in gives one record out).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = [
    "ADDRESS_COLUMNS",
    "Decoded",
    "InputError",
    "Record",
    "Table",
    "UploadError",
    "decode",
    "decode_bytes",
    "decode_upload",
    "find_addresses",
    "read_list",
    "read_table",
    "read_text",
]

#: Header names taken for the address column (compared lower-cased and trimmed), first wins.
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

    def __init__(self, message: str, *, byte: int | None = None) -> None:
        super().__init__(message)
        self.byte = byte
        """Where decoding failed, for callers that word their own message."""


#: The desk's name for the same error (an uploaded file that is not text).
UploadError = InputError


@dataclass(frozen=True, kw_only=True)
class Decoded:
    """Text decoded from bytes, and what it was read as."""

    text: str
    codec: str
    """Python's codec name: ``utf-8``, ``utf-8-sig``, ``utf-16``, ``cp932``."""
    label: str
    """The same for the user: ``UTF-8``, ``UTF-8 (BOM)``, ``UTF-16``, ``CP932 (Shift_JIS)``."""


def decode_bytes(data: bytes) -> Decoded:
    """UTF-8 (BOM or not), UTF-16 with a BOM, else CP932; strict, never U+FFFD."""
    if data.startswith(b"\xef\xbb\xbf"):
        return _strict(data[3:], "utf-8", "utf-8-sig", "UTF-8 (BOM)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict(data, "utf-16", "utf-16", "UTF-16")
    if b"\x00" in data:
        raise InputError("the input is binary, not text (it holds NUL bytes)")
    try:
        return Decoded(text=data.decode("utf-8"), codec="utf-8", label="UTF-8")
    except UnicodeDecodeError as utf8_error:
        try:
            return Decoded(text=data.decode("cp932"), codec="cp932", label="CP932 (Shift_JIS)")
        except UnicodeDecodeError:
            raise InputError(
                f"the input is neither UTF-8 nor CP932 (Shift_JIS) text "
                f"({utf8_error.reason} at byte {utf8_error.start})",
                byte=utf8_error.start,
            ) from None


def decode(data: bytes) -> tuple[str, str]:
    """(text, label for the user), as the commands say it."""
    decoded = decode_bytes(data)
    return decoded.text, decoded.label


def decode_upload(data: bytes) -> tuple[str, str]:
    """(text, codec name), as the desk's API returns it."""
    decoded = decode_bytes(data)
    return decoded.text, decoded.codec


def _strict(data: bytes, codec: str, name: str, label: str) -> Decoded:
    try:
        return Decoded(text=data.decode(codec), codec=name, label=label)
    except UnicodeDecodeError as e:
        message = f"the input is not valid {label} text ({e.reason} at byte {e.start})"
        raise InputError(message, byte=e.start) from None


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
    delimiter: str = ","
    """``,``, or a tab for a tab-separated file."""

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
        rows = _csv_rows(self.text, self.delimiter)
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


def read_table(data: bytes) -> Table:
    """Decode the bytes and find the address column, if the first row names one."""
    text, encoding = decode(data)
    return read_text(text, encoding=encoding)


def read_text(text: str, *, encoding: str = "UTF-8") -> Table:
    """Find the address column of decoded text, if the first row names one."""
    text = text.removeprefix("\ufeff")
    delimiter = _delimiter(text)
    first = next(_csv_rows(text, delimiter), None)
    if first is not None:
        names = [cell.strip().lower() for cell in first]
        column = next((names.index(n) for n in ADDRESS_COLUMNS if n in names), None)
        if column is not None:
            header = tuple(cell.strip() for cell in first)
            return Table(
                encoding=encoding, text=text, header=header, column=column, delimiter=delimiter
            )
    return Table(encoding=encoding, text=text, header=None, column=0, delimiter=delimiter)


def read_list(text: str) -> list[dict[str, str]]:
    """A pasted list or a CSV's text as the desk's rows: the address under ``"address"``
    and the other columns by name.

    Unlike the commands, the desk takes a headerless line with a comma or tab as
    columns (the first is the address, the others ``column2``...): an agent's
    pasted export rarely has a header. A plain line is trimmed; blank lines skipped.
    """
    table = read_text(text)
    if table.header is not None:
        return [{"address": r.address, **r.columns} for r in table.records()]
    if "," not in table.text and "\t" not in table.text:
        return [{"address": r.address.strip()} for r in table.records()]
    rows = [row for row in _csv_rows(table.text, table.delimiter) if "".join(row).strip()]
    names = [f"column{i + 1}" for i in range(len(rows[0]) if rows else 0)]
    return [{"address": row[0], **dict(zip(names[1:], row[1:], strict=False))} for row in rows]


# ASCII and full-width forms (U+FF01..FF5E, which customers' IMEs produce; the check
# then reports them as such). The at sign may be full-width too; Japanese text around
# the address is not part of it.
_LOCAL = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\-\uFF01-\uFF1F\uFF21-\uFF5E]+"
_LABEL = r"[A-Za-z0-9\-\uFF0D\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A]+"
_ADDRESS = re.compile(rf"{_LOCAL}[@\uFF20]{_LABEL}(?:[.\uFF0E]{_LABEL})+")


def find_addresses(text: str) -> list[str]:
    """The addresses in a ticket's text, in order, each once (as written, not fixed)."""
    found = (m.group(0).strip(".\uff0e") for m in _ADDRESS.finditer(text))
    return list(dict.fromkeys(found))


def _delimiter(text: str) -> str:
    """A tab for tab-separated text (tabs and no comma), else a comma."""
    return "\t" if "\t" in text and "," not in text else ","


def _lines(text: str) -> Iterator[str]:
    """Lines ended by LF or CRLF only; a lone CR stays in its line."""
    for line in text.split("\n"):
        yield line.removesuffix("\r")
    # text.split leaves a last empty string after a final LF: blank, skipped by callers


#: Stands in for a lone CR while the csv module reads (it would end the record there).
_CR = "\ue000"


def _csv_rows(text: str, delimiter: str = ",") -> Iterator[list[str]]:
    """CSV rows, with records ended by LF or CRLF only (quoted fields may span lines)."""
    hidden = text.replace("\r\n", "\n")
    sentinel = _CR if _CR not in hidden else "\ue001"
    hidden = hidden.replace("\r", sentinel)
    lines = (line + "\n" for line in hidden.split("\n"))
    for row in csv.reader(lines, delimiter=delimiter):
        yield [cell.replace(sentinel, "\r") for cell in row]
