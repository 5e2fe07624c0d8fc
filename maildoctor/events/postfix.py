"""Postfix's log as delivery records (pure: lines in, events out).

Reads the three shapes a Postfix log comes in: classic syslog lines
(``Dec  7 09:42:47 host postfix/smtp[123]: ...``, and Postfix's own
``maillog_file``, which writes ``Dec 07``), ISO-timestamp lines
(rsyslog's file format, ``journalctl -o short-iso``) and RFC 5424.

What one message did is spread over several daemons, joined by queue id:
``cleanup`` names the Message-ID, ``qmgr`` the sender and size and, when the
queue lifetime ran out, ``status=expired, returned to sender`` for every
recipient still deferred; ``smtp``/``lmtp``/``local``/``virtual``/``error``
write each recipient's ``to=<...>, relay=..., dsn=..., status=...
(reply)``; ``bounce`` names the queue id of the DSN it wrote. A queue id
is reused over time, so a join lasts one message's life: from ``smtpd``'s
``client=`` (or the first line seen) to ``qmgr``'s ``removed``.

Syslog lines carry no year: :class:`PostfixParser` takes it from a reference
time (the file's modification time, or the ingest time) and a line dated after
it belongs to the year before.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo

from maildoctor.events.address import address_key
from maildoctor.events.model import Event
from maildoctor.events.reply import read_reply

__all__ = ["LineCounts", "PostfixParser", "looks_like_postfix"]

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_CLASSIC = re.compile(
    r"(?:<\d{1,3}>)?(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) "
    r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.\d+)? (?P<host>\S+) "
    r"(?P<prog>[^\s\[:]+)(?:\[\d+\])?: (?P<msg>.*)"
)
_ISO = re.compile(
    r"(?:<\d{1,3}>)?(?P<iso>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) "
    r"(?P<host>\S+) (?P<prog>[^\s\[:]+)(?:\[\d+\])?: (?P<msg>.*)"
)
_RFC5424 = re.compile(
    r"<\d{1,3}>1 (?P<iso>\S+) (?P<host>\S+) (?P<prog>\S+) \S+ \S+ "
    r"(?:-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: \ufeff?(?P<msg>.*))?"
)
# Short queue ids are hex; long ones (enable_long_queue_ids) use no vowels.
_QID = r"[0-9A-F]{6,}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}"
_QUEUE_ID = re.compile(rf"({_QID}): ")
# One match for the common line: classic syslog time, a Postfix daemon, maybe a queue id.
_FAST = re.compile(
    r"(?:<\d{1,3}>)?(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) "
    r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.\d+)? \S+ "
    r"postfix[^\s\[:/]*/(?:[^\s\[:/]+/)*(?P<daemon>[^\s\[:/]+)(?:\[\d+\])?: "
    rf"(?:(?P<qid>{_QID}): )?(?P<body>.*)"
)
#: What most lines complete (shared, never changed).
_NONE: list[Event] = []
_DELIVERY = re.compile(
    r"to=<(?P<to>[^>]*)>,(?: orig_to=<[^>]*>,)? relay=(?P<relay>[^,]*),"
    r"(?: conn_use=\d+,)? delay=(?P<delay>[^,]*),(?: delays=[^,]*,)?(?: dsn=(?P<dsn>[^,]*),)?"
    r" status=(?P<status>\w+)(?: \((?P<text>.*)\))?$"
)
_FROM = re.compile(r"from=<(?P<from>[^>]*)>, (?:size=(?P<size>\d+)|status=expired)")
_MESSAGE_ID = re.compile(r"message-id=<?(?P<mid>[^>\s]*)>?")
_DSN_WRITTEN = re.compile(r"sender (?:non-delivery|delivery status|delay) notification: (\w+)")
#: Daemons that write a recipient's ``to=<...> status=`` line.
_DELIVERY_AGENTS = {
    "smtp",
    "lmtp",
    "local",
    "virtual",
    "error",
    "retry",
    "pipe",
    "discard",
    "relay",
}
_STATUSES = {"sent": "sent", "deferred": "deferred", "bounced": "bounced", "expired": "expired"}


def looks_like_postfix(line: str) -> bool:
    """Whether ``line`` is a syslog line written by a Postfix program."""
    header = _header(line)
    return header is not None and _is_postfix(header[2])


_PRI = re.compile(r"<\d{1,3}>")


def _header(line: str) -> tuple[re.Match[str], str, str, str] | None:
    """(match, time kind, program, message) of a syslog line in any of the three shapes."""
    rest = 0
    if line.startswith("<"):
        pri = _PRI.match(line)
        if pri is not None:
            rest = pri.end()
            if line.startswith("1 ", rest):
                m = _RFC5424.match(line)
                return (m, "iso", m.group("prog"), m.group("msg") or "") if m else None
    if line[rest : rest + 1].isdigit():
        m = _ISO.match(line)
        return (m, "iso", m.group("prog"), m.group("msg")) if m else None
    m = _CLASSIC.match(line)
    return (m, "classic", m.group("prog"), m.group("msg")) if m else None


def _is_postfix(prog: str) -> bool:
    return prog.startswith("postfix") and "/" in prog


@dataclass
class LineCounts:
    """What a batch of lines held (the ingest report's figures)."""

    lines: int = 0
    postfix: int = 0
    """Lines written by Postfix programs."""
    other: int = 0
    """Lines of other programs: skipped."""
    unreadable: int = 0
    """Lines in no syslog shape (a truncated line, binary noise): skipped."""
    events: int = 0
    years_from: str = ""
    """Where the year of year-less lines came from, when any were read."""


@dataclass
class _Life:
    """One message's life under one queue id."""

    message_id: str = ""
    sender: str = ""
    last: dict[str, Event] = field(default_factory=dict)
    """Each recipient's latest record (``expired`` applies to those still deferred)."""
    pending: list[Event] = field(default_factory=list)


class PostfixParser:
    """Feed lines (:meth:`feed`), take events (:meth:`feed` and :meth:`flush` yield them).

    ``reference`` is the time the year-less lines are read against (their year is
    the reference's, or the one before for a date after it); ``zone`` is the zone
    year-less and zone-less times are in (the log writer's local time).
    """

    def __init__(
        self,
        *,
        origin: str = "",
        reference: datetime | None = None,
        zone: tzinfo | None = None,
        years_from: str = "the ingest time",
    ) -> None:
        self.origin = origin
        self.zone = zone or datetime.now().astimezone().tzinfo or UTC
        self.reference = (reference or datetime.now(UTC)).astimezone(self.zone)
        self.counts = LineCounts()
        self._years_from = years_from
        self._lives: dict[str, _Life] = {}
        self._last_time: datetime | None = None
        self._last_stamp: object = None

    # -- time -------------------------------------------------------------

    def _classic_time(self, m: re.Match[str]) -> datetime:
        month = _MONTHS.get(m.group("mon"), 0)
        if not month:
            raise ValueError("no month")
        ref = self.reference
        year = ref.year
        # A date after the reference (plus a day of clock slack) is last year's.
        if (month, int(m.group("day"))) > (ref.month, ref.day + 1):
            year -= 1
        self.counts.years_from = self._years_from
        return datetime(
            year,
            month,
            int(m.group("day")),
            int(m.group("h")),
            int(m.group("m")),
            int(m.group("s")),
            tzinfo=self.zone,
        ).astimezone(UTC)

    def _time(self, m: re.Match[str], kind: str) -> datetime | None:
        """The line's time (None, counted unreadable, for a date that cannot be);
        lines of one second share one reading."""
        stamp = m.group("mon", "day", "h", "m", "s") if kind == "classic" else m.group("iso")
        if stamp == self._last_stamp:
            return self._last_time
        try:
            when = self._classic_time(m) if kind == "classic" else self._iso_time(m.group("iso"))
        except ValueError:
            self.counts.unreadable += 1
            return None
        self._last_stamp, self._last_time = stamp, when
        return when

    def _iso_time(self, text: str) -> datetime:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.zone)
        return when.astimezone(UTC)

    # -- lines ------------------------------------------------------------

    def feed(self, line: str) -> list[Event]:
        """The events ``line`` completes (most lines complete none: an empty list)."""
        self.counts.lines += 1
        line = line.rstrip("\r\n")
        fast = _FAST.match(line)
        if fast is not None:  # the common case: a classic line of a Postfix daemon
            self.counts.postfix += 1
            m, kind, daemon, qid, body = fast, "classic", fast["daemon"], fast["qid"], fast["body"]
            if qid is None:
                return _NONE
        else:
            header = _header(line)
            if header is None:
                self.counts.unreadable += 1
                return _NONE
            m, kind, prog, msg = header
            if not _is_postfix(prog):
                self.counts.other += 1
                return _NONE
            self.counts.postfix += 1
            q = _QUEUE_ID.match(msg)
            if q is None:
                return _NONE  # connect/disconnect, warnings, statistics: no message named
            qid, body, daemon = q.group(1), msg[q.end() :], prog.rsplit("/", 1)[1]
        return self._message_line(m, kind, daemon, qid, body, line)

    def _message_line(
        self, m: re.Match[str], kind: str, daemon: str, qid: str, body: str, line: str
    ) -> list[Event]:
        if daemon == "smtpd" or daemon == "pickup":
            # A new message under this id: whatever was open under it is over.
            done = self._end(qid)
            self._lives[qid] = _Life()
            return done
        life = self._lives.get(qid)
        if life is None:
            life = self._lives[qid] = _Life()
        if daemon == "cleanup":
            mid = _MESSAGE_ID.match(body)
            if mid is not None:
                life.message_id = mid.group("mid")
            return _NONE
        if daemon in _DELIVERY_AGENTS or body.startswith("to=<"):
            d = _DELIVERY.match(body)
            if d is not None and d.group("status") in _STATUSES:
                when = self._time(m, kind)
                if when is not None:
                    event = self._delivery(d, qid, life, when, line)
                    life.last[event.address] = event
                    life.pending.append(event)
            return _NONE
        if daemon == "qmgr":
            if body == "removed":
                return self._end(qid)
            f = _FROM.match(body)
            if f is not None:
                if f.group("size") is None:
                    when = self._time(m, kind)
                    if when is not None:
                        self._expired(qid, life, when, line)
                else:
                    life.sender = f.group("from")
                    if life.pending:  # a new delivery run: the last one is complete
                        return self._emit(life)
            return _NONE
        if daemon == "bounce":
            dsn = _DSN_WRITTEN.search(body)
            if dsn is not None:
                for i, e in enumerate(life.pending):
                    if e.status in ("bounced", "expired", "deferred"):
                        detail = {**e.detail, "dsn_queue_id": dsn.group(1)}
                        life.pending[i] = replace(e, detail=detail)
        return _NONE

    def _delivery(
        self, d: re.Match[str], qid: str, life: _Life, when: datetime, line: str
    ) -> Event:
        status = _STATUSES[d.group("status")]
        text = d.group("text") or ""
        address = address_key(d.group("to"))
        dsn = d.group("dsn") or ""
        relay = d.group("relay")
        reason, hard = "", False
        if status != "sent":
            reading = read_reply(
                text, address, status=dsn, remote=_relay_host(relay), failed=status == "bounced"
            )
            reason, hard = reading.reason, reading.hard and status == "bounced"
        return Event(
            time=when,
            address=address,
            status=status,
            source="postfix",
            key=_key(line),
            reply=text,
            reason=reason,
            hard=hard,
            message_id=life.message_id,
            queue_id=qid,
            relay="" if relay == "none" else relay,
            dsn=dsn,
            origin=self.origin,
            detail={"delay": d.group("delay"), "sender": life.sender},
        )

    def _expired(self, qid: str, life: _Life, when: datetime, line: str) -> None:
        """``status=expired``: every recipient whose latest try was deferred."""
        for address, last in list(life.last.items()):
            if last.status != "deferred":
                continue
            reading = read_reply(last.reply, address, status=last.dsn, failed=True)
            event = Event(
                time=when,
                address=address,
                status="expired",
                source="postfix",
                key=_key(f"{line}\n{address}"),
                reply=last.reply,
                reason="expired"
                if reading.reason in ("", "undefined", "onhold")
                else reading.reason,
                hard=False,
                message_id=life.message_id,
                queue_id=qid,
                relay=last.relay,
                dsn=last.dsn,
                origin=self.origin,
                detail={"sender": life.sender, "returned_to_sender": True},
            )
            life.last[address] = event
            life.pending.append(event)

    def _emit(self, life: _Life) -> list[Event]:
        done, life.pending = life.pending, []
        self.counts.events += len(done)
        return done

    def _end(self, qid: str) -> list[Event]:
        life = self._lives.pop(qid, None)
        return self._emit(life) if life is not None else _NONE

    def flush(self) -> Iterator[Event]:
        """The events still waiting for their message's end (at the end of a batch).

        Messages stay open: a later line under the same queue id still joins them.
        """
        for life in self._lives.values():
            yield from self._emit(life)


def _relay_host(relay: str) -> str:
    return relay.partition("[")[0] if relay not in ("none", "local") else ""


def _key(line: str) -> str:
    """The record's identity: a digest of the line(s) it was read from."""
    return "postfix:" + hashlib.blake2b(line.encode("utf-8", "replace"), digest_size=16).hexdigest()
