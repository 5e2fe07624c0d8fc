"""check --file's reader: encodings, the address column, and what ends a line."""

from __future__ import annotations

import pytest

from maildoctor.address.intake import InputError, decode, read_table


@pytest.mark.parametrize(
    ("data", "label"),
    [
        ("山田@example.jp".encode(), "UTF-8"),
        (b"\xef\xbb\xbf" + "山田@example.jp".encode(), "UTF-8 (BOM)"),
        ("山田@example.jp".encode("utf-16"), "UTF-16"),
        ("山田@example.jp".encode("cp932"), "CP932 (Shift_JIS)"),
        ("①@example.jp".encode("cp932"), "CP932 (Shift_JIS)"),  # NEC special characters
    ],
)
def test_decode(data: bytes, label: str) -> None:
    text, got = decode(data)
    assert got == label
    assert text.removeprefix("\ufeff").endswith("@example.jp")


@pytest.mark.parametrize("data", [b"a@b.jp\x00", b"\x81\x7f", b"\xef\xbb\xbf\xff"])
def test_undecodable(data: bytes) -> None:
    with pytest.raises(InputError):
        decode(data)


def test_header_names_the_address_column_and_keeps_the_others() -> None:
    table = read_table(b'No,E-Mail,Note\n1,a@example.jp,"two\nlines"\n2,b@example.jp\n')
    assert (table.header, table.column, table.extra_columns) == (
        ("No", "E-Mail", "Note"),
        1,
        ("No", "Note"),
    )
    records = list(table.records())
    assert [(r.address, r.columns) for r in records] == [
        ("a@example.jp", {"No": "1", "Note": "two\nlines"}),
        ("b@example.jp", {"No": "2", "Note": ""}),
    ]
    assert table.count() == 2


def test_without_a_header_each_line_is_one_address() -> None:
    table = read_table(b"taro@docomo,ne.jp\r\n\r\n hanako@example.jp \nx@a\rb.jp")
    assert table.header is None
    assert [r.address for r in table.records()] == [
        "taro@docomo,ne.jp",
        " hanako@example.jp ",
        "x@a\rb.jp",
    ]


def test_a_lone_cr_stays_inside_a_csv_field() -> None:
    table = read_table(b"email,n\r\na@x.jp\rb@y.jp,1\r\nc@z.jp,2\r\n")
    assert [(r.address, r.columns["n"]) for r in table.records()] == [
        ("a@x.jp\rb@y.jp", "1"),
        ("c@z.jp", "2"),
    ]


def test_excel_unicode_text_is_tab_separated() -> None:
    """Excel's "Unicode text" is UTF-16 with tabs: its header names the column too."""
    table = read_table("名前\tメールアドレス\r\n山田\ttaro@docomo.ne.jp\r\n".encode("utf-16"))
    assert (table.encoding, table.header, table.delimiter) == (
        "UTF-16",
        ("名前", "メールアドレス"),
        "\t",
    )
    assert [(r.address, r.columns) for r in table.records()] == [
        ("taro@docomo.ne.jp", {"名前": "山田"})
    ]
