"""Reading sources into the store: files, standard input, a followed log (the I/O edge).

Each source is recognised by its first bytes: a harness store (SQLite), JSON (SES,
SNS, SendGrid, the events' own records, one document or JSON lines), mail (bounces:
a message, an mbox, a Maildir folder), gzip (a rotated log), else Postfix log lines.
A source that cannot be read gets one line saying why and the others go on; a bad
line or record is skipped, counted and named once. Records are written in batches,
one transaction each.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import BinaryIO

from maildoctor.events.address import address_key
from maildoctor.events.esp import events_from_body
from maildoctor.events.model import Event, ip_or_empty
from maildoctor.events.postfix import PostfixParser
from maildoctor.events.reply import read_reply
from maildoctor.events.store import EventStore
from maildoctor.harness.records import TRIAL_HELO, StoredMessage

__all__ = ["MAX_LINE", "SourceReport", "follow", "harness_events", "ingest_source"]

#: Longest line read (a longer one is skipped and counted).
MAX_LINE = 64 * 1024
#: Largest JSON document or mail file read whole.
MAX_DOCUMENT = 64 * 1024 * 1024
_BATCH = 20000
_MAIL_START = (
    b"From ",
    b"Return-Path:",
    b"Received:",
    b"Delivered-To:",
    b"MIME-Version:",
    b"Date:",
    b"From:",
    b"Subject:",
    b"Message-ID:",
    b"To:",
    b"Content-Type:",
    b"X-",
)


@dataclass
class SourceReport:
    """What one source gave."""

    origin: str
    kind: str = ""
    """``postfix``, ``ses``, ``sendgrid``, ``api`` (records), ``json`` (a mix), ``bounce``,
    ``harness``; ``""`` when it could not be read."""
    read: int = 0
    """Lines, JSON values or messages read."""
    events: int = 0
    added: int = 0
    """Records new to the store (the rest were already there)."""
    skipped: int = 0
    """Lines of other programs, messages that are no bounce, events that are no delivery."""
    unreadable: int = 0
    error: str = ""
    """Why the source could not be read at all."""
    notes: list[str] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "origin": self.origin,
            "kind": self.kind,
            "read": self.read,
            "events": self.events,
            "added": self.added,
            "skipped": self.skipped,
            "unreadable": self.unreadable,
            "error": self.error,
            "notes": self.notes,
        }


class _Writer:
    """Batches a source's events into the store and keeps its report."""

    def __init__(self, store: EventStore, report: SourceReport) -> None:
        self.store = store
        self.report = report
        self.buffer: list[Event] = []
        self.sources: set[str] = set()
        """The sources of the records put (``ses``, ``sendgrid``...)."""

    def put(self, events: Iterable[Event]) -> None:
        for e in events:
            self.buffer.append(e)
            self.sources.add(e.source)
            r = self.report
            r.events += 1
            r.first = e.time if r.first is None or e.time < r.first else r.first
            r.last = e.time if r.last is None or e.time > r.last else r.last
        if len(self.buffer) >= _BATCH:
            self.commit()

    def commit(self) -> None:
        if self.buffer:
            self.report.added += self.store.add(self.buffer)
            self.buffer = []

    def done(self, source: str) -> SourceReport:
        self.commit()
        if self.report.error and not self.report.events:
            return self.report  # nothing was read from it: not a source searched
        self.store.note_source(
            source, self.report.origin, self.report.first, self.report.last, self.report.events
        )
        return self.report


def _note_once(report: SourceReport, text: str) -> None:
    if len(report.notes) < 5 and text not in report.notes:
        report.notes.append(text)


