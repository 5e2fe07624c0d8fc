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

import codecs
import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from maildoctor.errors import BadInput

__all__ = [
    "ADDRESS_COLUMNS",
    "Decoded",
    "Found",
    "InputError",
    "Record",
    "Table",
    "UploadError",
    "decode",
    "decode_bytes",
    "decode_upload",
    "find_addresses",
    "read_list",
    "read_stream",
    "read_table",
    "read_text",
    "scan_addresses",
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


class InputError(BadInput, ValueError):
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
    source: IO[bytes] | None = None
    """A seekable file read again in blocks on each pass (then ``text`` is empty)."""
    codec: str = ""
    """Python's codec for ``source``."""
    start: int = 0
    """Where ``source``'s text begins (after a UTF-8 BOM)."""
    sentinel: str = "\ue000"
    """A character the text does not hold, standing in for a lone CR while the csv module reads."""

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """The header's columns other than the address, in order."""
        if self.header is None:
            return ()
        return tuple(name for i, name in enumerate(self.header) if i != self.column)

    def records(self) -> Iterator[Record]:
        """The records in input order; blank lines skipped."""
        if self.header is None:
            for line in _lines(self.chunks()):
                if line.strip():
                    yield Record(address=line)
            return
        sentinel = self.sentinel if self.source is not None else None
        rows = _csv_rows(self.chunks(), self.delimiter, sentinel)
        next(rows, None)
        extra = self.extra_columns
        for row in rows:
            if not "".join(row).strip():
                continue
            address = row[self.column] if self.column < len(row) else ""
            others = [cell for i, cell in enumerate(row) if i != self.column]
            columns = {name: (others[i] if i < len(others) else "") for i, name in enumerate(extra)}
            yield Record(address=address, columns=columns)

    def chunks(self) -> Iterator[str]:
        """The text, whole or (from ``source``) a block at a time."""
        if self.source is None:
            yield self.text
            return
        self.source.seek(self.start)
        for text, _ in _decoded_blocks(self.source, self.codec):
            yield text

    def count(self) -> int:
        """How many records :meth:`records` yields (one pass over the text)."""
        return sum(1 for _ in self.records())


def read_table(data: bytes) -> Table:
    """Decode the bytes and find the address column, if the first row names one."""
    text, encoding = decode(data)
    return read_text(text, encoding=encoding)


#: How much of a file decides its encoding (a BOM, NUL bytes, UTF-8 or CP932).
PREFIX_BYTES = 64 * 1024
#: How much of a file is decoded at a time.
BLOCK_BYTES = 1024 * 1024


def read_stream(source: IO[bytes]) -> Table:
    """:func:`read_table` for a seekable file too large to hold: memory is a block,
    not the file.

    The encoding is chosen from the first :data:`PREFIX_BYTES`, as :func:`decode_bytes`
    would; one pass then checks the rest. A file whose start is UTF-8 but whose later
    bytes are not is read as CP932 when all of it is CP932, and the label says so
    (``CP932 (Shift_JIS), not UTF-8 after byte N``); otherwise the error names the byte.
    The records are decoded again, a block at a time, on each pass.
    """
    prefix = source.read(PREFIX_BYTES)
    source.seek(0)
    start = 0
    utf8_error: UnicodeDecodeError | None = None
    if prefix.startswith(b"\xef\xbb\xbf"):
        start, codec, label = 3, "utf-8", "UTF-8 (BOM)"
    elif prefix.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec, label = "utf-16", "UTF-16"
    else:
        codec, label = "utf-8", "UTF-8"
        try:
            codecs.getincrementaldecoder("utf-8")().decode(prefix, final=False)
        except UnicodeDecodeError as e:
            codec, label, utf8_error = "cp932", "CP932 (Shift_JIS)", e
    try:
        facts = _scan(source, start, codec, nul=codec != "utf-16")
    except UnicodeDecodeError as e:
        if label != "UTF-8":
            message = f"the input is not valid {label} text ({e.reason} at byte {e.start})"
            if codec == "cp932":  # said as decode_bytes says it: where UTF-8 failed
                e = utf8_error or e
                message = (
                    "the input is neither UTF-8 nor CP932 (Shift_JIS) text "
                    f"({e.reason} at byte {e.start})"
                )
            raise InputError(message, byte=e.start) from None
        try:
            facts = _scan(source, start, "cp932", nul=True)
        except UnicodeDecodeError:
            raise InputError(
                f"the input is neither UTF-8 nor CP932 (Shift_JIS) text "
                f"({e.reason} at byte {e.start})",
                byte=e.start,
            ) from None
        codec, label = "cp932", f"CP932 (Shift_JIS), not UTF-8 after byte {e.start}"
    tab, comma, sentinel = facts
    delimiter = "\t" if tab and not comma else ","
    table = Table(
        encoding=label,
        text="",
        header=None,
        column=0,
        delimiter=delimiter,
        source=source,
        codec=codec,
        start=start,
        sentinel=sentinel,
    )
    first = next(_csv_rows(table.chunks(), delimiter, sentinel), None)
    if first:
        first[0] = first[0].removeprefix("\ufeff")
        names = [cell.strip().lower() for cell in first]
        column = next((names.index(n) for n in ADDRESS_COLUMNS if n in names), None)
        if column is not None:
            header = tuple(cell.strip() for cell in first)
            return Table(
                encoding=label,
                text="",
                header=header,
                column=column,
                delimiter=delimiter,
                source=source,
                codec=codec,
                start=start,
                sentinel=sentinel,
            )
    return table


def _scan(source: IO[bytes], start: int, codec: str, *, nul: bool) -> tuple[bool, bool, str]:
    """(holds a tab, holds a comma, a free lone-CR stand-in) over the whole file, in
    blocks; raises UnicodeDecodeError with ``start`` counted from the file's start."""
    source.seek(start)
    tab = comma = False
    used: set[str] = set()
    for text, raw in _decoded_blocks(source, codec):
        if nul and b"\x00" in raw:
            raise InputError("the input is binary, not text (it holds NUL bytes)")
        tab = tab or "\t" in text
        comma = comma or "," in text
        used.update(c for c in ("\ue000", "\ue001") if c in text)
    return tab, comma, "\ue000" if "\ue000" not in used else "\ue001"


def _decoded_blocks(source: IO[bytes], codec: str) -> Iterator[tuple[str, bytes]]:
    """(text, bytes) a block at a time, strictly decoded; a character cut by a block's
    end is decoded with the next. A decode error's ``start`` is the file's byte."""
    decoder = codecs.getincrementaldecoder(codec)()
    offset = source.tell()
    while True:
        raw = source.read(BLOCK_BYTES)
        held = len(decoder.getstate()[0])
        try:
            text = decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as e:
            e.start += offset - held
            raise
        offset += len(raw)
        yield text, raw
        if not raw:
            return


def read_text(text: str, *, encoding: str = "UTF-8") -> Table:
    """Find the address column of decoded text, if the first row names one."""
    text = text.removeprefix("\ufeff")
    delimiter = _delimiter(text)
    first = next(_csv_rows([text], delimiter), None)
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
    rows = [row for row in _csv_rows([table.text], table.delimiter) if "".join(row).strip()]
    names = [f"column{i + 1}" for i in range(len(rows[0]) if rows else 0)]
    return [{"address": row[0], **dict(zip(names[1:], row[1:], strict=False))} for row in rows]


#: What a local part may hold (RFC 5322 atext and the dot), and the same characters in
#: their full-width forms (U+FF01..FF5E, which customers' IMEs produce; the check then
#: reports them as such). Full-width brackets, colons and commas are not among them:
#: 「（taro@x.jp）」 and 「メール：taro@x.jp」 are prose around an address.
_LOCAL_ASCII = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+/=?^_`{|}~-"
)
#: A domain label's characters (letters, digits, hyphen), ASCII or full-width.
_LABEL_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_FULL_WIDTH = 0xFEE0
"""The distance from an ASCII character to its full-width form."""
_ATS = frozenset("@\uff20")
_DOTS = frozenset(".\uff0e")
#: What an IME types in a domain where a dot was meant (full stops, commas) or a
#: hyphen / dot (the long-vowel mark and dashes): read only with ``slips=True``.
_SLIPS = frozenset(
    "\u3002\uff61\u3001\uff64,\u30fc\uff70\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
)


def _is_local(ch: str) -> bool:
    return ch in _LOCAL_ASCII or ("\uff01" <= ch <= "\uff5e" and _ascii(ch) in _LOCAL_ASCII)


def _is_label(ch: str) -> bool:
    return ch in _LABEL_ASCII or ("\uff01" <= ch <= "\uff5e" and _ascii(ch) in _LABEL_ASCII)


def _ascii(ch: str) -> str:
    return chr(ord(ch) - _FULL_WIDTH)


@dataclass(frozen=True, kw_only=True)
class Found:
    """One address in a text, as written, and where it stands."""

    text: str
    start: int
    end: int


def scan_addresses(text: str, *, slips: bool = False, labels: int = 2) -> list[Found]:
    """Every address in ``text``, in order (repeats included), as written.

    A hand scanner, linear in the text's length: each run between two at signs
    is read at most twice (once leftwards as a local part, once rightwards as a
    domain), so a pasted blob of address characters with no ``@`` costs one
    pass (a backtracking pattern tried every start: quadratic, 40 KB of ``a``
    took 12 s). An address is a non-empty local part, an at sign (ASCII or
    full-width) and a domain of two labels or more; leading and trailing dots
    are not part of it (the end of a sentence).

    ``slips=True`` also reads what an IME types inside a domain (``taro@gmail、com``,
    ``taro@gmailーcom``, ``taro@docomo,ne.jp``) and a doubled at sign, for text
    pasted from a customer: :func:`maildoctor.address.repair.repair` then undoes them.
    ``labels=1`` also takes a domain of one label (``taro@gmail``, an ending left
    out), for a text in which nothing else was found.
    """
    found: list[Found] = []
    floor = 0
    n = len(text)
    i = 0
    while i < n:
        if text[i] not in _ATS:
            i += 1
            continue
        at = i
        start = at
        while start > floor and _is_local(text[start - 1]):
            start -= 1
        after = at + 1
        if slips:
            while after < n and text[after] in _ATS:
                after += 1
        end, count = _domain_end(text, after, slips=slips)
        i = max(end, after)
        if start == at or count < labels:
            continue
        while start < at and text[start] in _DOTS:
            start += 1
        if start == at:
            continue
        found.append(Found(text=text[start:end], start=start, end=end))
        floor = end
    return found


def _domain_end(text: str, i: int, *, slips: bool) -> tuple[int, int]:
    """Where the domain starting at ``i`` ends, and how many labels it has."""
    n = len(text)
    labels = 0
    end = i
    last_slip = -1
    last_slip_labels = 0
    while True:
        j = end
        while j < n and _is_label(text[j]):
            j += 1
        if j == end:
            break
        labels += 1
        end = j
        if end < n and (text[end] in _DOTS or (slips and text[end] in _SLIPS)):
            if text[end] not in _DOTS:
                last_slip, last_slip_labels = end, labels
            end += 1
        else:
            break
    if end > i and (text[end - 1] in _DOTS or text[end - 1] in _SLIPS):
        end -= 1  # a separator that no label follows ends the sentence, not the domain
    # A slip followed by another address's local part (``a@x.jp,b@y.jp``): the
    # labels after it belong to the next address.
    if last_slip >= 0 and end < n and (text[end] in _ATS or _is_local(text[end])):
        return last_slip, last_slip_labels
    return end, labels


def find_addresses(text: str) -> list[str]:
    """The addresses in a ticket's text, in order, each once (as written, not fixed)."""
    return list(dict.fromkeys(f.text for f in scan_addresses(text)))


def _delimiter(text: str) -> str:
    """A tab for tab-separated text (tabs and no comma), else a comma."""
    return "\t" if "\t" in text and "," not in text else ","


def _lines(chunks: Iterable[str]) -> Iterator[str]:
    """Lines ended by LF or CRLF only; a lone CR stays in its line."""
    for line in _split_lines(chunks):
        yield line.removesuffix("\r")
    # like text.split, a last empty string after a final LF: blank, skipped by callers


def _split_lines(chunks: Iterable[str]) -> Iterator[str]:
    """``"".join(chunks).split("\n")`` without joining: a line cut by a chunk's end is
    held until the chunk that ends it."""
    held = ""
    for chunk in chunks:
        if "\n" not in chunk:
            held += chunk
            continue
        lines = chunk.split("\n")
        lines[0] = held + lines[0]
        held = lines.pop()
        yield from lines
    yield held


#: Stands in for a lone CR while the csv module reads (it would end the record there).
_CR = "\ue000"


def _csv_rows(
    chunks: Iterable[str], delimiter: str = ",", sentinel: str | None = None
) -> Iterator[list[str]]:
    """CSV rows, with records ended by LF or CRLF only (quoted fields may span lines).

    ``sentinel`` stands in for a lone CR; without it the text is one chunk whose own
    characters choose it.
    """
    if sentinel is None:
        chunks = list(chunks)
        sentinel = _CR if not any(_CR in c for c in chunks) else "\ue001"
    lines = (
        line.removesuffix("\r").replace("\r", sentinel) + "\n" for line in _split_lines(chunks)
    )
    for row in csv.reader(lines, delimiter=delimiter):
        yield [cell.replace(sentinel, "\r") for cell in row]
