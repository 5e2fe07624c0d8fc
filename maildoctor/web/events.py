"""Delivery records over HTTP: ``POST /api/events`` and ``GET /api/addresses/{address}/events``.

``POST /api/events`` takes what the senders post (an SES notification in its SNS
envelope, a SendGrid Event Webhook batch, the events' own records as JSON or JSON
lines). Webhooks cannot log in to the desk, so it is opened by its own token, set at
start (``serve --events-token``, ``$MAILDOCTOR_EVENTS_TOKEN``): ``Authorization:
Bearer TOKEN``, HTTP Basic with the token as password (SNS's ``https://user:TOKEN@``
subscriptions), or ``?token=TOKEN``. Without a token the route is off. Bodies are
limited (:data:`MAX_EVENTS_BODY`); parsing and the SQLite write run off the event loop.

``GET /api/addresses/{address}/events`` follows the desk's login rules and answers
what ``maildoctor events show --format json`` reads, with the suppression and what
was searched. The harness's own deliveries go into the store as it stores them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from maildoctor.events.address import address_key
from maildoctor.events.esp import events_from_body
from maildoctor.events.ingest import harness_events
from maildoctor.events.lookup import lookup
from maildoctor.events.store import DEFAULT_DAYS, MAX_DAYS, EventStore, EventStoreError
from maildoctor.web.config import WebConfig
from maildoctor.web.http import error_response, json_response, read_body

if TYPE_CHECKING:
    from maildoctor.harness.records import StoredMessage
    from maildoctor.harness.server import Harness
    from maildoctor.harness.store import Store

__all__ = ["MAX_EVENTS_BODY", "TOKEN_PATHS", "add_routes", "events_db"]

#: The largest body ``POST /api/events`` takes (an SES/SendGrid batch is far smaller).
MAX_EVENTS_BODY = 2 * 1024 * 1024
#: POST paths opened by the events token instead of the desk's login.
TOKEN_PATHS = frozenset({"/api/events"})


def events_db(config: WebConfig, harness: Harness) -> Path:
    """The store: ``--events-db``, else ``events.sqlite3`` beside the harness's database."""
    return config.events_db or harness.config.db.with_name("events.sqlite3")


def _token_of(request: web.Request) -> str:
    auth = request.headers.get("Authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return ""
    return request.query.get("token", "")


def _ingest(path: Path, body: bytes) -> tuple[int, dict[str, Any]]:
    """(HTTP status, answer) for one posted body (runs in a worker thread)."""
    parsed = events_from_body(body, origin="POST /api/events")
    if not parsed.events and parsed.bad:
        return 422, {"error": f"Nothing could be read: {parsed.errors[0]}."}
    try:
        with EventStore(path) as store:
            added = store.add(parsed.events)
            if parsed.events:
                times = [e.time for e in parsed.events]
                store.note_source("api", "POST /api/events", min(times), max(times), added)
    except EventStoreError as e:
        return 503, {"error": str(e)}
    return 200, {
        "records": len(parsed.events),
        "added": added,
        "skipped": parsed.bad,
        "errors": parsed.errors,
    }


#: Harness messages waiting for the delivery-records thread at most (summaries, well under
#: a kilobyte each): past it their records are skipped and the log says so.
MAX_PENDING_RECORDS = 50_000
#: How long the records thread lets messages gather after one arrived: under load one
#: transaction (one fsync) covers hundreds, and the thread wakes a few times a second
#: instead of at each of the writer's commits (each wake-up a GIL hand-over).
RECORD_DELAY = 0.05
#: Longest wait, as the harness stops, for the records it stored to be written.
FINISH_TIMEOUT = 15.0


class _HarnessRecorder:
    """Puts every message the harness stores into the events store, in a thread of its own.

    The store's writer hands over each commit's messages as summaries, with every field
    a record needs (:meth:`Store.subscribe_stored`): an append under a lock, so it never
    waits, and no read back from the harness's store. The thread turns whatever came
    into records and writes them in one transaction, on one connection it keeps (made
    again after an error). A broken events store is logged and skipped, never the
    harness's trouble.
    """

    def __init__(self, harness: Harness, path: Path) -> None:
        self.harness = harness
        self.path = path
        self.origin = str(harness.config.db)
        self._pending: list[StoredMessage] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._events: EventStore | None = None
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        """Open the store now, so that readers never meet a file without its tables."""
        try:
            self._events = EventStore(self.path)
        except EventStoreError as e:
            self.harness.log.event("events-store", f"events: {e}")

    def start(self, store: Store) -> None:
        """Start the thread and take each commit's messages from ``store``'s writer."""
        self._thread = threading.Thread(
            target=self.run, args=(store,), name="maildoctor-events", daemon=True
        )
        self._thread.start()
        store.subscribe_stored(self.offer)
        store.when_closed(self.finish)

    def finish(self) -> None:
        """The harness is stopping: write the records handed over, then stop (a locked
        events store is waited for no longer than :data:`FINISH_TIMEOUT`)."""
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=FINISH_TIMEOUT)

    def offer(self, messages: Sequence[StoredMessage]) -> None:
        """The store writer's listener: queue ``messages`` and return."""
        with self._lock:
            full = len(self._pending) + len(messages) > MAX_PENDING_RECORDS
            if not full:
                self._pending.extend(messages)
        if full:
            self.harness.log.event(
                "events-full", "events: the record queue is full; harness deliveries skipped"
            )
        elif not self._wake.is_set():
            self._wake.set()

    def run(self, store: Store) -> None:
        """Write records as messages come, until the harness's store has stopped."""
        try:
            while True:
                if not store.stopped and self._wake.wait(timeout=1.0):
                    time.sleep(RECORD_DELAY)
                self._wake.clear()
                stopped = store.stopped  # read first: it announces nothing after this
                with self._lock:
                    messages, self._pending = self._pending, []
                if messages:
                    self.write(messages)
                elif stopped:
                    return
        finally:
            if self._events is not None:
                self._events.close()

    def write(self, messages: Sequence[StoredMessage]) -> None:
        """The records of ``messages`` in one transaction (none for a trial)."""
        records = [e for m in messages for e in harness_events(m, origin=self.origin)]
        if not records:
            return
        try:
            if self._events is None:
                self._events = EventStore(self.path)
            self._events.add(records, note=("harness", self.origin))
        except Exception as e:  # the store's fault is logged, never the harness's
            if self._events is not None:
                with contextlib.suppress(Exception):
                    self._events.close()
                self._events = None
            self.harness.log.event(
                "events-store", f"events: cannot record the harness's deliveries: {e}"
            )