def _lines(stream: BinaryIO, report: SourceReport) -> Iterator[str]:
    """Text lines of at most MAX_LINE bytes; longer ones are skipped and counted.

    Read a megabyte at a time and decoded in one piece up to its last line end (a
    character split between two blocks stays whole).
    """
    number = 0
    rest = b""
    skipping = False  # inside a line already too long: drop up to its end
    while True:
        block = stream.read(1 << 20)
        if not block:
            break
        if skipping:
            end = block.find(b"\n")
            if end < 0:
                continue
            block, skipping = block[end + 1 :], False
        data = rest + block
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
        else:
            rest = data[cut + 1 :]
            for line in data[:cut].decode("utf-8", "replace").split("\n"):
                number += 1
                if len(line) > MAX_LINE:
                    report.unreadable += 1
                    _note_once(report, f"line {number} is longer than {MAX_LINE} bytes: skipped")
                    continue
                yield line
        if len(rest) > MAX_LINE:
            number += 1
            report.unreadable += 1
            _note_once(report, f"line {number} is longer than {MAX_LINE} bytes: skipped")
            rest, skipping = b"", True
    if rest and not skipping:
        yield rest.decode("utf-8", "replace")  # the last line, without its line end


def _postfix(stream: BinaryIO, writer: _Writer, parser: PostfixParser) -> None:
    report = writer.report
    report.kind = "postfix"
    for line in _lines(stream, report):
        events = parser.feed(line)
        if events:
            writer.put(events)
    writer.put(parser.flush())
    c = parser.counts
    report.read, report.skipped = c.lines, c.other
    report.unreadable += c.unreadable
    if c.years_from:
        _note_once(report, f"syslog dates carry no year: the year is taken from {c.years_from}")
    if c.postfix == 0 and c.lines:
        report.error = (
            "no Postfix log line in it (nor JSON events, a bounce or a harness store): "
            "not a delivery-record source"
        )


def _json(data: bytes, writer: _Writer) -> None:
    report = writer.report
    report.kind = "json"
    parsed = events_from_body(data, origin=report.origin)
    writer.put(parsed.events)
    report.read, report.unreadable = parsed.read, parsed.bad
    if parsed.read == 1 and parsed.bad:
        report.error = parsed.errors[0]
    for error in parsed.errors:
        _note_once(report, f"{error}: skipped")


def _bounces(path: str, writer: _Writer) -> None:
    from maildoctor.bounce import NotABounce, classify, parse_bounces
    from maildoctor.bounce.inputs import expand, messages

    report = writer.report
    report.kind = "bounce"
    for _, message in messages(expand((path,))):
        report.read += 1
        if message.error:
            report.unreadable += 1
            _note_once(report, f"{message.name}: {message.error}")
            continue
        try:
            parsed = parse_bounces(message.raw)
        except NotABounce:
            report.skipped += 1
            continue
        digest = hashlib.blake2b(message.raw, digest_size=16).hexdigest()
        for bounce in parsed:
            for e in classify(bounce):
                status = {"bounce": "bounced", "feedback": "complaint", "delivered": "sent"}
                if e.kind not in status or not e.recipient:
                    continue
                address = address_key(e.recipient)
                writer.put(
                    [
                        Event(
                            time=e.date or datetime.now(UTC),
                            address=address,
                            status=status[e.kind],
                            source="bounce",
                            key=f"bounce:{digest}:{address}",
                            reply=e.diagnostic,
                            reason=e.reason if e.kind == "bounce" else e.kind,
                            hard=e.hard_bounce and e.kind == "bounce",
                            relay=e.remote_mta,
                            dsn=e.status,
                            subject=bounce.subject,
                            origin=message.name,
                            detail={"mta": e.mta, "reporting_mta": e.reporting_mta},
                        )
                    ]
                )


