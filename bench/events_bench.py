"""Speed of the delivery records: ingesting a Postfix log, and one address's timeline.

Ingest: a synthetic Postfix log in the shape of the log a real Postfix wrote in the
tests (tests/data/events/postfix-maillog.log: smtpd connect/client/disconnect,
cleanup message-id, qmgr from/removed, smtp sent/deferred/bounced, bounce
notifications, qmgr expired), with the noise of other programs a syslog file
holds. The lines are read, joined by queue id, every reply classified, and stored
durably (WAL, synchronous=FULL, one transaction per 20,000 records) into a fresh
SQLite file; beside it, in the same run, Debian's ``pflogsumm`` summarises the same
file. Goal: >= 50,000 lines/s and faster than pflogsumm. Rates are per CPU second
of each process (the machine is shared; wall time is printed beside it).

Timeline: a store of N synthetic events (default 10 million, 200,000 addresses)
built straight in SQLite, then ``lookup(address)`` (the timeline, the suppression,
what was searched: what ``events show``, ``diagnose`` and the desk call) for random
addresses; p50/p99 in ms. Goal: p99 <= 20 ms at 10 million events.

Usage: python bench/events_bench.py [--lines N] [--events N] [--lookups N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maildoctor.events.ingest import ingest_source  # noqa: E402
from maildoctor.events.lookup import lookup  # noqa: E402
from maildoctor.events.store import SCHEMA, EventStore  # noqa: E402

PFLOGSUMM = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"
DOMAINS = (
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "softbank.ne.jp",
    "gmail.com",
    "yahoo.co.jp",
    "icloud.com",
)
REPLIES = {
    "sent": ("2.0.0", "250 2.0.0 OK: queued as {qid}"),
    "deferred": (
        "4.7.1",
        "host mx.{domain}[192.0.2.25] said: 451 4.7.1 Try again later "
        "(in reply to end of DATA command)",
    ),
    "bounced": (
        "5.1.1",
        "host mx.{domain}[192.0.2.25] said: 550 5.1.1 <{to}>: Recipient "
        "address rejected: User unknown (in reply to RCPT TO command)",
    ),
}


def _qid(n: int) -> str:
    return f"{0x1A2B3C00000 + n:011X}"


def write_log(path: Path, lines_wanted: int, seed: int = 7) -> int:
    """A syslog file of about ``lines_wanted`` lines; returns the number written."""
    rng = random.Random(seed)
    out = []
    n = 0
    second = 0
    while len(out) < lines_wanted:
        n += 1
        second += rng.random() * 0.3
        clock = time.strftime("%H:%M:%S", time.gmtime(second))
        stamp = f"Dec {7 + int(second // 86400) % 20:2d} {clock}"
        qid = _qid(n)
        to = f"user{rng.randrange(200_000)}@{rng.choice(DOMAINS)}"
        domain = to.partition("@")[2]
        pid = 1000 + n % 5000
        h = "mta postfix"
        out += [
            f"{stamp} {h}/smtpd[{pid}]: connect from app1.lentrance.com[10.0.0.5]",
            f"{stamp} {h}/smtpd[{pid}]: {qid}: client=app1.lentrance.com[10.0.0.5]",
            f"{stamp} {h}/cleanup[{pid + 1}]: {qid}: message-id=<reg-{n}@lentrance.com>",
            f"{stamp} {h}/qmgr[99]: {qid}: from=<noreply@lentrance.com>, size=4{n % 900:03d}, "
            "nrcpt=1 (queue active)",
            f"{stamp} {h}/smtpd[{pid}]: disconnect from app1.lentrance.com[10.0.0.5] ehlo=1 "
            "mail=1 rcpt=1 data=1 quit=1 commands=5",
        ]
        roll = rng.random()
        status = "sent" if roll < 0.9 else "deferred" if roll < 0.97 else "bounced"
        dsn, reply = REPLIES[status]
        reply = reply.format(qid=_qid(n + 7_000_000), domain=domain, to=to)
        out.append(
            f"{stamp} {h}/smtp[{pid + 2}]: {qid}: to=<{to}>, relay=mx.{domain}[192.0.2.25]:25, "
            f"delay=0.{n % 90 + 10}, delays=0.01/0.01/0.1/0.2, dsn={dsn}, status={status} ({reply})"
        )
        if status == "bounced":
            out.append(
                f"{stamp} {h}/bounce[{pid + 3}]: {qid}: sender non-delivery "
                f"notification: {_qid(n + 9_000_000)}"
            )
        if status == "deferred" and rng.random() < 0.3:
            out.append(
                f"{stamp} {h}/qmgr[99]: {qid}: from=<noreply@lentrance.com>, "
                "status=expired, returned to sender"
            )
        if status != "deferred":
            out.append(f"{stamp} {h}/qmgr[99]: {qid}: removed")
        if rng.random() < 0.2:
            out.append(f"{stamp} mta CRON[{pid}]: (root) CMD (command -v debian-sa1 > /dev/null)")
    path.write_text("\n".join(out) + "\n")
    return len(out)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_ingest(folder: Path, lines: int) -> None:
    log = folder / "mail.log"
    written = write_log(log, lines)
    print(f"ingest: {written:,} lines ({log.stat().st_size / 2**20:.1f} MiB)")
    db = folder / "ingest.sqlite3"
    wall, cpu = time.perf_counter(), time.process_time()
    with EventStore(db) as store:
        report = ingest_source(store, str(log), zone=UTC)
    ours_wall, ours = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"  maildoctor events ingest: {ours:6.2f} s CPU {written / ours:10,.0f} lines/s "
        f"(wall {ours_wall:.2f} s, {written / ours_wall:,.0f} lines/s; "
        f"{report.events:,} records stored durably, {report.skipped:,} other lines skipped)"
    )
    if not Path(PFLOGSUMM).exists():
        print("  pflogsumm: not installed (Debian's pflogsumm; .ci/run installs it)")
        return
    wall, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run([PFLOGSUMM, str(log)], capture_output=True, text=True, check=False)
    theirs_wall, theirs = time.perf_counter() - wall, _children_cpu() - cpu
    state = "" if done.returncode == 0 else f" (exit {done.returncode})"
    print(
        f"  pflogsumm (same file):    {theirs:6.2f} s CPU {written / theirs:10,.0f} lines/s "
        f"(wall {theirs_wall:.2f} s, {written / theirs_wall:,.0f} lines/s){state}"
    )
    print(
        f"  CPU ratio: maildoctor is {theirs / ours:.2f}x pflogsumm's speed "
        f"({'faster' if ours < theirs else 'slower'}); goal >= 50,000 lines/s (CPU): "
        f"{'met' if written / ours >= 50_000 else 'NOT met'}"
    )


def build_store(db: Path, events: int, addresses: int) -> float:
    """``events`` rows over ``addresses`` addresses, made by SQLite itself."""
    started = time.perf_counter()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # building the bench's data, not ingesting
    conn.executescript(SCHEMA.replace("CREATE INDEX", "-- CREATE INDEX"))
    now = datetime.now(UTC).timestamp()
    conn.execute(
        """
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
        INSERT INTO events (key, time, address, status, source, reply, reason, hard, message_id,
                            queue_id, relay, dsn, subject, origin, detail)
        SELECT 'bench:' || i, ? - (i % 7776000), 'user' || (i % ?) || '@docomo.ne.jp',
               CASE WHEN i % 50 = 0 THEN 'bounced' WHEN i % 13 = 0 THEN 'deferred' ELSE 'sent' END,
               'postfix', '250 2.0.0 OK', '', 0, 'm' || i || '@lentrance.com', '', '', '', '',
               'bench', '{}'
        FROM n
        """,
        (events, now, addresses),
    )
    conn.commit()
    for line in SCHEMA.splitlines():
        if line.startswith("CREATE INDEX"):
            conn.execute(line.rstrip(";"))
    conn.execute("INSERT INTO sources VALUES ('postfix', 'bench', NULL, NULL, ?, ?)", (events, now))
    conn.commit()
    conn.close()
    return time.perf_counter() - started


def bench_timeline(folder: Path, events: int, addresses: int, lookups: int) -> None:
    db = folder / "timeline.sqlite3"
    took = build_store(db, events, addresses)
    print(
        f"timeline: a store of {events:,} events over {addresses:,} addresses "
        f"({db.stat().st_size / 2**30:.2f} GiB, built in {took:.0f} s)"
    )
    rng = random.Random(3)
    times = []
    with EventStore(db, create=False) as store:
        for _ in range(lookups):
            address = f"user{rng.randrange(addresses)}@docomo.ne.jp"
            started = time.perf_counter()
            record = lookup(store, address, days=0)
            times.append((time.perf_counter() - started) * 1000)
            assert record.events
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    print(
        f"  lookup (timeline + suppression + searched), {lookups:,} random addresses, "
        f"~{events // addresses} events each: p50 {statistics.median(times):.2f} ms, "
        f"p99 {p99:.2f} ms, max {times[-1]:.2f} ms; goal p99 <= 20 ms: "
        f"{'met' if p99 <= 20 else 'NOT met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--addresses", type=int, default=200_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--keep", type=Path, help="Keep the files in this folder.")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="events-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if args.lines:
            bench_ingest(folder, args.lines)
        if args.events:
            bench_timeline(folder, args.events, args.addresses, args.lookups)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
