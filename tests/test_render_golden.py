"""Golden files: the rendered text and HTML of every shipped template and variant.

A change to a template, the layout or the renderer shows up here as a diff to
review. After an intended change, regenerate the files and commit them:

    MAILDOCTOR_UPDATE_GOLDEN=1 python -m pytest tests/test_render_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from maildoctor.mail.render import catalog, render_parts

REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("MAILDOCTOR_UPDATE_GOLDEN") == "1"
#: The recipient the golden files are rendered for.
RECIPIENT = "taro.yamada@docomo.ne.jp"

CASES = [
    (name, variant.name)
    for name, info in catalog(REPO_TEMPLATES).items()
    for variant in info.variants
]


def golden_files(name: str, variant: str) -> dict[str, Path]:
    stem = f"{name}.{variant}"
    return {"text": GOLDEN / f"{stem}.txt", "html": GOLDEN / f"{stem}.html"}


@pytest.mark.parametrize(("name", "variant"), CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_rendered_output_matches_golden(name: str, variant: str) -> None:
    rendered = render_parts(name, to=RECIPIENT, variant=variant, templates_dir=REPO_TEMPLATES)
    outputs = {"text": rendered.text, "html": rendered.html}
    for kind, path in golden_files(name, variant).items():
        if UPDATE:
            path.write_text(outputs[kind], encoding="utf-8", newline="\n")
        assert path.is_file(), f"{path.name} is missing; regenerate the golden files ({__doc__})"
        assert outputs[kind] == path.read_text("utf-8"), (
            f"{name}/{variant} {kind} changed; review the diff and regenerate the golden files"
        )


def test_no_stale_golden_files() -> None:
    expected = {p.name for n, v in CASES for p in golden_files(n, v).values()}
    present = {p.name for p in GOLDEN.iterdir() if p.suffix in (".txt", ".html")}
    if UPDATE:
        for stale in present - expected:
            (GOLDEN / stale).unlink()
        present &= expected
    assert present == expected
