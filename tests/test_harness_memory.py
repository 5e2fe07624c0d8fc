"""Memory per SMTP session stays bounded by the size limit, whatever the client sends.

A real ``maildoctor serve`` child process, real TCP, its resident memory read
from /proc. aiosmtpd 1.4.6 alone keeps every fragment of a line without CRLF
(600 MB sent made a 644 MB server, issue 10) and one object per line.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.serveproc import ServeProcess, rss_kib

LIMIT = 1024 * 1024
#: Growth allowed over the size limit: socket and stream buffers, allocator slack.
ALLOWED_GROWTH_KIB = 24 * 1024

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads resident memory from /proc"
)


class Client:
    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=60)
        self.file = self.sock.makefile("rb")
        self.greeting = self.reply()

    def reply(self) -> str:
        while True:
            line = self.file.readline().decode()
            if len(line) < 4 or line[3] != "-":
                return line.rstrip("\r\n")

    def cmd(self, line: bytes) -> str:
        self.sock.sendall(line)
        return self.reply()

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def _open_data(server: ServeProcess) -> Client:
    client = Client(server.smtp_address)
    assert client.cmd(b"EHLO memory.example\r\n").startswith("250")
    assert client.cmd(b"MAIL FROM:<no-reply@lentrance.com>\r\n").startswith("250")
    assert client.cmd(b"RCPT TO:<taro@docomo.ne.jp>\r\n").startswith("250")
    assert client.cmd(b"DATA\r\n").startswith("354")
    return client


def _stream(client: Client, chunk: bytes, total: int) -> None:
    sent = 0
    while sent < total:
        client.sock.sendall(chunk)
        sent += len(chunk)


@pytest.fixture
def server(tmp_path: Path):
    with ServeProcess(
        "--db", str(tmp_path / "h.sqlite3"), "--max-size", str(LIMIT), "--auth-dns", "off"
    ) as proc:
        yield proc


def test_50_mb_without_crlf_does_not_grow_the_server(server: ServeProcess) -> None:
    before = rss_kib(server.pid)
    client = _open_data(server)
    try:
        _stream(client, b"x" * 65536, 50 * 1024 * 1024)
        peak = rss_kib(server.pid, "VmHWM")
        reply = client.cmd(b"\r\n.\r\n")
        assert reply.startswith(("500", "552")), reply  # refused, not stored
        assert client.cmd(b"NOOP\r\n").startswith("250")  # the session goes on
    finally:
        client.close()
    growth = peak - before
    assert growth < ALLOWED_GROWTH_KIB, f"the server grew by {growth} KiB for 50 MB sent"


def test_50_mb_over_the_limit_in_lines_is_dropped_as_it_comes(server: ServeProcess) -> None:
    before = rss_kib(server.pid)
    client = _open_data(server)
    try:
        _stream(client, (b"y" * 998 + b"\r\n") * 64, 50 * 1024 * 1024)
        peak = rss_kib(server.pid, "VmHWM")
        assert client.cmd(b".\r\n") == "552 5.3.4 Message too big for this server"
    finally:
        client.close()
    assert peak - before < ALLOWED_GROWTH_KIB


def test_a_message_of_empty_lines_costs_its_size_not_an_object_per_line(
    server: ServeProcess,
) -> None:
    before = rss_kib(server.pid)
    client = _open_data(server)
    try:
        body = b"Subject: empty lines\r\n\r\n" + b"\r\n" * 450_000  # 0.9 MB, 450k lines
        client.sock.sendall(body)
        assert client.cmd(b".\r\n").startswith("250")
    finally:
        client.close()
    peak = rss_kib(server.pid, "VmHWM")
    assert peak - before < ALLOWED_GROWTH_KIB


def test_the_transcript_cap_keeps_the_start_and_the_end_and_counts_the_middle() -> None:
    """The cap itself: 300k lines (a client sending NOOPs for an hour) keep a fixed number
    of lines, each of bounded length, whatever comes."""
    from maildoctor.harness.protocol import (
        TRANSCRIPT_HEAD,
        TRANSCRIPT_LINE,
        TRANSCRIPT_TAIL,
        _Transcript,
    )

    transcript = _Transcript()
    transcript.add("S: 220 maildoctor.harness ESMTP")
    for _ in range(300_000):
        transcript.add("C: NOOP")
    transcript.add("C: " + "x" * 100_000)
    transcript.add("C: RCPT TO:<taro@docomo.ne.jp>")
    lines = transcript.lines()
    assert len(lines) == TRANSCRIPT_HEAD + 1 + TRANSCRIPT_TAIL
    assert lines[0] == "S: 220 maildoctor.harness ESMTP"
    assert lines[-1] == "C: RCPT TO:<taro@docomo.ne.jp>"
    dropped = 300_003 - TRANSCRIPT_HEAD - TRANSCRIPT_TAIL
    assert lines[TRANSCRIPT_HEAD] == f"… {dropped} lines not kept …"
    assert max(len(line) for line in lines) < TRANSCRIPT_LINE + 40


def test_many_noops_do_not_make_a_long_transcript(tmp_path: Path) -> None:
    """End to end, with enough NOOPs to pass the cap: the stored transcript is capped."""
    from maildoctor.harness.store import Store

    noops = 500
    db = tmp_path / "h.sqlite3"
    with ServeProcess("--db", str(db), "--auth-dns", "off") as server:
        client = Client(server.smtp_address)
        try:
            client.cmd(b"EHLO noop.example\r\n")
            client.sock.sendall(b"NOOP\r\n" * noops)
            for _ in range(noops):
                assert client.reply().startswith("250")
            client.cmd(b"MAIL FROM:<no-reply@lentrance.com>\r\n")
            client.cmd(b"RCPT TO:<taro@docomo.ne.jp>\r\n")
            client.cmd(b"DATA\r\n")
            assert client.cmd(b"Subject: after noops\r\n\r\nhi\r\n.\r\n").startswith("250")
        finally:
            client.close()
    store = Store(db)
    try:
        [stored] = store.all()
    finally:
        store.close()
    text = "\n".join(stored.transcript)
    assert len(text) < 16_000
    assert any("lines not kept" in line for line in stored.transcript)
    assert "C: RCPT TO:<taro@docomo.ne.jp>" in stored.transcript  # the end is kept
    assert stored.transcript[0].startswith("S: 220")  # and the start
