"""Benchmark of the harness list and its search: what a developer waits for.

Fills a real SQLite store (``maildoctor.harness.store.Store``) with N rendered
notifications (Shift_JIS and UTF-8 bodies, a quarter of them delivery trials), then
times, each over several runs: the default page (100 newest, trials hidden, the true
total), a field search (``to:``), the first body search (it decodes every message's
text into the search index once) and later body searches. Every search runs in a
thread in ``serve``, off the event loop; these are the times it takes there.

Usage: python bench/search_bench.py [--messages N] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from maildoctor.harness.records import TRIAL_HELO, NewMessage
from maildoctor.harness.store import Store


def message(i: int) -> NewMessage:
    charset, codec = ("Shift_JIS", "cp932") if i % 2 else ("utf-8", "utf-8")
    body = (f"髙橋様 ご注文番号 {i} のお知らせです。①②③ " * 40).encode(codec)
    to = f"user{i}@{'docomo.ne.jp' if i % 3 == 0 else 'example.jp'}"
    raw = (
        f"From: dev@lentrance.com\r\nTo: {to}\r\nSubject: notice {i}\r\n"
        f"Message-ID: <{i}@lentrance.com>\r\nContent-Type: text/plain; charset={charset}\r\n\r\n"
    ).encode() + body
    return NewMessage(
        mail_from="dev@lentrance.com",
        rcpt_tos=(to,),
        raw=raw,
        deliveries=(),
        subject=f"notice {i}",
        from_header="dev@lentrance.com",
        message_id=f"<{i}@lentrance.com>",
        helo=TRIAL_HELO if i % 4 == 0 else "dev.example",
    )


async def fill(store: Store, n: int) -> None:
    for start in range(0, n, 500):
        await asyncio.gather(*(store.add(message(i)) for i in range(start, min(n, start + 500))))


def timed(runs: int, call: object) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "h.sqlite3", max_messages=0, durable=False)
        try:
            asyncio.run(fill(store, args.messages))
            total = store.search("", limit=100, trials=False).total
            print(f"{args.messages} messages stored ({total} not trials), {args.runs} runs each")
            first = timed(1, lambda: store.search("髙橋様", limit=100))[0]
            rows = [
                ("default page (trials hidden)", lambda: store.search("", limit=100, trials=False)),
                ("to:docomo.ne.jp", lambda: store.search("to:docomo.ne.jp", limit=100)),
                ("body word, text kept", lambda: store.search("ご注文番号 4999", limit=100)),
                ("-to:docomo has:attachment", lambda: store.search("-to:docomo has:attachment")),
            ]
            print(f"  first body search (decodes every text)  {first:8.1f} ms")
            for label, call in rows:
                ms = sorted(timed(args.runs, call))
                p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
                print(f"  {label:40s} p50 {statistics.median(ms):7.1f} ms  p95 {p95:7.1f} ms")
        finally:
            store.close()


if __name__ == "__main__":
    main()