def _record_harness(harness: Harness, path: Path) -> None:
    """Put every message the harness stores into the events store, off its writer thread."""
    store = harness.store
    assert store is not None
    recorder = _HarnessRecorder(harness, path)
    recorder.open()
    recorder.start(store)


def add_routes(app: web.Application, harness: Harness, config: WebConfig) -> None:
    """Register the delivery-record API and record the harness's own deliveries."""
    path = events_db(config, harness)
    _record_harness(harness, path)

    async def post_events(request: web.Request) -> web.Response:
        token = config.events_token
        if not token:
            return error_response(
                403,
                "Posting events is off: start serve with --events-token (or "
                "$MAILDOCTOR_EVENTS_TOKEN).",
            )
        if not hmac.compare_digest(_token_of(request).encode(), token.encode()):
            resp = error_response(401, "Missing or wrong events token.")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="maildoctor events"'
            return resp
        body = await read_body(request, limit=MAX_EVENTS_BODY)
        if isinstance(body, web.Response):
            return body
        if not body.strip():
            return error_response(400, "The body is empty: post JSON events.")
        status, answer = await asyncio.to_thread(_ingest, path, body)
        return json_response(answer, status=status)

    async def address_events(request: web.Request) -> web.Response:
        address = request.match_info["address"]
        if len(address) > 320 or "@" not in address_key(address):  # ＠ from an IME is an @
            return error_response(400, f"{address[:80]!r} is not an address.")
        try:
            days = int(request.query.get("days", str(DEFAULT_DAYS)))
        except ValueError:
            days = -1
        if not 0 <= days <= MAX_DAYS:  # 10**11 days was an OverflowError: a 500
            return error_response(
                400, f"days must be a whole number from 0 (all kept) to {MAX_DAYS:,}."
            )

        def read() -> dict[str, Any] | None:
            if not path.exists():
                return None
            with EventStore(path, create=False) as store:
                return lookup(store, address, days=days).to_dict()

        try:
            found = await asyncio.to_thread(read)
        except EventStoreError as e:
            return error_response(503, str(e))
        if found is None:
            return json_response(
                {"address": address, "records": [], "suppressed": None, "searched": None}
            )
        return json_response(found)

    app.router.add_post("/api/events", post_events)
    app.router.add_get("/api/addresses/{address}/events", address_events)
