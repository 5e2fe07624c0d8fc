"""The SMTP side over real TCP: storage, decisions, limits, malformed input, TLS, load."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from collections.abc import Iterator, Sequence
from email.message import EmailMessage
from pathlib import Path

import pytest

from maildoctor.harness.policy import Profile
from maildoctor.harness.profiles import ProfileBook
from maildoctor.harness.server import HarnessThread
from maildoctor.harness.smtp import Limits
from maildoctor.harness.store import NewMessage, Store, StoreError
from maildoctor.web.app import run_in_thread


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[HarnessThread]:
    limits = Limits(max_message_size=20_000, max_recipients=3)
    with run_in_thread(tmp_path / "h.sqlite3", http_port=None, limits=limits) as h:
        yield h


def message(to: str = "taro@docomo.ne.jp", body: str = "本文です。\n") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Lentrance <no-reply@lentrance.com>"
    msg["To"] = to
    msg["Subject"] = "[Lentrance]仮登録完了のお知らせ"
    msg["Message-ID"] = "<test-1@lentrance.com>"
    msg.set_content(body)
    return msg


def wire(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def client(h: HarnessThread) -> smtplib.SMTP:
    return smtplib.SMTP(*h.smtp_address, timeout=10)


class Raw:
    """A line-level SMTP client for input smtplib refuses to send."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=10)
        self.file = self.sock.makefile("rb")
        self.greeting = self.reply()

    def reply(self) -> str:
        lines = []
        while True:
            line = self.file.readline().decode()
            lines.append(line.rstrip("\r\n"))
            if len(line) < 4 or line[3] != "-":
                return lines[-1]

    def send(self, data: bytes) -> str:
        self.sock.sendall(data)
        return self.reply()

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def test_stores_raw_bytes_envelope_transcript_and_decisions(harness: HarnessThread) -> None:
    harness.set_profile("taro@docomo.ne.jp", Profile.for_carrier("docomo", refuse_url=True))
    msg = message(body="https://lentrance.com/register?token=abc\n")
    with client(harness) as smtp:
        smtp.ehlo("sender.lentrance.com")
        code, text = smtp.mail("bounce@lentrance.com")
        smtp.rcpt("taro@docomo.ne.jp")
        smtp.rcpt("hanako@gmail.com")
        code, text = smtp.data(wire(msg))
    assert code == 250
    assert text.startswith(b"2.0.0 OK: stored as message 1")
    [stored] = harness.messages()
    assert harness.last() == stored
    assert stored.raw == wire(msg)
    assert stored.mail_from == "bounce@lentrance.com"
    assert stored.rcpt_tos == ("taro@docomo.ne.jp", "hanako@gmail.com")
    assert stored.subject == "[Lentrance]仮登録完了のお知らせ"
    assert stored.message_id == "<test-1@lentrance.com>"
    assert stored.helo == "sender.lentrance.com"
    assert stored.message["Subject"] == "[Lentrance]仮登録完了のお知らせ"
    taro = stored.decision_for("taro@docomo.ne.jp")
    assert (taro.outcome, taro.rule, taro.decision.rule_name) == (
        "junk",
        "refuse_url",
        "特定URL付メール拒否設定",
    )
    assert stored.decision_for("hanako@gmail.com").outcome == "delivered"
    assert stored.transcript[0].startswith("S: 220 ")
    assert "C: EHLO sender.lentrance.com" in stored.transcript
    assert "C: RCPT TO:<hanako@gmail.com>" in stored.transcript
    assert stored.transcript[-2:] == (
        f"C: <message, {len(wire(msg))} bytes>",
        "S: 250 2.0.0 OK: stored, never relayed",
    )


def test_every_recipient_rejected_gives_the_carriers_reply(harness: HarnessThread) -> None:
    harness.set_profile("au.com", Profile.for_carrier("au", refuse_url=True))
    with client(harness) as smtp, pytest.raises(smtplib.SMTPDataError) as err:
        smtp.send_message(message("hanako@au.com", body="www.lentrance.com\n"))
    assert (err.value.smtp_code, err.value.smtp_error) == (550, b"User unknown")
    [stored] = harness.messages()
    assert stored.reply == "550 User unknown"
    assert stored.decision_for("hanako@au.com").rule == "refuse_url"


