"""``render --format png`` from Debian's Chromium, and the pytest screenshot compare."""

from __future__ import annotations

import io
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from maildoctor.cli import main
from maildoctor.mail.screenshot import BROWSER_ENV, compare_images
from maildoctor.mail.templating import ENV_VAR

pytestmark = pytest.mark.browser
pytest_plugins = ["pytester"]

REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
BRAND = (29, 78, 137)  # .brand's background-color, #1d4e89


@pytest.fixture(autouse=True)
def _shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv(BROWSER_ENV, raising=False)


@pytest.fixture
def dark_templates(tmp_path: Path) -> Path:
    """The shipped templates with a dark-mode rule for the brand bar."""
    folder = Path(shutil.copytree(REPO_TEMPLATES, tmp_path / "templates"))
    layout = folder / "_layout.html.j2"
    layout.write_text(
        layout.read_text("utf-8").replace(
            "</style>",
            "@media (prefers-color-scheme: dark) { .brand { background-color: #000000 "
            "!important; } }\n</style>",
        ),
        "utf-8",
    )
    return folder


def png(runner: CliRunner, out: Path, *args: str) -> Image.Image:
    result = runner.invoke(main, ["render", *args, "--format", "png", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Screenshot " in result.stderr and "/chromium" in result.stderr
    with Image.open(out) as image:
        return image.convert("RGB")


@pytest.mark.parametrize("width", [390, pytest.param(768, marks=pytest.mark.slow)])
def test_render_png_at_a_width(tmp_path: Path, width: int) -> None:
    image = png(CliRunner(), tmp_path / "a.png", "password_reset", "--width", str(width))
    assert image.width == width and image.height > 600
    assert image.getpixel((width // 2, 20)) == BRAND
    # On a phone the brand bar spans the width; wider, the 600 px container is centred.
    assert image.getpixel((10, 20)) == (BRAND if width < 600 else (243, 244, 246))


@pytest.mark.slow  # three Chromium launches
def test_render_png_dark_uses_the_mails_dark_rules(tmp_path: Path, dark_templates: Path) -> None:
    runner = CliRunner()
    args = ["password_reset", "--templates", str(dark_templates)]
    light = png(runner, tmp_path / "light.png", *args)
    dark = png(runner, tmp_path / "dark.png", *args, "--dark")
    assert light.getpixel((10, 20)) == BRAND
    assert dark.getpixel((10, 20)) == (0, 0, 0)
    shipped_dark = png(runner, tmp_path / "shipped.png", "password_reset", "--dark")
    assert shipped_dark.getpixel((10, 20)) == BRAND  # no dark rules: stays as it is


def test_without_playwright_the_message_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)
    result = CliRunner().invoke(
        main, ["render", "password_reset", "--format", "png", "--out", str(tmp_path / "a.png")]
    )
    assert result.exit_code == 4
    assert "Screenshots need Playwright: pip install 'maildoctor[preview]'." in result.output
    assert not (tmp_path / "a.png").exists()


@pytest.mark.parametrize(("how", "code"), [("option", 2), ("env", 4)])
def test_a_browser_that_is_not_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, code: int
) -> None:
    args = ["render", "password_reset", "--format", "png", "--out", str(tmp_path / "a.png")]
    if how == "option":
        args += ["--browser", "/nonexistent/chromium"]
    else:
        monkeypatch.setenv(BROWSER_ENV, "/nonexistent/chromium")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code
    assert "'/nonexistent/chromium' is not an executable file" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_the_named_browser_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    link = tmp_path / "my-chromium"
    link.symlink_to("/usr/bin/chromium")
    monkeypatch.setenv(BROWSER_ENV, str(link))
    result = CliRunner().invoke(
        main, ["render", "password_reset", "--format", "png", "--out", str(tmp_path / "a.png")]
    )
    assert result.exit_code == 0 and f"from {link}." in result.stderr


def _png(size: tuple[int, int], paint: list[tuple[int, int]] = ()) -> bytes:  # type: ignore[assignment]
    image = Image.new("RGB", size, "white")
    for xy in paint:
        image.putpixel(xy, (0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_compare_images() -> None:
    base = _png((10, 10))
    assert compare_images(base, base).ratio == 0.0
    changed = compare_images(_png((10, 10), [(1, 1), (2, 2)]), base)
    assert changed.ratio == pytest.approx(0.02)
    assert changed.diff_png is not None
    with Image.open(io.BytesIO(changed.diff_png)) as image:
        diff = image.convert("RGB")
    assert diff.getpixel((1, 1)) == (220, 0, 0) and diff.getpixel((5, 5)) != (220, 0, 0)
    taller = _png((10, 12), [(0, 11)])  # one more row, one black pixel in it
    resized = compare_images(taller, base)
    assert resized.sizes == ((10, 12), (10, 10))
    assert resized.ratio == pytest.approx(1 / 120) and resized.diff_png is not None


@pytest.mark.slow
def test_screenshot_compare_in_a_fresh_pytest_run(pytester: pytest.Pytester) -> None:
    """Store, pass, then a CSS change that breaks the phone layout fails with a diff image."""
    folder = Path(shutil.copytree(REPO_TEMPLATES, pytester.path / "templates"))
    pytester.makepyfile(
        test_mail=textwrap.dedent(
            f"""
            from pathlib import Path

            def test_phone_layout(maildoctor_screenshot):
                maildoctor_screenshot("password_reset", width=390,
                                      templates_dir=Path({str(folder)!r}))
            """
        )
    )
    first = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    first.assert_outcomes(failed=1)
    first.stdout.fnmatch_lines(["*No stored screenshot*--maildoctor-update-screenshots*"])
    stored = pytester.path / "__screenshots__" / "password_reset-390.png"
    assert stored.with_suffix(".actual.png").exists() and not stored.exists()
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--maildoctor-update-screenshots")
    assert stored.exists()
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    layout = folder / "_layout.html.j2"
    layout.write_text(
        layout.read_text("utf-8").replace(
            ".content { padding: 24px; }", ".content { padding: 4px; }"
        )
    )
    broken = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    broken.assert_outcomes(failed=1)
    broken.stdout.fnmatch_lines(
        ["*The screenshot of password_reset-390 changed: *% of the pixels differ*, the size "
         "changed from (390, *) to (390, *) px*"]
    )  # fmt: skip
    with Image.open(stored.with_suffix(".diff.png")) as image:
        diff = image.convert("RGB")
    assert diff.width == 390
    assert any(c == (220, 0, 0) for _, c in diff.getcolors(maxcolors=1 << 16) or [])  # red: moved
