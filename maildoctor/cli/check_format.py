"""One ``check --file`` result as text, JSON, JSONL or CSV, the domain's part formatted once.

Most addresses of a member list share their domain's result (the same diagnosis,
carrier and MX hosts: :func:`maildoctor.address.check.check_many` makes it once per
domain), so their output differs only in the address, the normalized address and the
row's other columns. Formatting each whole result again cost about 7 us an address,
as much as the rest of the check (issue 24). :class:`ResultFormatter` formats a
result seen a second time once more with stand-ins for the two addresses, keeps the
text around them and splices each address in. The text is the one
:mod:`maildoctor.address.report` writes: the stand-ins go through its formatters,
and a result whose output holds them anywhere else is formatted whole.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter

from maildoctor.address import report
from maildoctor.address.check import CheckResult
from maildoctor.address.syntax import display
from maildoctor.findings import Lang
from maildoctor.spreadsheet import FORMULA_LEADS, csv_line

__all__ = ["ResultFormatter"]

#: Stand-ins for the address and the normalized address while a template is made:
#: plain text that every format writes as it is (no escape, no quote).
_ADDRESS = "maildoctorStandInAddress7f3e"
_NORMALIZED = "maildoctorStandInNormalized7f3e"
#: Every field of a result but the two addresses: a template is made for one set of them.
_SHARED_FIELDS = tuple(
    f.name for f in dataclasses.fields(CheckResult) if f.name not in ("address", "normalized")
)
_shared = attrgetter(*_SHARED_FIELDS)
#: The most templates (and results seen once) kept, then all forgotten: memory stays
#: bounded (a few MB), and a list of up to this many domains formats each once.
_CACHE_SIZE = 16384

_json_string: Callable[[str], str] = json.encoder.encode_basestring
_JSONL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_JSON = json.JSONEncoder(ensure_ascii=False, indent=2)


def _csv_cell(value: str) -> str:
    """A cell as :func:`maildoctor.spreadsheet.csv_line` writes it in a row of several."""
    if (
        value
        and value.isprintable()
        and "," not in value
        and '"' not in value
        and not value.startswith(FORMULA_LEADS)
    ):
        return value
    return csv_line(("x", value))[2:-1]


class ResultFormatter:
    """Formats results as ``check`` prints them (``fmt``: text, json, jsonl or csv);
    ``format`` returns exactly what :mod:`maildoctor.address.report` would."""

    def __init__(self, fmt: str, lang: Lang, extra: Sequence[str]) -> None:
        self.fmt = fmt
        self.lang = lang
        self.extra = tuple(extra)
        # key -> (a result holding the key's objects alive, its pieces or None when seen once)
        self._templates: dict[tuple[object, ...], tuple[CheckResult, list[str] | None]] = {}

    def format(self, result: CheckResult, columns: Mapping[str, str] | None) -> str:
        """One result, with the input row's other columns (None for no columns)."""
        key = (*map(id, _shared(result)), result.normalized is None)
        known = self._templates.get(key)
        if known is None:
            if len(self._templates) >= _CACHE_SIZE:
                self._templates.clear()
            self._templates[key] = (result, None)
            return self._whole(result, columns)
        pieces = known[1]
        if pieces is None:
            pieces = self._pieces(result)
            if pieces is None:
                return self._whole(result, columns)
            self._templates[key] = (known[0], pieces)
        return self._splice(pieces, result, columns)

    def _whole(self, result: CheckResult, columns: Mapping[str, str] | None) -> str:
        if self.fmt == "jsonl":
            return report.format_jsonl(result, columns)
        if self.fmt == "json":
            return report.format_json_object(result, columns)
        if self.fmt == "csv":
            values = [columns[n] for n in self.extra] if columns else ()
            return report.format_csv_row(result, values)
        return report.format_text(result, self.lang)

    def _pieces(self, result: CheckResult) -> list[str] | None:
        """The text around the addresses (the ending split off, where the columns go),
        or None when the stand-ins are not found exactly where the addresses go."""
        has_normalized = result.normalized is not None
        stand_in = dataclasses.replace(
            result, address=_ADDRESS, normalized=_NORMALIZED if has_normalized else None
        )
        text = self._whole(stand_in, None)
        if self.fmt == "text":
            # Only the first line names the address; normalized is not shown.
            if text.count(_ADDRESS) != 1 or _NORMALIZED in text or not text.startswith(_ADDRESS):
                return None
            return ["", text[len(_ADDRESS) :]]
        quote = '"' if self.fmt in ("json", "jsonl") else ""
        ending = {"jsonl": "}\n", "json": "\n}\n", "csv": "\n"}[self.fmt]
        marks = [quote + _ADDRESS + quote] + ([quote + _NORMALIZED + quote] * has_normalized)
        if not text.endswith(ending) or any(text.count(m) != 1 for m in marks):
            return None
        head, _, rest = text.partition(marks[0])
        if has_normalized:
            middle, _, tail = rest.partition(marks[1])
            pieces = [head, middle, tail]
        else:
            pieces = [head, rest]
        pieces[-1] = pieces[-1][: -len(ending)]
        return [*pieces, ending]

    def _splice(
        self, pieces: list[str], result: CheckResult, columns: Mapping[str, str] | None
    ) -> str:
        fmt = self.fmt
        if fmt == "text":
            return display(result.address) + pieces[1]
        cell: Callable[[str], str]
        if fmt == "csv":
            cell = _csv_cell
            values = [columns[n] for n in self.extra] if columns else ()
            after = "".join("," + cell(v) for v in values)
        else:
            cell = _json_string
            after = ""
            if columns is not None:
                if fmt == "jsonl":
                    after = ',"columns":' + _JSONL.encode(dict(columns))
                else:
                    after = ',\n  "columns": ' + _JSON.encode(dict(columns)).replace("\n", "\n  ")
        if len(pieces) == 4:
            normalized = result.normalized or ""
            return (
                pieces[0]
                + cell(result.address)
                + pieces[1]
                + cell(normalized)
                + pieces[2]
                + after
                + pieces[3]
            )
        return pieces[0] + cell(result.address) + pieces[1] + after + pieces[2]
