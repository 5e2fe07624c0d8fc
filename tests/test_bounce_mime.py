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