def _harness(path: str, writer: _Writer) -> None:
    """The harness's own deliveries: every recipient of every stored message but the
    delivery trials (``diagnose``'s simulated mail never reached the customer)."""
    report = writer.report
    report.kind = "harness"
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rows = db.execute(
            "SELECT received_at, message_id, subject, helo, decisions, peer FROM messages"
            " ORDER BY id"
        ).fetchall()
        db.close()
    except sqlite3.Error as e:
        report.error = f"not a maildoctor harness store ({e})"
        return
    for received_at, message_id, subject, helo, decisions, peer in rows:
        report.read += 1
        if helo == TRIAL_HELO:
            report.skipped += 1
            continue
        try:
            deliveries = json.loads(decisions)
        except ValueError:
            report.unreadable += 1
            continue
        when = datetime.fromtimestamp(received_at, UTC)
        for d in deliveries if isinstance(deliveries, list) else ():
            if isinstance(d, dict):
                writer.put(_harness_event(d, when, message_id, subject, report.origin, peer))


def harness_events(message: StoredMessage, origin: str) -> list[Event]:
    """The records of one message the running harness stored (none for a trial)."""
    if message.helo == TRIAL_HELO:
        return []
    when = datetime.fromtimestamp(message.received_at, UTC)
    return [
        e
        for d in message.deliveries
        for e in _harness_event(
            d.to_dict(), when, message.message_id, message.subject, origin, message.peer
        )
    ]


def peer_ip(peer: str) -> str:
    """The client's IP in the harness's ``ip:port`` peer (``""`` if it holds none): the
    host that relayed the mail to the harness, i.e. our sending MTA as the harness saw it."""
    return _host_ip(peer.rpartition(":")[0]) or _host_ip(peer)


@functools.lru_cache(maxsize=256)
def _host_ip(host: str) -> str:
    """:func:`ip_or_empty`, remembered: a harness hears the same few senders, and
    parsing the address was half of the cost of a delivery record."""
    return ip_or_empty(host)


def _harness_event(
    d: dict[str, object], when: datetime, message_id: str, subject: str, origin: str, peer: str
) -> list[Event]:
    recipient = str(d.get("recipient", ""))
    if "@" not in recipient:
        return []
    address = address_key(recipient)
    code = str(d.get("reply_code", ""))
    reply = f"{code} {d.get('reply_text', '')}".strip()
    status = "sent" if code.startswith("2") else "deferred" if code.startswith("4") else "bounced"
    reason, hard = "", False
    if status != "sent":
        reading = read_reply(reply, address, failed=status == "bounced")
        reason, hard = reading.reason, reading.hard and status == "bounced"
    return [
        Event(
            time=when,
            address=address,
            status=status,
            source="harness",
            key=f"harness:{when.timestamp()}:{message_id}:{address}",
            reply=reply,
            reason=reason,
            hard=hard,
            message_id=message_id.strip("<>"),
            subject=subject,
            origin=origin,
            sending_ip=peer_ip(peer),
            detail={"outcome": str(d.get("outcome", "")), "rule": str(d.get("rule", ""))},
        )
    ]


def _kind(head: bytes) -> str:
    if head.startswith(b"SQLite format 3\0"):
        return "harness"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if b"\0" in head:
        return "binary"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        return "json"
    if stripped.startswith(_MAIL_START):
        return "mail"
    return "log"