def test_some_recipients_rejected_is_accepted_and_recorded(harness: HarnessThread) -> None:
    harness.set_profile("au.com", Profile.for_carrier("au", refuse_url=True))
    with client(harness) as smtp:
        refused = smtp.send_message(
            message(body="https://lentrance.com/\n"), to_addrs=["hanako@au.com", "x@gmail.com"]
        )
    assert refused == {}
    [stored] = harness.messages()
    assert stored.decision_for("hanako@au.com").decision.reply == "550 User unknown"
    assert stored.decision_for("x@gmail.com").outcome == "delivered"


def test_second_message_on_one_connection_has_its_own_transcript(harness: HarnessThread) -> None:
    with client(harness) as smtp:
        smtp.send_message(message())
        smtp.send_message(message("jiro@docomo.ne.jp"))
    first, second = harness.messages()
    assert first.transcript[0].startswith("S: 220")
    assert second.transcript[0].startswith("C: MAIL FROM:<no-reply@lentrance.com>")
    assert not any("220" in line for line in second.transcript)


def test_smtputf8_address_and_8bit_body(harness: HarnessThread) -> None:
    msg = message("たろう@例え.jp")
    with client(harness) as smtp:
        assert smtp.send_message(msg, mail_options=["SMTPUTF8"]) == {}
    [stored] = harness.messages()
    assert stored.rcpt_tos == ("たろう@例え.jp",)


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        ([b"MAIL FROM:<no-reply@lentrance.com> SIZE=999999\r\n"], "552"),
        ([b"MAIL TO:<no-reply@lentrance.com>\r\n"], "501"),
        ([b"MAIL FROM:<a@b@c>\r\n"], "553"),
        ([b"RCPT TO:<taro@docomo.ne.jp>\r\n"], "503"),
        ([b"DATA\r\n"], "503"),
        ([b"FROB\r\n"], "500"),
        ([b"MAIL FROM:<" + b"a" * 600 + b"@x.jp>\r\n"], "500"),
        ([b"\r\n"], "500"),
        (
            [
                b"MAIL FROM:<no-reply@lentrance.com>\r\n",
                b"RCPT TO:<a@docomo.ne.jp>\r\n",
                b"RCPT TO:<b@docomo.ne.jp>\r\n",
                b"RCPT TO:<c@docomo.ne.jp>\r\n",
                b"RCPT TO:<d@docomo.ne.jp>\r\n",
            ],
            "452 4.5.3 Too many recipients",
        ),
    ],
    ids=[
        "size-param-552",
        "unclosed-bracket",
        "bad-address",
        "rcpt-before-mail",
        "data-before-rcpt",
        "unknown-command",
        "command-too-long",
        "empty-line",
        "too-many-recipients-452",
    ],
)
def test_malformed_and_limits(harness: HarnessThread, commands: list[bytes], expected: str) -> None:
    raw = Raw(harness.smtp_address)
    try:
        assert raw.greeting.startswith("220 ")
        assert raw.send(b"EHLO test.example\r\n").startswith("250 ")
        reply = ""
        for command in commands:
            reply = raw.send(command)
        assert reply.startswith(expected)
        assert raw.send(b"NOOP\r\n").startswith("250")  # the connection survives
    finally:
        raw.close()


