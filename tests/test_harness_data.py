"""DATA read in blocks, over real TCP: the end mark wherever the reads split it,
dot-stuffing, the limits in the middle of a block, pipelining, a client leaving.

Also the shortcut for plain MAIL/RCPT addresses, held to aiosmtpd's parser.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import given, settings
from hypothesis import strategies as st

from maildoctor.harness.headers import header_end
from maildoctor.harness.protocol import _PLAIN_PATH, LINE_TOO_LONG, TOO_MUCH_DATA, HarnessSMTP
from maildoctor.harness.server import HarnessThread
from maildoctor.harness.smtp import Limits
from maildoctor.web.app import run_in_thread

LIMIT = 20_000
#: Long enough for the server to have read what was sent before the rest comes.
PAUSE = 0.15


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[HarnessThread]:
    with run_in_thread(
        tmp_path / "h.sqlite3", http_port=None, limits=Limits(max_message_size=LIMIT)
    ) as h:
        yield h


class Session:
    """A raw SMTP client that sends exactly the bytes it is given, in the pieces given."""

    def __init__(self, h: HarnessThread) -> None:
        self.sock = socket.create_connection(h.smtp_address, timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")
        assert self.reply().startswith("220")
        assert self.send(b"EHLO data.example\r\n").startswith("250")

    def reply(self) -> str:
        while True:
            line = self.file.readline().decode()
            if len(line) < 4 or line[3] != "-":
                return line.rstrip("\r\n")

    def send(self, data: bytes) -> str:
        self.sock.sendall(data)
        return self.reply()

    def data(self) -> None:
        assert self.send(b"MAIL FROM:<no-reply@lentrance.com>\r\n").startswith("250")
        assert self.send(b"RCPT TO:<taro@docomo.ne.jp>\r\n").startswith("250")
        assert self.send(b"DATA\r\n").startswith("354")

    def pieces(self, *parts: bytes) -> str:
        """Send each part as its own TCP write, pausing between them, then read the reply."""
        for i, part in enumerate(parts):
            if i:
                time.sleep(PAUSE)
            self.sock.sendall(part)
        return self.reply()

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def session(h: HarnessThread) -> Session:
    s = Session(h)
    s.data()
    return s


BODY = b"Subject: split\r\n\r\nfirst line\r\nsecond line"


@pytest.mark.parametrize("cut", range(6))
def test_the_end_mark_split_across_reads(harness: HarnessThread, cut: int) -> None:
    s = session(harness)
    try:
        stream = BODY + b"\r\n.\r\n"
        at = len(BODY) + cut
        assert s.pieces(stream[:at], stream[at:]).startswith("250")
    finally:
        s.close()
    assert harness.messages()[0].raw == BODY + b"\r\n"


@pytest.mark.parametrize("cut", range(1, 5))
def test_an_empty_first_line_then_the_end_split_across_reads(
    harness: HarnessThread, cut: int
) -> None:
    """CRLF . CRLF as the very first bytes: one empty line, then the end."""
    s = session(harness)
    try:
        stream = b"\r\n.\r\n"
        assert s.pieces(stream[:cut], stream[cut:]).startswith("250")
    finally:
        s.close()
    assert harness.messages()[0].raw == b"\r\n"


@pytest.mark.parametrize("parts", [[b".\r\n"], [b".", b"\r\n"], [b".\r", b"\n"]])
def test_the_end_mark_as_the_first_bytes_is_an_empty_message(
    harness: HarnessThread, parts: list[bytes]
) -> None:
    s = session(harness)
    try:
        assert s.pieces(*parts).startswith("250")
    finally:
        s.close()
    assert harness.messages()[0].raw == b""


def test_the_end_mark_one_byte_at_a_time(harness: HarnessThread) -> None:
    s = session(harness)
    try:
        stream = b"Subject: slow\r\n\r\n..x\r\n.\r\n"
        # The last bytes a byte at a time: every way the reader can be left holding
        # the start of the end mark.
        parts = [stream[:-7], *(bytes([b]) for b in stream[-7:])]
        assert s.pieces(*parts).startswith("250")
    finally:
        s.close()
    assert harness.messages()[0].raw == b"Subject: slow\r\n\r\n.x\r\n"


def test_dot_stuffing_is_undone_once_per_line_and_only_after_crlf(harness: HarnessThread) -> None:
    s = session(harness)
    try:
        stream = (
            b"..Subject: dots\r\n"  # the first line: its stuffing dot goes
            b"\r\n"
            b"..\r\n"  # a line that is one dot
            b"...two\r\n"  # only the first dot is the stuffing
            b".x\r\n"  # a lone stuffing dot before text (RFC 5321 4.5.2)
            b"bare\n.not a line start\r\n"  # after a bare LF: kept as it is
            b"a.\r\n"
            b".\r\n"
        )
        assert s.pieces(stream[:20], stream[20:]).startswith("250")
    finally:
        s.close()
    assert harness.messages()[0].raw == (
        b".Subject: dots\r\n\r\n.\r\n..two\r\nx\r\nbare\n.not a line start\r\na.\r\n"
    )


def test_a_lone_dot_after_a_bare_lf_does_not_end_the_data(harness: HarnessThread) -> None:
    s = session(harness)
    try:
        s.sock.sendall(b"Subject: lf\r\n\r\nline\n.\nmore\r\n.\n")
        time.sleep(PAUSE)
        assert s.pieces(b"last\r\n.\r\n").startswith("250")
    finally:
        s.close()
    # The dot after "more" CRLF starts a line: a stuffing dot, like any other.
    assert harness.messages()[0].raw == b"Subject: lf\r\n\r\nline\n.\nmore\r\n\nlast\r\n"


def test_the_size_limit_in_the_middle_of_one_block(harness: HarnessThread) -> None:
    s = session(harness)
    try:
        body = b"Subject: big\r\n\r\n" + (b"z" * 98 + b"\r\n") * 300  # 30 KB in one write
        assert s.pieces(body + b".\r\n") == "552 5.3.4 Message too big for this server"
        assert s.send(b"NOOP\r\n").startswith("250")  # the session goes on
        s.data()
        assert s.pieces(b"Subject: small\r\n\r\nok\r\n.\r\n").startswith("250")
    finally:
        s.close()
    assert [m.raw for m in harness.messages()] == [b"Subject: small\r\n\r\nok\r\n"]
    assert harness.harness.guards.memory.used == 0


def test_the_size_limit_exactly(harness: HarnessThread) -> None:
    """LIMIT bytes before the end mark (a stuffing dot counts) pass; one more does not."""
    line = b"." + b"s" * 97 + b"\r\n"  # 100 bytes on the wire, 99 stored
    fits = line * (LIMIT // 100)
    s = session(harness)
    try:
        assert s.pieces(fits[:7000], fits[7000:] + b".\r\n").startswith("250")
        s.data()
        over = b"x" + fits
        assert s.pieces(over[:LIMIT], over[LIMIT:] + b".\r\n") == TOO_MUCH_DATA
    finally:
        s.close()
    [stored] = harness.messages()
    assert len(stored.raw) == LIMIT - LIMIT // 100


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        # A line of 1,001 bytes with its CRLF and its stuffing dot is allowed ...
        (b"." + b"a" * 998 + b"\r\n", "250"),
        # ... one more byte is not, split across reads or not.
        (b"." + b"a" * 999 + b"\r\n", LINE_TOO_LONG),
        (b"a" * 1000 + b"\r\n", LINE_TOO_LONG),
        # Whichever limit the stream passes first decides: the long line here ...
        (b"b" * 1500 + b"\r\n" + (b"c" * 98 + b"\r\n") * 300, LINE_TOO_LONG),
        # ... the size here (the long line comes after the 20,000th byte).
        ((b"c" * 98 + b"\r\n") * 300 + b"b" * 1500 + b"\r\n", TOO_MUCH_DATA),
        # A line that never ends within the size limit is still too long first.
        (b"d" * 30_000 + b"\r\n", LINE_TOO_LONG),
    ],
    ids=["1001-ok", "1002-stuffed", "1002", "long-line-first", "size-first", "no-crlf"],
)
def test_line_and_size_limits_in_blocks(
    harness: HarnessThread, stream: bytes, expected: str
) -> None:
    s = session(harness)
    try:
        reply = s.pieces(stream[:500], stream[500:] + b".\r\n")
        assert reply.startswith(expected), reply
        assert s.send(b"NOOP\r\n").startswith("250")
    finally:
        s.close()
    assert len(harness.messages()) == (1 if expected == "250" else 0)
    assert harness.harness.guards.memory.used == 0


def test_pipelined_commands_after_the_end_mark_are_not_lost(harness: HarnessThread) -> None:
    """RFC 2920: the next message's commands in the same write as the end mark."""
    s = session(harness)
    try:
        s.sock.sendall(
            b"Subject: one\r\n\r\n1\r\n.\r\n"
            b"MAIL FROM:<no-reply@lentrance.com>\r\nRCPT TO:<hanako@docomo.ne.jp>\r\nDATA\r\n"
        )
        replies = [s.reply() for _ in range(4)]
        assert replies[0].startswith("250 2.0.0 OK: stored")
        assert replies[1:] == ["250 OK", "250 OK", "354 End data with <CR><LF>.<CR><LF>"]
        assert s.pieces(b"Subject: two\r\n\r\n2\r\n.\r\n").startswith("250")
    finally:
        s.close()
    assert [m.rcpt_tos for m in harness.messages()] == [
        ("taro@docomo.ne.jp",),
        ("hanako@docomo.ne.jp",),
    ]


