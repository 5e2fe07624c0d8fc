"""Build maildoctor/data/jp_mail_domains.toml: Japanese ISP and campus mail domains, each
with its source.

- campus: every Japanese entry of Hipo's university-domains-list (MIT licence;
  ``fetch github:Hipo/university-domains-list``), the university's name and web page
  as the source; then every ``.jp`` entry of JetBrains's swot (MIT licence; the
  academic domains JetBrains accepts for student licences, one file per domain
  holding the school's name; ``fetch github:JetBrains/swot``) that Hipo lacks: the two
  lists overlap on about half their ``ac.jp`` names, so each finds schools the other
  misses (Tokyo Metropolitan University's ``tmu.ac.jp`` is only in swot);
- isp: the ``.jp`` domains of Thunderbird's ISPDB (``maildoctor/data/mail_domains_ispdb.txt``)
  that are a registered domain (not one of an ISP's server host names such as
  ``mx21.tiki.ne.jp``), and the ISP domains of ``/work/shared/data/carriers-jp.json``
  ``popular_domains_jp`` with the sources recorded there.

Usage: python bench/address_eval/build_jp_domains.py HIPO_GIT_DIR SWOT_GIT_DIR [CARRIERS_JP_JSON]
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "maildoctor" / "data" / "jp_mail_domains.toml"
JP_TYPES = ("ac", "ad", "co", "ed", "go", "gr", "lg", "ne", "or")
HOSTLIKE = re.compile(r"^(?:mx|pop|smtp|m|ml|mail)\d*\.")


def _registered(domain: str) -> str:
    labels = domain.split(".")
    return ".".join(labels[-3:] if labels[-2] in JP_TYPES else labels[-2:])


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def _swot(repo: Path) -> dict[str, str]:
    """swot's registered .jp domains (lib/domains/jp/ac/tmu.txt is tmu.ac.jp), with sources."""
    commit = _git(repo, "rev-parse", "HEAD").strip()
    found: dict[str, str] = {}
    for path in _git(repo, "ls-tree", "-r", "--name-only", "HEAD", "lib/domains/jp").split():
        if not path.endswith(".txt"):
            continue
        labels = path.removeprefix("lib/domains/").removesuffix(".txt").split("/")
        d = ".".join(reversed(labels)).lower()
        name = _git(repo, "show", f"HEAD:{path}").strip().splitlines()[0].strip()
        # the registered domain only: its subdomains are mailbox domains of it anyway
        source = f"JetBrains/swot@{commit[:12]}: {name} ({path})"
        found.setdefault(
            _registered(d), source + ("" if _registered(d) == d else " (registered domain)")
        )
    return found


def main() -> None:
    hipo, swot = Path(sys.argv[1]), Path(sys.argv[2])
    carriers = Path(sys.argv[3] if len(sys.argv) > 3 else "/work/shared/data/carriers-jp.json")
    commit = _git(hipo, "rev-parse", "HEAD").strip()
    raw = _git(hipo, "show", "HEAD:world_universities_and_domains.json")
    campus: dict[str, str] = {}
    for u in json.loads(raw):
        if u.get("alpha_two_code") != "JP":
            continue
        page = (u.get("web_pages") or [""])[0]
        for d in u["domains"]:
            d = d.lower().strip(".")
            if not d.endswith(".jp"):
                continue
            source = f"Hipo/university-domains-list@{commit[:12]}: {u['name']} {page}"
            campus.setdefault(d, source)
            # JPRS: the registered domain is NAME.TYPE.jp or NAME.jp (bs.naist.jp is naist.jp's)
            campus.setdefault(_registered(d), source + " (registered domain)")
    for d, source in _swot(swot).items():
        campus.setdefault(d, source)
    isp: dict[str, str] = {}
    ispdb = (ROOT / "maildoctor" / "data" / "mail_domains_ispdb.txt").read_text("utf-8")
    for line in ispdb.splitlines():
        d = line.strip().lower()
        if not d.endswith(".jp") or d.startswith("#") or HOSTLIKE.match(d):
            continue
        if d == _registered(d):
            isp[d] = "Thunderbird ISPDB (thunderbird/autoconfig@c6ad7965, mail_domains_ispdb.txt)"
    for row in json.loads(carriers.read_text("utf-8")).get("popular_domains_jp", []):
        d = row["domain"].lower()
        if d.endswith(".jp") and d not in isp and d not in campus:
            isp[d] = f"{row.get('provider', '')}: " + "; ".join(row.get("sources", [])[:2])
    lines = [
        "# Japanese ISP and campus mail domains the typo suggester knows (never corrects,",
        "# and corrects slips of), each with its source.",
        "# Built by bench/address_eval/build_jp_domains.py;",
        "# campus entries from Hipo's university-domains-list (MIT licence, (c) 2014-2025 Hipo)",
        "# and JetBrains's swot (MIT licence, (c) 2013 Lee Reilly) where Hipo lacks them,",
        "# ISP entries from Thunderbird's ISPDB (MPL 2.0) and /work/shared/data/carriers-jp.json.",
        "# A subdomain of a campus domain is a mailbox domain of its own (st.kyoto-u.ac.jp).",
        "",
        "[isp]",
        *(f"{_q(d)} = {_q(s)}" for d, s in sorted(isp.items())),
        "",
        "[campus]",
        *(f"{_q(d)} = {_q(s)}" for d, s in sorted(campus.items())),
        "",
    ]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {len(isp)} ISP, {len(campus)} campus domains")


if __name__ == "__main__":
    main()