def _data_session(harness: HarnessThread, body: bytes) -> str:
    raw = Raw(harness.smtp_address)
    try:
        raw.send(b"EHLO test.example\r\n")
        raw.send(b"MAIL FROM:<no-reply@lentrance.com>\r\n")
        raw.send(b"RCPT TO:<taro@docomo.ne.jp>\r\n")
        assert raw.send(b"DATA\r\n").startswith("354")
        return raw.send(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
    finally:
        raw.close()


def test_oversized_message_552(harness: HarnessThread) -> None:
    body = b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 400
    assert _data_session(harness, body).startswith("552")
    assert harness.messages() == []


def test_overlong_line_500(harness: HarnessThread) -> None:
    body = b"Subject: long\r\n\r\n" + b"y" * 1200
    assert _data_session(harness, body) == "500 Line too long (see RFC5321 4.5.3.1.6)"
    assert harness.messages() == []


def test_bare_lf_lines_are_kept_inside_crlf_lines(harness: HarnessThread) -> None:
    body = b"Subject: lf\r\n\r\nline one\nline two\r\n"
    assert _data_session(harness, body).startswith("250")
    [stored] = harness.messages()
    assert stored.raw == body


def test_dot_stuffing_is_undone(harness: HarnessThread) -> None:
    assert _data_session(harness, b"Subject: dots\r\n\r\n..leading dot\r\n").startswith("250")
    assert harness.messages()[0].raw.endswith(b"\r\n.leading dot\r\n")


def test_starttls_and_auth(tmp_path: Path) -> None:
    with run_in_thread(
        tmp_path / "h.sqlite3", http_port=None, tls=True, users={"ci": "s3cret"}
    ) as h:
        context = ssl.create_default_context(cafile=str(tmp_path / "harness-cert.pem"))
        with client(h) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("starttls")
            assert not smtp.has_extn("auth")  # AUTH only after TLS
            smtp.starttls(context=context)
            smtp.ehlo()
            assert "PLAIN" in smtp.esmtp_features["auth"]
            with pytest.raises(smtplib.SMTPAuthenticationError):
                smtp.login("ci", "wrong")
            assert smtp.login("ci", "s3cret")[0] == 235
            assert smtp.send_message(message()) == {}
        [stored] = h.messages()
        assert "C: STARTTLS" in stored.transcript
        assert not any("s3cret" in line for line in stored.transcript)


def test_prunes_the_oldest_beyond_the_cap(tmp_path: Path) -> None:
    with run_in_thread(tmp_path / "h.sqlite3", http_port=None, max_messages=3) as h:
        with client(h) as smtp:
            for i in range(5):
                msg = message()
                del msg["Subject"]
                msg["Subject"] = f"n{i}"
                smtp.send_message(msg)
        assert [m.subject for m in h.messages()] == ["n2", "n3", "n4"]


def test_store_survives_restart(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    with run_in_thread(db, http_port=None) as h, client(h) as smtp:
        smtp.send_message(message())
    store = Store(db)
    try:
        assert [m.message_id for m in store.all()] == ["<test-1@lentrance.com>"]
    finally:
        store.close()


async def _hold_connections(address: tuple[str, int], n: int) -> list[str]:
    conns = [await asyncio.open_connection(*address) for _ in range(n)]
    greetings = [(await r.readline()).decode() for r, _ in conns]

    async def converse(i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
        async def cmd(line: bytes) -> str:
            writer.write(line)
            await writer.drain()
            while True:
                reply = (await reader.readline()).decode()
                if reply[3:4] != "-":
                    return reply

        await cmd(b"EHLO load.example\r\n")
        await cmd(b"MAIL FROM:<no-reply@lentrance.com>\r\n")
        await cmd(f"RCPT TO:<user{i}@docomo.ne.jp>\r\n".encode())
        await cmd(b"DATA\r\n")
        reply = await cmd(f"Subject: load {i}\r\n\r\nhello\r\n.\r\n".encode())
        await cmd(b"QUIT\r\n")
        writer.close()
        return reply

    replies = await asyncio.gather(*(converse(i, r, w) for i, (r, w) in enumerate(conns)))
    assert all(g.startswith("220 ") for g in greetings)
    return replies


def test_200_concurrent_connections(tmp_path: Path) -> None:
    # One client address holding 200 sessions: past the default per-client limit (100).
    limits = Limits(max_message_size=20_000, max_sessions_per_client=0)
    with run_in_thread(tmp_path / "h.sqlite3", http_port=None, limits=limits) as harness:
        replies = asyncio.run(_hold_connections(harness.smtp_address, 200))
        assert all(r.startswith("250 ") for r in replies)
        stored = harness.messages()
    assert sorted(m.subject for m in stored) == sorted(f"load {i}" for i in range(200))


class BrokenBook(ProfileBook):
    """A profile book with a bug: every lookup raises."""

    def lookup(self, recipient: str) -> Profile:
        raise ValueError("secret internals")


def test_a_failing_decision_is_stored_as_error_and_answered_451(tmp_path: Path) -> None:
    book = ProfileBook({"*": Profile(rule_order=("bogus",))})
    with run_in_thread(tmp_path / "h.sqlite3", http_port=None, profiles=book) as h:
        with client(h) as smtp, pytest.raises(smtplib.SMTPDataError) as err:
            smtp.send_message(message())
        assert err.value.smtp_code == 451
        assert b"bogus" not in err.value.smtp_error
        [stored] = h.messages()
    d = stored.decision_for("taro@docomo.ne.jp")
    assert (d.outcome, d.rule, d.decision.reply_code) == ("rejected", "error", 451)
    assert stored.reply.startswith("451 4.3.0")


def test_an_internal_error_is_a_private_451(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with run_in_thread(tmp_path / "h.sqlite3", http_port=None, profiles=BrokenBook()) as h:
        with client(h) as smtp, pytest.raises(smtplib.SMTPDataError) as err:
            smtp.send_message(message())
        assert (err.value.smtp_code, err.value.smtp_error) == (
            451,
            b"4.3.0 Internal error, try again later",
        )
        assert h.messages() == []
    assert "secret internals" in capfd.readouterr().err


# -- the store's writer thread keeps serving whatever one group does ------------------


def new_message(subject: str = "s", rcpt_tos: tuple[str, ...] = ("a@x.jp",)) -> NewMessage:
    return NewMessage(
        mail_from="no-reply@lentrance.com",
        rcpt_tos=rcpt_tos,
        raw=b"x",
        deliveries=(),
        subject=subject,
    )


def test_store_writer_survives_a_failing_listener_and_a_bad_message(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    heard: list[tuple[str, list[int]]] = []

    def broken(kind: str, ids: Sequence[int]) -> None:
        raise RuntimeError("listener bug")

    store.subscribe(broken)
    store.subscribe(lambda kind, ids: heard.append((kind, list(ids))))
    try:
        first = asyncio.run(store.add(new_message()))
        # Not JSON: fails inside the group (not an sqlite3.Error), alone.
        bad = new_message(rcpt_tos=({1, 2},))  # type: ignore[arg-type]
        with pytest.raises(StoreError, match="Cannot write to the message store"):
            asyncio.run(store.add(bad))
        second = asyncio.run(store.add(new_message()))
        assert second > first
        assert store.count() == 2
        assert store.delete_all() == 2
    finally:
        store.close()
    assert heard[:1] == [("added", [first])]
    with pytest.raises(StoreError, match="is closed"):
        asyncio.run(store.add(new_message()))
    with pytest.raises(StoreError, match="is closed"):
        store.delete_all()
    store.close()  # twice is fine


def test_store_search_and_delete_one(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    try:
        a = asyncio.run(store.add(new_message("100% off", ("taro@docomo.ne.jp",))))
        b = asyncio.run(store.add(new_message("1000 off, come back", ("hanako@gmail.com",))))
        c = asyncio.run(store.add(new_message("welcome_back", ("taro@gmail.com",))))
        assert [m.id for m in store.search("off").messages] == [b, a]  # newest first
        # LIKE's wildcards are taken literally: "%" and "_" match only themselves.
        assert [m.id for m in store.search("100%").messages] == [a]
        assert [m.id for m in store.search("e_b").messages] == [c]
        # Every word must match, each in any field.
        assert [m.id for m in store.search("taro GMAIL").messages] == [c]
        found = store.search("o", limit=1, offset=1)
        assert ([m.id for m in found.messages], found.total) == ([b], 3)
        assert found.messages[0].raw == b""  # summaries only
        assert store.delete(b) is True
        assert store.delete(b) is False
        assert [m.id for m in store.search("off").messages] == [a]
    finally:
        store.close()
