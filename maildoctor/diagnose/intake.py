"""What a support agent hands in: a ticket's text, a pasted list, a tickets CSV.

Pure functions from text or bytes to addresses; shared by ``diagnose --file`` and
the desk's batch. A CSV from Excel in Japan is often CP932 (Shift_JIS), so bytes
are decoded as UTF-8 (with or without BOM) first and CP932 otherwise.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["ADDRESS_COLUMNS", "decode_upload", "find_addresses", "read_list", "read_tickets"]

ADDRESS_COLUMNS = ("address", "email", "mail", "e-mail", "メールアドレス", "アドレス")

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


class UploadError(ValueError):
    """An uploaded file that is neither UTF-8 nor CP932 text."""


def decode_upload(data: bytes) -> tuple[str, str]:
    """(text, encoding) of an uploaded list: UTF-8 (BOM or not), UTF-16 with a BOM (Excel's
    "Unicode text", tab-separated), else CP932."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError as e:
        raise UploadError(
            f"The file is neither UTF-8 nor Shift_JIS (CP932) text (byte {e.start})."
        ) from None


def read_tickets(stream: Iterable[str]) -> Iterator[dict[str, str]]:
    """Rows of a tickets CSV; the address is the column named like one, else the first.

    A file without a header row (the first row is an address) works too. Each
    row comes back with its columns kept, the address under ``"address"``.
    """
    rows = csv.reader(stream)
    first = next(rows, None)
    if first is None:
        return
    first = [cell.removeprefix("\ufeff") for cell in first]
    names = [c.strip().lower() for c in first]
    column = next((names.index(n) for n in ADDRESS_COLUMNS if n in names), None)
    rows_iter: Any
    if column is None:
        header = [f"column{i + 1}" for i in range(len(first))]
        column = 0
        rows_iter = [first, *rows]
    else:
        header = first
        rows_iter = rows
    for row in rows_iter:
        if not row or not "".join(row).strip():
            continue
        cells = dict(zip(header, row, strict=False))
        address = row[column] if column < len(row) else ""
        yield {"address": address, **{k: v for k, v in cells.items() if k != header[column]}}


def read_list(text: str) -> list[dict[str, str]]:
    """A pasted list or a CSV's text as rows: a CSV when it has a comma or tab, else one
    address a line (blank lines skipped)."""
    text = text.removeprefix("\ufeff")
    if "," in text or "\t" in text:
        dialect = "excel-tab" if "\t" in text and "," not in text else "excel"
        reader = csv.reader(io.StringIO(text), dialect=dialect)
        lines = io.StringIO()
        csv.writer(lines).writerows(reader)
        return list(read_tickets(io.StringIO(lines.getvalue())))
    return [{"address": line.strip()} for line in text.splitlines() if line.strip()]
