"""Render and build N notification messages; compare with a plain Jinja2 baseline.

    python bench/render_bench.py [--count 10000] [--rounds 10]

maildoctor: ``render_message(...)`` then ``as_bytes()`` per message (template
lookup, StrictUndefined rendering, CSS inlining with css-inline, header
sanitising, MIME building). Baseline: the same templates compiled once with a
plain ``jinja2.Environment`` and the same message (headers, parts, base64)
built the usual stdlib way (``msg[...] = ...``, ``set_content``), without CSS
inlining or checks. Target: maildoctor at least 80% of the baseline's rate.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import jinja2

from maildoctor.mail.render import FROM_ADDRESS, JST, catalog, render_message
from maildoctor.mail.templating import templates_dir

TEMPLATES = templates_dir()
CASES = [(n, v.name, dict(v.sample)) for n, info in catalog().items() for v in info.variants]


def run_maildoctor(count: int) -> float:
    start = time.perf_counter()
    for i in range(count):
        name, variant, _ = CASES[i % len(CASES)]
        render_message(name, to=f"user{i}@docomo.ne.jp", variant=variant).as_bytes()
    return time.perf_counter() - start


def run_baseline(count: int) -> float:
    import tomllib

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    site = tomllib.loads((Path(TEMPLATES) / "_site.toml").read_text("utf-8"))
    compiled = {
        (name, variant): (
            env.from_string(catalog()[name].subject),
            env.get_template(f"{name}/body.txt.j2"),
            env.get_template(f"{name}/body.html.j2"),
            sample,
        )
        for name, variant, sample in CASES
    }
    start = time.perf_counter()
    for i in range(count):
        name, variant, _ = CASES[i % len(CASES)]
        subject_t, text_t, html_t, sample = compiled[(name, variant)]
        to = f"user{i}@docomo.ne.jp"
        context = {**sample, "to": to, "variant": variant, "site": site, "charset": "utf-8"}
        subject = subject_t.render(context)
        context["subject"] = subject
        msg = EmailMessage()
        msg["From"] = FROM_ADDRESS
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = format_datetime(datetime.now(JST))
        msg["Message-ID"] = make_msgid(domain="lentrance.com")
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(text_t.render(context), cte="base64")
        msg.add_alternative(html_t.render(context), subtype="html", cte="base64")
        msg.as_bytes()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    run_maildoctor(50)  # warm the caches and Jinja2's compiled templates
    run_baseline(50)
    # Alternate rounds of both, so that load from other processes hits both alike.
    chunk = args.count // args.rounds
    ours_s = base_s = 0.0
    for _ in range(args.rounds):
        ours_s += run_maildoctor(chunk)
        base_s += run_baseline(chunk)
    ours = chunk * args.rounds / ours_s
    base = chunk * args.rounds / base_s
    print(f"messages: {args.count} ({len(CASES)} template variants in turn)")
    print(f"maildoctor render_message + as_bytes: {ours:8.0f} messages/s")
    print(f"plain Jinja2 baseline (compiled once): {base:8.0f} messages/s")
    ratio = ours / base
    verdict = "met" if ratio >= 0.8 else "MISSED"
    print(f"ratio: {ratio:.0%} of the baseline (target >= 80%: {verdict})")


if __name__ == "__main__":
    main()
