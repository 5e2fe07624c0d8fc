"""Large inputs read in pieces: ``check --file``'s member list a block at a time and
an mbox a message at a time, with the same records and messages as reading it whole.

The block and prefix sizes are made tiny here so that a small file is read in many
pieces: every character, quoted field and message crosses a block's end somewhere.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.address import intake
from maildoctor.address.intake import InputError, read_stream, read_table
from maildoctor.bounce.message import iter_messages, split_messages
from maildoctor.cli import main

DATA = Path(__file__).parent / "data"


@pytest.fixture
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intake, "BLOCK_BYTES", 5)
    monkeypatch.setattr(intake, "PREFIX_BYTES", 16)


def _records(table: intake.Table) -> list[tuple[str, dict[str, str]]]:
    return [(r.address, r.columns) for r in table.records()]


@pytest.mark.usefixtures("tiny_blocks")
@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "utf-16", "cp932"])
def test_a_list_read_in_blocks_gives_the_records_read_whole(codec: str) -> None:
    text = (
        "番号,メールアドレス,備考\r\n"
        + "".join(f'{i},山田{i}@example.jp,"二行の\n備考 {i}"\r\n' for i in range(40))
        + "41,a@x.jp\rb@y.jp,①\r\n"
    )
    data = text.encode(codec)
    streamed = read_stream(io.BytesIO(data))
    whole = read_table(data)
    assert (streamed.encoding, streamed.header, streamed.column) == (
        whole.encoding,
        ("番号", "メールアドレス", "備考"),
        1,
    )
    assert _records(streamed) == _records(whole)
    assert len(_records(streamed)) == 41
    assert _records(streamed)[-1] == ("a@x.jp\rb@y.jp", {"番号": "41", "備考": "①"})
    assert streamed.count() == 41  # every pass reads the file again from its start


@pytest.mark.usefixtures("tiny_blocks")
def test_a_plain_list_in_blocks_keeps_lines_and_lone_crs() -> None:
    data = b"taro@docomo,ne.jp\r\n\r\n hanako@example.jp \nx@a\rb.jp" * 7
    assert _records(read_stream(io.BytesIO(data))) == _records(read_table(data))


@pytest.mark.usefixtures("tiny_blocks")
def test_cp932_after_a_utf8_looking_start_is_read_as_cp932_and_said() -> None:
    """The prefix is ASCII (valid UTF-8); the CP932 bytes come later: the reader falls
    back to CP932 for the whole file and its label says where UTF-8 failed."""
    data = ("a@example.jp\n" * 5 + "山田@example.jp\n").encode("cp932")
    table = read_stream(io.BytesIO(data))
    assert table.encoding == "CP932 (Shift_JIS), not UTF-8 after byte 65"
    assert [r.address for r in table.records()][-1] == "山田@example.jp"


@pytest.mark.usefixtures("tiny_blocks")
@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"a@example.jp\n" * 5 + b"\x81\x7f\n", r"neither UTF-8 nor CP932 .* at byte 65\)"),
        (b"a@example.jp\n" * 5 + b"b@x.jp\x00\n", "binary, not text"),
        (
            b"\xef\xbb\xbf" + b"a@example.jp\n" * 5 + b"\xff\n",
            r"not valid UTF-8 \(BOM\) .* at byte 68\)",
        ),
    ],
)
def test_a_bad_byte_after_the_prefix_is_one_clear_error(data: bytes, said: str) -> None:
    with pytest.raises(InputError, match=said):
        read_stream(io.BytesIO(data))


def test_check_reads_a_list_from_a_pipe_in_pieces(
    tiny_blocks: None, tmp_path: Path
) -> None:  # stdin cannot seek: it is copied to a temporary file, then read in blocks
    data = "".join(f"user{i}@example.jp\n" for i in range(300)).encode()
    result = CliRunner().invoke(
        main, ["check", "--file", "-", "--offline", "--format", "jsonl"], input=data
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 300
    assert '"user299@example.jp"' in lines[-1]
    assert "Reading stdin as UTF-8 (one address a line)." in result.stderr


def _mbox(count: int) -> bytes:
    sample = (DATA / "bounces").glob("*.eml").__next__().read_bytes().replace(b"\r\n", b"\n")
    body = b"\n".join(b">" + ln if ln.startswith(b"From ") else ln for ln in sample.split(b"\n"))
    return b"".join(
        b"From MAILER-DAEMON Mon Dec  7 10:00:00 2026\n"
        + body.replace(b"Message-ID: <", f"Message-ID: <n{i}.".encode(), 1)
        + b"\nFrom here on a body line is not a separator\n"
        for i in range(count)
    )


def test_an_mbox_is_split_while_it_is_read() -> None:
    """The first message comes out after its own lines and the next separator, long
    before the last line of the file is read."""
    data = _mbox(50)
    read = 0

    def lines() -> Iterator[bytes]:
        nonlocal read
        for line in io.BytesIO(data):
            read += len(line)
            yield line

    messages = iter_messages(lines())
    first = next(messages)
    assert read < len(data) / 10
    rest = list(messages)
    assert [first, *rest] == split_messages(data)
    assert len(rest) == 49
    assert all(m.count(b"From here on") == 1 for m in rest)


def test_bounce_over_an_mbox_names_each_message_and_counts_a_copy_once(tmp_path: Path) -> None:
    mbox = tmp_path / "big.mbox"
    mbox.write_bytes(_mbox(30))
    copy = tmp_path / "copy.eml"
    copy.write_bytes(split_messages(_mbox(30))[6])  # the 7th message again, on its own
    result = CliRunner().invoke(
        main, ["bounce", str(mbox), str(copy), "--format", "jsonl", "--lang", "en"]
    )
    files = [line.split('"file": "', 1)[1].split('"', 1)[0] for line in result.stdout.splitlines()]
    assert files[0] == f"{mbox}#1"
    assert files[-1] == f"{mbox}#30"
    assert len(set(files)) == 30
    assert f"{copy}: the same bounce as {mbox}#7" in result.stderr


def test_bounce_json_is_written_as_made_and_reads_as_one_array(tmp_path: Path) -> None:
    """Each report is written when it is made; the whole is still the one indented array
    json.dumps would write, error rows included, and an empty run is ``[]``."""
    mbox = tmp_path / "big.mbox"
    mbox.write_bytes(_mbox(3))
    broken = tmp_path / "not-mail.txt"
    broken.write_bytes(b"hello\n")
    result = CliRunner().invoke(main, ["bounce", str(mbox), str(broken), "--format", "json"])
    rows = json.loads(result.stdout)
    assert result.stdout == json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    assert [r["file"] for r in rows] == [f"{mbox}#{n}" for n in (1, 2, 3)] + [str(broken)]
    assert rows[-1]["error"] == "not_an_email"
    alone = CliRunner().invoke(main, ["bounce", str(broken), "--format", "json"])
    assert json.loads(alone.stdout) == [{"file": str(broken), "error": "not_an_email"}]
    empty = tmp_path / "empty.mbox"
    empty.write_bytes(b"From MAILER-DAEMON Mon Dec  7 10:00:00 2026\n")  # no message in it
    assert CliRunner().invoke(main, ["bounce", str(empty), "--format", "json"]).stdout == "[]\n"