def test_a_client_leaving_mid_data_stores_nothing_and_frees_its_memory(
    harness: HarnessThread,
) -> None:
    s = session(harness)
    s.sock.sendall(b"Subject: gone\r\n\r\n" + b"half a message\r\n" * 500 + b"\r\n.")
    time.sleep(PAUSE)
    s.close()
    deadline = time.monotonic() + 5
    while harness.harness.guards.memory.used or harness.store.incoming:
        assert time.monotonic() < deadline, "memory or the incoming count was not given back"
        time.sleep(0.02)
    assert harness.messages() == []
    s = session(harness)  # the server goes on
    try:
        assert s.pieces(b"Subject: next\r\n\r\nx\r\n.\r\n").startswith("250")
    finally:
        s.close()
    assert len(harness.messages()) == 1


# -- the MAIL/RCPT address shortcut ------------------------------------------------


def _both(arg: str) -> tuple[object, object]:
    server = object.__new__(HarnessSMTP)  # _getaddr needs no connection
    return HarnessSMTP._getaddr(server, arg), SMTP._getaddr(server, arg)


PLAIN = [
    "<taro@docomo.ne.jp>",
    "<no-reply@lentrance.com> SIZE=4183 BODY=8BITMIME",
    "<A.B+tag@EXAMPLE.com>\tSMTPUTF8",
    "<!#$%&'*+/=?^_`{|}~-@x-y.z>",
    "<a=?b@c.d>",
]
NOT_PLAIN = [
    "<=?utf-8?q?a?=@b.c>",  # an encoded word the email package decodes
    '<"taro jiro"@docomo.ne.jp>',
    "<taro..@docomo.ne.jp>",
    "<.taro@docomo.ne.jp>",
    "<太郎@docomo.ne.jp>",
    "<taro@[192.0.2.1]>",
    "<taro@docomo..ne.jp>",
    "<taro@docomo.ne.jp> (a comment) SIZE=1",
    "<taro@docomo.ne.jp> ",
    "<taro@docomo.ne.jp>x",
    "<taro@docomo.ne.jp",
    "taro@docomo.ne.jp",
    "<>",
    "<@relay.example:taro@docomo.ne.jp>",
    "<a@b@c>",
]


