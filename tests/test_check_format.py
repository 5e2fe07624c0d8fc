"""``check --file``'s formatter: the domain's part formatted once, the address spliced in,
byte for byte what :mod:`maildoctor.address.report` writes."""

from __future__ import annotations

import asyncio

import pytest

from maildoctor.address import report
from maildoctor.address.check import CheckResult, check_many
from maildoctor.cli.check_format import ResultFormatter
from maildoctor.findings import Lang
from tests.dnsserver import DNSTestServer

ADDRESSES = [
    "taro@gmail.com",
    "hanako@gmail.com",
    "=cmd@gmail.com",
    "taro@docomo.ne.jp",
    "jiro@docomo.ne.jp",
    "taro@gmial.com",
    "jiro@gmial.com",
    "info@gmail.com",
    "admin@gmail.com",
    "taro..yamada@docomo.ne.jp",
    "ｔａｒｏ@gmail.com",
    "taro@docomo,ne.jp",
    "taro@servfail.maildoctor.test",
    "jiro@servfail.maildoctor.test",
    "taro@example.jp",
    "hanako@example.jp",
    "user@xn--r8jz45g.jp",
    "ユーザー@例え.jp",
    "taro@[192.0.2.1]",
    "bad",
]
NOTES = ["", "a,b", 'say "hi"', "=1+1", "two\nlines", "全角，メモ", "-x"]


def _results(lang: Lang, nameserver: str | None) -> list[CheckResult]:
    async def collect() -> list[CheckResult]:
        probe = None
        if nameserver is not None:
            from maildoctor.address.dnsprobe import DNSProbe, make_batch_resolver

            probe = DNSProbe(make_batch_resolver([nameserver], timeout=1.0))
        # Each address three times: a domain's result is then shared, as in a list.
        return [r async for r in check_many(ADDRESSES * 3, probe=probe, lang=lang)]

    return asyncio.run(collect())


def _expected(fmt: str, result: CheckResult, lang: Lang, columns: dict[str, str] | None) -> str:
    if fmt == "jsonl":
        return report.format_jsonl(result, columns)
    if fmt == "json":
        return report.format_json_object(result, columns)
    if fmt == "csv":
        return report.format_csv_row(result, list(columns.values()) if columns else ())
    return report.format_text(result, lang)


@pytest.mark.parametrize("dns", [False, True], ids=["offline", "dns"])
@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "csv"])
@pytest.mark.parametrize("with_columns", [False, True], ids=["list", "csv-columns"])
def test_formatter_writes_what_report_writes(
    fmt: str, lang: Lang, dns: bool, with_columns: bool
) -> None:
    if dns:
        with DNSTestServer() as server:
            results = _results(lang, server.nameserver)
    else:
        results = _results(lang, None)
    extra = ("会員番号", "note") if with_columns else ()
    formatter = ResultFormatter(fmt, lang, extra)
    for i, result in enumerate(results):
        columns = {"会員番号": f"{i:03d}", "note": NOTES[i % len(NOTES)]} if extra else None
        assert formatter.format(result, columns) == _expected(fmt, result, lang, columns)
    # The shared results were spliced, not formatted whole: the templates were made.
    assert any(pieces is not None for _, pieces in formatter._templates.values())


def test_formatter_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from maildoctor.cli import check_format

    monkeypatch.setattr(check_format, "_CACHE_SIZE", 5)
    results = _results("ja", None)
    formatter = ResultFormatter("jsonl", "ja", ())
    for result in results * 2:
        assert formatter.format(result, None) == report.format_jsonl(result)
        assert len(formatter._templates) <= 5
