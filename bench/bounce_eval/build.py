"""Build bench/bounce_eval/ from Sisimai's public sample set and its own expectations.

Reads a git checkout of ``sisimai/p5-sisimai`` (``fetch github:sisimai/p5-sisimai``,
commit 21cfb932, v5.1.0p3): every ``set-of-emails/maildir/bsd/*.eml`` that a
``t/NNN-{lhost,rhost,rfc3464,rfc3834,arf}-*.t`` test expects results for, with
those results (its ``$isexpected`` tables, reasons renamed to Sisimai's current
names by the bench). Samples already in tests/data/bounces and bounces-more (same
SHA-256) are left out: this set is what the project had not seen.

The tuning / held-out split is fixed here, before any rule was written from the
set: a sample is held out when the SHA-256 of its file name, read as a number,
is 0 mod 3 (about a third). bench/bounce_bench.py prints both parts.

Usage: python bench/bounce_eval/build.py /work/.mirror/sisimai+p5-sisimai/repo
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ROW = re.compile(r"\[\s*'([^']*)'\s*,\s*'([^']*)'\s*,\s*'([^']*)'\s*,\s*(\d)")
ENTRY = re.compile(r"^\s*'(\d+)'\s*=>\s*\[(.*?)\]\s*,?\s*$", re.M | re.S)


def held_out(name: str) -> bool:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % 3 == 0


def git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


def tables(repo: Path) -> dict[str, list[dict]]:
    """``file name -> expected results`` from every public test table."""
    out: dict[str, list[dict]] = {}
    for t in git(repo, "ls-tree", "--name-only", "HEAD", "t/").decode().split():
        m = re.match(r"t/\d+-(lhost|rhost|rfc3464|rfc3834|arf)(?:-(\w+))?\.t$", t)
        if not m:
            continue
        kind, engine = m.groups()
        src = git(repo, "show", f"HEAD:{t}").decode()
        if "my $isexpected = {" not in src:
            continue
        body = src.split("my $isexpected = {", 1)[1].split("\n};", 1)[0]
        body = re.sub(r"#.*", "", body)
        prefix = f"{kind}-{engine.lower()}" if engine else kind
        for num, rows in re.findall(r"'(\d+)'\s*=>\s*\[(.*?)\]\s*,\s*(?='\d+'|$)", body, re.S):
            results = [
                {"status": s, "replycode": c, "reason": r, "hardbounce": h == "1"}
                for s, c, r, h in ROW.findall(rows)
            ]
            out[f"{prefix}-{int(num):02d}.eml"] = results
    return out


def main() -> None:
    repo = Path(sys.argv[1])
    commit = git(repo, "rev-parse", "HEAD").decode().strip()
    seen = set()
    for folder in ("bounces", "bounces-more"):
        for v in json.loads((ROOT / "tests/data" / folder / "expected.json").read_text()):
            seen.add(v["sha256"])
    emails = HERE / "emails"
    emails.mkdir(exist_ok=True)
    rows = []
    for name, results in sorted(tables(repo).items()):
        try:
            raw = git(repo, "show", f"HEAD:set-of-emails/maildir/bsd/{name}")
        except subprocess.CalledProcessError:
            continue
        digest = hashlib.sha256(raw).hexdigest()
        if digest in seen or not results:
            continue
        seen.add(digest)
        (emails / name).write_bytes(raw)
        rows.append(
            {
                "file": name,
                "part": "heldout" if held_out(name) else "tuning",
                "results": results,
                "sha256": digest,
                "source": f"sisimai/p5-sisimai@{commit}:set-of-emails/maildir/bsd/{name}",
            }
        )
    (HERE / "expected.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    parts = [r["part"] for r in rows]
    print(f"{len(rows)} samples: {parts.count('tuning')} tuning, {parts.count('heldout')} held out")


if __name__ == "__main__":
    main()