def ingest_source(
    store: EventStore,
    source: str,
    *,
    stdin: BinaryIO | None = None,
    zone: tzinfo | None = None,
    parser: PostfixParser | None = None,
) -> SourceReport:
    """Read one source (a path, a folder of bounces, or ``-``) into ``store``.

    Store errors (:class:`.store.EventStoreError`) propagate: nothing can be written.
    """
    report = SourceReport(origin=source)
    writer = _Writer(store, report)
    if source != "-" and os.path.isdir(source):
        _bounces(source, writer)
        return writer.done("bounce")
    try:
        if source == "-":
            stream: BinaryIO = stdin if stdin is not None else io.BytesIO()
            reference, years_from = datetime.now(UTC), "the ingest time"
        else:
            stream = open(source, "rb")  # noqa: SIM115 - closed below
            mtime = os.fstat(stream.fileno()).st_mtime
            reference = datetime.fromtimestamp(mtime, UTC)
            years_from = f"the file's modification time ({reference.year})"
    except OSError as e:
        report.error = f"cannot read it: {e.strerror or e}"
        return report
    underlying = stream
    try:
        head = stream.peek(8192)[:8192] if hasattr(stream, "peek") else b""
        kind = _kind(head)
        if kind == "gzip":
            stream = gzip.open(stream)  # type: ignore[assignment]  # noqa: SIM115
            head = stream.peek(8192)[:8192]  # type: ignore[attr-defined]
            kind = _kind(head)
        if kind == "binary":
            report.error = "a binary file: not a mail log, JSON events, a bounce or a harness store"
            return report
        if kind == "harness":
            stream.close()
            _harness(source, writer)
            return writer.done("harness")
        if kind in ("json", "mail"):
            data = stream.read(MAX_DOCUMENT + 1)
            if len(data) > MAX_DOCUMENT:
                report.error = f"larger than {MAX_DOCUMENT // 2**20} MiB: split it"
                return report
            if kind == "json":
                _json(data, writer)
                found = writer.sources
                writer.report.kind = next(iter(found)) if len(found) == 1 else "json"
                return writer.done(writer.report.kind)
            if source == "-":
                return _bounce_bytes(data, writer)
            _bounces(source, writer)
            return writer.done("bounce")
        p = parser or PostfixParser(
            origin=source, reference=reference, zone=zone, years_from=years_from
        )
        _postfix(stream, writer, p)
        return writer.done("postfix")
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        report.error = f"cannot read it: {getattr(e, 'strerror', None) or e}"
        writer.commit()
        return report
    finally:
        stream.close()
        underlying.close()


def _bounce_bytes(data: bytes, writer: _Writer) -> SourceReport:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "stdin")
        path.write_bytes(data)
        _bounces(str(path), writer)
    writer.report.origin = "-"
    return writer.done("bounce")


def follow(
    store: EventStore,
    path: str,
    *,
    poll: float = 1.0,
    stop: Callable[[], bool] = lambda: False,
    on_batch: Callable[[SourceReport], None] | None = None,
    on_ready: Callable[[], None] | None = None,
    zone: tzinfo | None = None,
) -> SourceReport:
    """Read ``path`` as Postfix writes it, until ``stop()``: from its end, then every
    line appended; when it is rotated (a new file under the name, or truncated) the
    new file is read from its start. Joins by queue id carry across the rotation.
    ``on_ready`` is called once the starting position is fixed: from then on every
    line written is read (what a caller waits for before it relies on the follower).
    """
    report = SourceReport(origin=path, kind="postfix")
    writer = _Writer(store, report)
    parser = PostfixParser(origin=path, zone=zone)
    stream: BinaryIO | None = None
    inode = -1
    position = 0
    pending = b""
    while not stop():
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        if st is not None and (st.st_ino != inode or st.st_size < position):
            if stream is not None:
                rest = stream.read()
                pending += rest
                stream.close()
            first = inode == -1
            stream = open(path, "rb")  # noqa: SIM115 - kept open while following
            inode = st.st_ino
            position = st.st_size if first else 0
            stream.seek(position)
        if on_ready is not None:
            on_ready()
            on_ready = None
        if stream is not None:
            chunk = stream.read(4 * 1024 * 1024)
            position += len(chunk)
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                report.read += 1
                if len(raw) > MAX_LINE:
                    report.unreadable += 1
                    continue
                writer.put(parser.feed(raw.decode("utf-8", "replace")))
            if len(pending) > MAX_LINE:
                pending = b""
                report.unreadable += 1
            if complete:
                writer.put(parser.flush())
                writer.commit()
                if on_batch is not None:
                    on_batch(report)
                continue
        time.sleep(poll)
    if stream is not None:
        stream.close()
    writer.put(parser.flush())
    return writer.done("postfix")
