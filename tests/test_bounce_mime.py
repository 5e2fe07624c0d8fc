"""The bounce MIME reader reads what the standard library's compat32 parser reads.

maildoctor.bounce.mime replaced ``email.message_from_bytes`` for speed; on every
labelled bounce of the project the two must agree on the headers, the content
types of the parts and each leaf's decoded bytes.
"""

from __future__ import annotations

import email
from email import policy
from email.message import Message
from pathlib import Path

import pytest

from maildoctor.bounce.mime import MimePart, parse_mime

DATA = Path(__file__).parent / "data"
SAMPLES = sorted(p for folder in ("bounces", "bounces-more") for p in (DATA / folder).glob("*.eml"))


def _leaves(msg: Message | MimePart) -> list[tuple[str, bytes | None]]:
    ctype = msg.get_content_type()
    if ctype == "message/delivery-status" or not msg.is_multipart():
        payload = msg.get_payload(decode=True)
        return [(ctype, payload if isinstance(payload, bytes) else None)]
    out: list[tuple[str, bytes | None]] = [(ctype, None)]
    payload = msg.get_payload()
    assert isinstance(payload, list)
    for sub in payload:
        out.extend(_leaves(sub))
    return out


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_reads_what_compat32_reads(path: Path) -> None:
    raw = path.read_bytes()
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1]
    theirs = email.message_from_bytes(raw, policy=policy.compat32)
    ours = parse_mime(raw)
    assert [k for k, _ in ours.items()] == list(theirs.keys())
    for name in ("Subject", "From", "To", "Date", "Content-Type", "X-Failed-Recipients"):
        value = theirs.get(name)
        assert ours.get(name) == (
            str(value) if value is not None and str(value).isascii() else ours.get(name)
        )
    mine = [(c, b) for c, b in _leaves(ours) if c != "message/delivery-status"]
    std = [(c, b) for c, b in _leaves(theirs) if c != "message/delivery-status"]
    assert [c for c, _ in mine] == [c for c, _ in std]
    assert [b for _, b in mine] == [b for _, b in std]


def test_broken_input_never_raises() -> None:
    for raw in (
        b"",
        b"\n\n",
        b"Content-Type: multipart/mixed; boundary=x\n\n--x\n",
        b"\xff\xfe:\x00",
    ):
        part = parse_mime(raw)
        assert isinstance(part.get_content_type(), str)
        part.get_payload(decode=True)


def test_boundary_never_found_keeps_the_body_as_text() -> None:
    part = parse_mime(b"Content-Type: multipart/mixed; boundary=zz\n\nUser unknown\n")
    assert not part.is_multipart()
    assert part.get_payload() == "User unknown\n"


@pytest.mark.parametrize(
    "value",
    [
        "Mon, 7 Dec 2026 10:54:07 +0900",
        "7 Dec 2026 10:54:07 -0500",
        "Sun, 07 Dec 2026 23:59:59 +0000",
        "Sun, 07 Dec 2026 23:59:59 -0000",  # no zone information: naive, then UTC
        "Mon, 31 Jan 0001 10:00:00 -0059",  # a two-digit year however written: 2001
        "Mon, 31 Feb 2026 10:00:00 +0900",  # no such day
        "Mon, 1 Dec 2026 10:00:60 +0900",
        "Mon, 1 Dec 2026 10:00:00 +9999",  # no such offset
        "Mon, 1 Dec 2026 10:00:00 JST",  # not the usual shape: the standard library reads it
        "1 dec 2026 10:00 +0900",
    ],
)
def test_dates_read_as_the_standard_library_reads_them(value: str) -> None:
    """The usual RFC 5322 date is read without the standard library's general parser."""
    from datetime import UTC
    from email.utils import parsedate_to_datetime

    from maildoctor.bounce.message import parse_date

    try:
        expected = parsedate_to_datetime(value)
        expected = expected if expected.tzinfo else expected.replace(tzinfo=UTC)
    except ValueError:
        expected = None
    assert repr(parse_date(value)) == repr(expected)
