"""CSV that a spreadsheet opens safely: the one writer of every CSV the project produces.

Excel and LibreOffice run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (and a leading tab or CR is dropped before they look), so an address, a
bounce's diagnostic text or a ticket note from outside could run
``=HYPERLINK(...)`` on an agent's machine: CSV injection. OWASP's rule
(https://owasp.org/www-community/attacks/CSV_Injection): prefix such a cell with a
single quote, which the spreadsheet shows as text. ``check --format csv``,
``bounce --format csv`` and ``--suppress``, ``events ... --format csv`` and the
desk's batch download (``POST /api/csv``) all write through :func:`csv_line`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

__all__ = ["FORMULA_LEADS", "csv_line", "csv_text", "safe_cell", "unique_names"]

#: What a spreadsheet takes as the start of a formula (OWASP's list).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """``value`` as a cell's text, quoted with ``'`` when a spreadsheet would run it.

    None is an empty cell; True/False are ``true``/``false``.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_LEADS) else text


def csv_line(values: Iterable[object], *, crlf: bool = False) -> str:
    """One CSV record of safe cells (RFC 4180 quoting), ended by LF or, for Excel, CRLF."""
    buffer = io.StringIO()
    # Written with CRLF whatever the ending: the csv module quotes a cell holding a
    # character of the line terminator only, and a lone CR must be quoted too.
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(v) for v in values])
    line = buffer.getvalue()
    return line if crlf else line[:-2] + "\n"


def csv_text(
    header: Sequence[object], rows: Iterable[Sequence[object]], *, crlf: bool = False
) -> str:
    """A header and its rows, every cell safe."""
    return "".join(csv_line(row, crlf=crlf) for row in (header, *rows))


def unique_names(names: Sequence[str]) -> list[str]:
    """Column names made unique (``ticket``, ``ticket (2)``): an input's own columns and the
    results added to them may share a name, and a spreadsheet needs them apart."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name} ({count})")
    return out
