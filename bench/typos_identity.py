"""Proof that a change to the typo search changed no answer: the suggester of this tree
against the one of an earlier commit, on many domains.

Loads ``maildoctor/address/typos.py`` as it was at ``--against`` (read with
``git show``, imported beside the current one; both use this tree's domain table)
and compares, for every domain of the set:

- ``suggest_domain`` (the suggestion, its rule and its strength);
- ``repair_candidates`` (what ``check --dns-repair`` asks DNS about), at the
  default limit of 3 and at 10 (the order of the whole list, not only its head).

The set: every domain typed in ``bench/address_eval/*.jsonl`` (as typed and after
:func:`~maildoctor.address.repair.repair`), every explicit typo of the table,
random one- and two-edit slips (insertion, deletion, substitution, transposition,
dots and hyphens included) of every target, some of them under a mailbox
subdomain, and ``bench/check_bench.py``'s 5,000 unknown domains. It prints
``identical: N domains`` (exit 0) or each difference (exit 1), and the CPU per
domain of both suggesters on check_bench's domains, caches cold.

Usage: python bench/typos_identity.py [--against REV] [--slips N] [--seed N]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from check_bench import bench_domains  # noqa: E402

from maildoctor.address import typos  # noqa: E402
from maildoctor.address.known_domains import default_table  # noqa: E402
from maildoctor.address.repair import repair  # noqa: E402
from maildoctor.carriers import carrier_for_domain  # noqa: E402

#: The commit before the typo search's C prefilter (the Python loop over the targets).
BEFORE_PREFILTER = "d5ba462"
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789.-"


def load_typos(rev: str) -> ModuleType:
    """typos.py as it was at ``rev``, imported under its own name."""
    source = subprocess.run(
        ["git", "show", f"{rev}:maildoctor/address/typos.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "typos_reference.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("typos_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def slip(word: str, rng: random.Random) -> str:
    """``word`` with one random edit."""
    i = rng.randrange(len(word) + 1)
    kind = rng.choice(("insert", "delete", "substitute", "transpose"))
    if kind == "insert" or not word:
        return word[:i] + rng.choice(ALPHABET) + word[i:]
    i = min(i, len(word) - 1)
    if kind == "delete":
        return word[:i] + word[i + 1 :]
    if kind == "transpose" and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + rng.choice(ALPHABET) + word[i + 1 :]


def eval_domains() -> set[str]:
    domains: set[str] = set()
    for path in sorted((ROOT / "bench" / "address_eval").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            case = json.loads(line)
            for key in ("typed", "meant", "address"):
                address = case.get(key)
                if not address:
                    continue
                domains.add(address.rpartition("@")[2].lower())
                fixed = repair(address)
                if fixed is not None:
                    domains.add(fixed.rpartition("@")[2])
    return domains


def domain_set(slips: int, seed: int) -> tuple[list[str], list[str]]:
    """(every domain to compare, check_bench's domains)."""
    table = default_table()
    rng = random.Random(seed)
    domains = eval_domains() | set(table.explicit)
    for target in table.targets:
        for _ in range(slips):
            one = slip(target, rng)
            two = slip(one, rng)
            domains.update((one, two))
            if rng.random() < 0.1:
                domains.update((f"mail.{one}", f"s.{two}"))
    bench = bench_domains(5000)
    domains.update(bench)
    return sorted(d for d in domains if d), bench


def answers(module: ModuleType, domain: str) -> tuple[object, ...]:
    """What the module answers for ``domain`` (its suggestion as plain fields: the two
    modules' TypoSuggestion classes are two classes)."""
    found = module.suggest_domain(domain)
    return (
        None if found is None else dataclasses.astuple(found),
        module.repair_candidates(domain),
        module.repair_candidates(domain, limit=10),
    )


def cpu_per_domain(
    suggest: Callable[[str], object], clear: Callable[[], None], domains: list[str]
) -> float:
    """Microseconds of process CPU a new domain, caches cold (best of three)."""
    best = float("inf")
    for _ in range(3):
        clear()
        start = time.process_time()
        for domain in domains:
            suggest(domain)
        best = min(best, time.process_time() - start)
    return best / len(domains) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", default=BEFORE_PREFILTER, help="git revision to compare with")
    parser.add_argument(
        "--slips", type=int, default=6, help="slips of each target (each 1 and 2 edits)"
    )
    parser.add_argument("--seed", type=int, default=24)
    args = parser.parse_args()

    before = load_typos(args.against)
    domains, bench = domain_set(args.slips, args.seed)
    differences = 0
    for domain in domains:
        old, new = answers(before, domain), answers(typos, domain)
        if old != new:
            differences += 1
            if differences <= 20:
                print(f"DIFFERENT {domain!r}:\n  {args.against}: {old}\n  this tree: {new}")
    if differences:
        print(f"different: {differences} of {len(domains)} domains")
        sys.exit(1)
    print(
        f"identical: {len(domains)} domains (suggestions, repair candidates) against {args.against}"
    )
    for name, module in ((args.against, before), ("this tree", typos)):

        def clear(module: ModuleType = module) -> None:
            module._suggest.cache_clear()
            carrier_for_domain.cache_clear()  # asked by is_known, the search's first step

        cpu = cpu_per_domain(module.suggest_domain, clear, bench)
        print(
            f"suggest_domain, check_bench's {len(bench)} new domains, {name}: {cpu:.1f} us CPU each"
        )


if __name__ == "__main__":
    main()