@pytest.mark.parametrize("arg", PLAIN + NOT_PLAIN)
def test_the_address_shortcut_answers_as_aiosmtpd(arg: str) -> None:
    ours, theirs = _both(arg)
    assert ours == theirs
    assert bool(_PLAIN_PATH.match(arg)) == (arg in PLAIN)  # the shortcut is taken


ADDRESS_CHARS = 'ab.Z09+-_=?@<>"()[] \t\\:,;太'


@settings(max_examples=400, deadline=None)
@given(
    local=st.text(ADDRESS_CHARS, min_size=0, max_size=8),
    domain=st.text(ADDRESS_CHARS, min_size=0, max_size=8),
    rest=st.text(ADDRESS_CHARS + "S", max_size=6),
)
def test_the_address_shortcut_answers_as_aiosmtpd_for_any_input(
    local: str, domain: str, rest: str
) -> None:
    arg = f"<{local}@{domain}>{rest}"
    try:
        theirs = SMTP._getaddr(object.__new__(HarnessSMTP), arg)
    except Exception:  # the email package's own crash on odd input: aiosmtpd answers
        assert not _PLAIN_PATH.match(arg)  # it, so the shortcut must leave it alone
        return
    assert HarnessSMTP._getaddr(object.__new__(HarnessSMTP), arg) == theirs


