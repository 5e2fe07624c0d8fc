"""Time of the ticket-text address scan against the size of a hostile paste.

``find_addresses`` was a backtracking pattern, quadratic on a run of address
characters with no ``@`` (40 KB of ``a``: ~12 s). The scanner should grow
linearly: this prints milliseconds per size for the worst shapes found, so that
doubling the size should about double the time.

Usage: python bench/scan_bench.py [--max-kib 1024]
"""

from __future__ import annotations

import argparse
import time

from maildoctor.address.check import check_offline
from maildoctor.address.intake import find_addresses, scan_addresses
from maildoctor.diagnose.paste import MAX_PASTE, read_paste

SHAPES = {
    "run of a": lambda n: "a" * n,
    "a.a.a.": lambda n: "a." * (n // 2),
    "a@bbbb": lambda n: "a@" + "b" * n,
    "@@@@": lambda n: "@" * n,
    "a@b.a@b.": lambda n: "a@b." * (n // 4),
    "prose+addresses": lambda n: ("登録したアドレスはtaro@docomo.ne.jpです。" * (n // 30 + 1))[:n],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-kib", type=int, default=1024)
    args = parser.parse_args()
    sizes = []
    size = 16 * 1024
    while size <= args.max_kib * 1024:
        sizes.append(size)
        size *= 4
    head = "".join(f"{s // 1024:>8} KiB" for s in sizes)
    print(f"{'shape':<18}{head}   (ms, strict / slips)")
    for name, make in SHAPES.items():
        cells = []
        for n in sizes:
            text = make(n)
            t0 = time.perf_counter()
            find_addresses(text)
            t1 = time.perf_counter()
            scan_addresses(text, slips=True)
            t2 = time.perf_counter()
            cells.append(f"{(t1 - t0) * 1000:>5.0f}/{(t2 - t1) * 1000:<5.0f}")
        print(f"{name:<18}" + "".join(f"{c:>12}" for c in cells))
    # What the desk does with the largest paste: read it, then check the address chosen.
    n = MAX_PASTE - 20
    print(f"\nlargest paste ({MAX_PASTE} characters): read_paste + check_offline, ms")
    for name, text in {
        "run of a": "a" * n + " taro@docomo.ne.jp",
        "many labels": "a@" + "b." * (n // 2) + "jp",
        "long label": "a@" + "b" * n + ".jp",
        "many @": "a@@" * (n // 3) + "x.jp",
        "prose": ("登録したアドレスはtaro@docomo.ne.jpです。" * (n // 30))[:n],
    }.items():
        t0 = time.perf_counter()
        paste = read_paste(text)
        t1 = time.perf_counter()
        check_offline(paste.address or "")
        t2 = time.perf_counter()
        print(f"  {name:<16}{(t1 - t0) * 1000:>8.0f}{(t2 - t1) * 1000:>8.0f}")


if __name__ == "__main__":
    main()
