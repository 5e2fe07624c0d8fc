"""Rendered bytes go through ``smtplib.sendmail`` unchanged to a strict SMTP server.

The server here is a real one on a loopback TCP port, as strict as the ones that
answer ``500 Line too long`` or refuse bare LF since the SMTP-smuggling fixes
(RFC 5321 section 2.3.8: lines end in CRLF, a bare LF is not a line end). It
records the DATA bytes it accepted, so the test compares them with what
``render_message(...).as_bytes()`` gave.
"""

from __future__ import annotations

import re
import smtplib
import socketserver
import threading
from collections.abc import Iterator

import pytest

from maildoctor.mail.render import SMTP_POLICY, render_message

_BARE_LF = re.compile(rb"(?<!\r)\n")


class _StrictSMTP(socketserver.StreamRequestHandler):
    """One SMTP session: EHLO, MAIL, RCPT, DATA, QUIT; DATA with a bare LF gets 500."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        self.reply("220 strict.test ESMTP")
        while True:
            line = self.rfile.readline(1002)
            if not line:
                return
            if not line.endswith(b"\r\n"):
                self.reply("500 5.5.2 Line too long or not ended by CRLF")
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.reply("250-strict.test")
                self.reply("250 8BITMIME")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.reply("250 2.0.0 OK")
            elif verb == b"DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = bytearray()
                while not data.endswith(b"\r\n.\r\n") and data != b".\r\n":
                    chunk = self.rfile.readline(1_000_000)
                    if not chunk:
                        return
                    data += chunk
                body = bytes(data[:-3])
                if _BARE_LF.search(body):
                    self.reply("500 5.5.2 Bare LF in message data")  # RFC 5321 section 2.3.8
                    continue
                server.received.append(re.sub(rb"(?m)^\.\.", b".", body))
                self.reply("250 2.0.0 Accepted")
            elif verb == b"QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Command not recognised")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _StrictSMTP)
        self.received: list[bytes] = []


@pytest.fixture
def strict_server() -> Iterator[_Server]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize("charset", ["utf-8", "iso-2022-jp"])
@pytest.mark.parametrize(
    "name", ["provisional_registration", "registration_complete", "password_reset"]
)
def test_rendered_bytes_pass_unchanged(strict_server: _Server, name: str, charset: str) -> None:
    msg = render_message(name, to="taro@docomo.ne.jp", charset=charset)
    data = msg.as_bytes()
    assert not _BARE_LF.search(data)
    host, port = strict_server.server_address[:2]
    with smtplib.SMTP(str(host), int(port), timeout=10) as smtp:
        refused = smtp.sendmail("no-reply@lentrance.com", ["taro@docomo.ne.jp"], data)
    assert refused == {}
    # smtplib adds only the terminating CRLF when the data lacks one; this data has it.
    assert strict_server.received == [data]
    assert msg.policy == SMTP_POLICY


def test_the_server_refuses_lf_line_ends(strict_server: _Server) -> None:
    """The check above can fail: LF-ended bytes (what as_bytes gave before) are refused."""
    msg = render_message("password_reset", to="taro@docomo.ne.jp")
    lf_data = msg.as_bytes(policy=msg.policy.clone(linesep="\n"))
    host, port = strict_server.server_address[:2]
    with (
        smtplib.SMTP(str(host), int(port), timeout=10) as smtp,
        pytest.raises(smtplib.SMTPDataError) as refused,
    ):
        smtp.sendmail("no-reply@lentrance.com", ["taro@docomo.ne.jp"], lf_data)
    assert refused.value.smtp_code == 500
    assert strict_server.received == []


def test_as_string_and_send_message_use_crlf_too(strict_server: _Server) -> None:
    msg = render_message("withdrawal_complete", to="taro@docomo.ne.jp")
    assert "\r\n" in msg.as_string() and not re.search(r"(?<!\r)\n", msg.as_string())
    host, port = strict_server.server_address[:2]
    with smtplib.SMTP(str(host), int(port), timeout=10) as smtp:
        assert smtp.send_message(msg) == {}
    (received,) = strict_server.received
    assert received.startswith(b"From: Lentrance <no-reply@lentrance.com>\r\n")