def test_a_local_part_limit_holds_on_the_shortcut() -> None:
    server = object.__new__(HarnessSMTP)
    server.local_part_limit = 4
    assert HarnessSMTP._getaddr(server, "<taro@docomo.ne.jp>") == ("taro@docomo.ne.jp", "")
    assert HarnessSMTP._getaddr(server, "<hanako@docomo.ne.jp>") == (None, None)
    assert SMTP._getaddr(server, "<hanako@docomo.ne.jp>") == (None, None)


@pytest.mark.parametrize(
    ("raw", "end"),
    [
        (b"A: 1\r\nB: 2\r\n\r\nbody\n\nmore", 10),
        (b"A: 1\nB: 2\n\nbody\r\n\r\nmore", 9),
        (b"A: 1\r\nB: 2\n\nbody\r\n\r\n", 10),
        (b"A: 1\r\n\r\n", 4),
        (b"A: 1\r\nno blank line", 19),
        (b"", 0),
    ],
)
def test_the_header_section_ends_at_the_first_blank_line_of_either_kind(
    raw: bytes, end: int
) -> None:
    assert header_end(raw) == end


# -- timeouts and long command lines, with fewer timers and a larger read buffer --


def _closed_within(s: Session, seconds: float) -> bool:
    """Whether the server closes the connection within ``seconds`` (it says nothing)."""
    s.sock.settimeout(seconds)
    try:
        return s.sock.recv(100) == b""
    except TimeoutError:
        return False


def test_commands_keep_a_session_past_the_idle_timeout_until_it_idles(tmp_path: Path) -> None:
    # A gap of 0.15 s against an idle timeout of 0.8 s: a loaded machine that holds this
    # thread back for a moment does not make a gap look idle (0.5 s left 0.35 s of slack).
    limits = Limits(timeout=0.8, data_timeout=5.0)
    with run_in_thread(tmp_path / "h.sqlite3", http_port=None, limits=limits) as h:
        s = Session(h)
        try:
            for _ in range(12):  # 1.8 s of commands, two idle timeouts
                assert s.send(b"NOOP\r\n").startswith("250")
                time.sleep(0.15)
            s.data()  # in DATA the longer timeout holds: 1.4 s of lines is allowed
            for _ in range(7):
                s.sock.sendall(b"drip\r\n")
                time.sleep(0.2)
            assert s.pieces(b".\r\n").startswith("250")
            started = time.monotonic()
            assert _closed_within(s, 4)  # then idle: the shorter timeout again
            assert time.monotonic() - started < 4  # well before DATA's 5 s
        finally:
            s.close()
        assert [m.raw for m in h.messages()] == [b"drip\r\n" * 7]


@pytest.mark.parametrize("size", [1_500, 5_000, 40_000])
def test_a_long_command_line_gets_500_and_the_session_goes_on(
    harness: HarnessThread, size: int
) -> None:
    s = Session(harness)
    try:
        line = b"MAIL FROM:<" + b"a" * size + b"@x.jp>\r\n"
        assert s.send(line) == "500 Command line too long"
        s.data()
        assert s.pieces(b"Subject: after\r\n\r\nx\r\n.\r\n").startswith("250")
    finally:
        s.close()
