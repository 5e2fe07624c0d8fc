"""Proof that a change to ``check --file``'s output path changed no byte: the command of
this tree against the one of an earlier commit, on many lists, in every format.

Checks out ``--against`` in a temporary git worktree and runs ``python -m maildoctor
check --file`` from each tree (a new process each time), then compares standard
output, standard error and the exit status. The lists:

- ``bench/check_bench.py``'s 100,000 addresses over 5,000 domains (``--addresses``);
- every address of ``bench/address_eval/*.jsonl`` (as typed and as meant), a plain list;
- every address of the test vectors (``tests/data/vectors``) that fits on a line,
  a plain list, plus addresses at the test zone's SERVFAIL and REFUSED names;
- a CSV mixing them (a sample of each, every vector, repeats) with other columns:
  a member number, and a note holding commas, quotes, formulas, line breaks or nothing.

Each list in text, json, jsonl and csv, in Japanese and English, offline and against a
loopback DNS server (``tests/dnsserver.py``: the test zone and the bench's domains,
no added delay); the smaller lists also with ``--dns-repair`` and ``--reply``.
Prints ``identical: N outputs`` (exit 0) or each difference (exit 1).

Usage: python bench/check_identity.py [--against REV] [--addresses N]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import multiprocessing as mp
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from check_bench import bench_domains, serve, zone_text  # noqa: E402

#: main before issue 24's formatting round.
BEFORE = "28b2697"
FORMATS = ("text", "json", "jsonl", "csv")
LANGS = ("ja", "en")


def eval_addresses() -> list[str]:
    out = []
    for path in sorted((ROOT / "bench" / "address_eval").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            out.extend(row[k] for k in ("typed", "meant", "address") if row.get(k))
    return out


def vector_addresses() -> list[str]:
    out = []
    for path in sorted((ROOT / "tests" / "data" / "vectors").glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            for key in ("address", "email", "typed", "intended"):
                value = case.get(key)
                if isinstance(value, str):
                    out.append(value if "@" in value or key == "address" else f"taro@{value}")
    return out


def _surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) < 0xE000 for c in text)


def write_lists(folder: Path, addresses: int) -> dict[str, Path]:
    rng = random.Random(2026)
    domains = bench_domains(5000)
    bench = [
        f"member{i}@{domains[i % len(domains)]}" if i >= len(domains) else f"member{i}@{domains[i]}"
        for i in range(addresses)
    ]
    rng.shuffle(bench)
    evals = eval_addresses()
    vectors = [
        *vector_addresses(),
        "taro@servfail.maildoctor.test",
        "hanako@refused.maildoctor.test",
        "info@gmail.com",
        "Taro@GMAIL.COM",
        "taro@docomo.ne.jp",
        "taro@docomo.ne.jp",
    ]
    # A lone surrogate cannot be written as UTF-8, a NUL makes the file binary.
    vectors = [a for a in vectors if "\0" not in a and not _surrogate(a)]
    one_line = [a for a in vectors if a.strip() and "\n" not in a and "\r" not in a]
    notes = ["", "a,b", 'say "hi"', "=1+1", "-x", "@home", "two\nlines", "全角，メモ", " "]
    rows = [*rng.sample(bench, min(3000, len(bench))), *rng.sample(evals, 1000), *vectors]
    rows += rng.sample(rows, 500)
    rng.shuffle(rows)
    mixed = io.StringIO()
    writer = csv.writer(mixed, lineterminator="\n")
    writer.writerow(["会員番号", "メールアドレス", "note"])
    for i, address in enumerate(rows):
        writer.writerow([f"{i:05d}", address, rng.choice(notes)])
    lists = {
        "bench.txt": "\n".join(bench) + "\n",
        "eval.txt": "\n".join(evals) + "\n",
        "vectors.txt": "\n".join(one_line) + "\n",
        "mixed.csv": mixed.getvalue(),
    }
    for name, text in lists.items():
        (folder / name).write_text(text, encoding="utf-8")
    return {name: folder / name for name in lists}


def runs(lists: dict[str, Path], nameserver: str) -> list[list[str]]:
    """Every command's arguments after ``check --file``."""
    out = []
    dns = ["--nameserver", nameserver, "--dns-timeout", "1"]
    for name, path in lists.items():
        for fmt in FORMATS:
            for lang in LANGS:
                base = [str(path), "--format", fmt, "--lang", lang]
                out.append([*base, "--offline"])
                out.append([*base, *dns])
                if name != "bench.txt":
                    out.append([*base, *dns, "--dns-repair"])
        if name != "bench.txt":
            for lang in LANGS:
                out.append([str(path), "--reply", "--lang", lang, "--offline"])
                out.append([str(path), "--reply", "--lang", lang, *dns])
    return out


def run(tree: Path, args: list[str]) -> tuple[int, bytes, bytes]:
    done = subprocess.run(
        [sys.executable, "-m", "maildoctor", "check", "--file", *args],
        cwd=tree,
        capture_output=True,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default=BEFORE)
    parser.add_argument("--addresses", type=int, default=100_000)
    args = parser.parse_args()

    zone = (ROOT / "tests" / "data" / "zones" / "test.zone").read_text(encoding="utf-8")
    bench_zone = zone_text(bench_domains(5000)).splitlines()[4:]  # its own root and gmail left out
    zone += "\n$ORIGIN .\n" + "\n".join(bench_zone) + "\n"
    parent, child = mp.Pipe()
    server = mp.Process(target=serve, args=(child, zone, 0.0), daemon=True)
    server.start()
    nameserver = parent.recv()
    differences = 0
    compared = 0
    with tempfile.TemporaryDirectory() as folder:
        old = Path(folder) / "old"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(old), args.against],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            lists = write_lists(Path(folder), args.addresses)
            for command in runs(lists, nameserver):
                before, after = run(old, command), run(ROOT, command)
                compared += 1
                if before != after:
                    differences += 1
                    print("DIFFERENT:", " ".join(command), "exit", before[0], after[0])
                elif not before[1]:
                    print("EMPTY OUTPUT:", " ".join(command), before[2].decode()[-300:])
                    differences += 1
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False
            )
            parent.send("stop")
    if differences:
        print(f"{differences} of {compared} outputs differ from {args.against}")
        sys.exit(1)
    print(f"identical: {compared} outputs (stdout, stderr, exit status) against {args.against}")


if __name__ == "__main__":
    main()
