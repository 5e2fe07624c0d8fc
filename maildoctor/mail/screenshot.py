"""Screenshots of a mail's HTML from a real Chromium, through Playwright.

Playwright is the optional extra ``maildoctor[preview]``: without it
:class:`ScreenshotUnavailable` says how to install it. The browser is, in order,
the one named (``--browser PATH`` or ``$MAILDOCTOR_CHROMIUM``), Playwright's own
when it was downloaded, or the system's Chromium. The page runs no script and
loads nothing from the network (a mail client shows no script and, by default,
no remote image), so a screenshot shows only what the mail carries.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BROWSER_ENV",
    "CHROMIUM_ARGS",
    "ImageDiff",
    "ScreenshotUnavailable",
    "Shot",
    "compare_images",
    "find_browser",
    "screenshot",
]

BROWSER_ENV = "MAILDOCTOR_CHROMIUM"
_SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: How maildoctor launches Chromium, here and in the browser tests (tests/conftest.py):
#: without the background-networking flags it keeps dialling out of a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--font-render-hinting=none",  # the same pixels run after run, for the screenshot compare
]


class ScreenshotUnavailable(Exception):
    """Playwright or a browser is missing: a one-line reason with what to install."""


@dataclass(frozen=True, kw_only=True)
class Shot:
    """One screenshot."""

    png: bytes
    width: int
    height: int
    browser: str
    """The browser executable used."""


def _playwright_browser() -> str | None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        path = p.chromium.executable_path
    return path if path and Path(path).exists() else None


def find_browser(explicit: str | None = None) -> str:
    """The Chromium to use: ``explicit``, ``$MAILDOCTOR_CHROMIUM``, Playwright's, the system's."""
    named = explicit or os.environ.get(BROWSER_ENV)
    if named:
        if not (Path(named).is_file() and os.access(named, os.X_OK)):
            where = "--browser" if explicit else f"${BROWSER_ENV}"
            raise ScreenshotUnavailable(f"{where} {named!r} is not an executable file.")
        return named
    own = _playwright_browser()
    if own:
        return own
    for name in _SYSTEM_BROWSERS:
        if found := shutil.which(name):
            return found
    raise ScreenshotUnavailable(
        "No Chromium found: install one (Debian: apt-get install chromium; or "
        "'playwright install chromium'), or name it with --browser PATH or "
        f"${BROWSER_ENV}."
    )


def screenshot(
    html: str, *, width: int = 390, dark: bool = False, browser: str | None = None
) -> Shot:
    """A full-page PNG of ``html`` at ``width`` CSS pixels (device scale 1).

    ``dark`` emulates ``prefers-color-scheme: dark``, as a phone in dark mode asks.
    """
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ScreenshotUnavailable(
            "Screenshots need Playwright: pip install 'maildoctor[preview]'."
        ) from None
    executable = find_browser(browser)
    try:
        with sync_playwright() as p:
            chromium = p.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True
            )
            try:
                context = chromium.new_context(
                    viewport={"width": width, "height": 800},
                    device_scale_factor=1,
                    java_script_enabled=False,
                    color_scheme="dark" if dark else "light",
                    offline=True,
                )
                page = context.new_page()
                page.route("**/*", lambda route: route.abort())
                page.set_content(html, wait_until="load")
                png = page.screenshot(full_page=True, type="png", animations="disabled")
                size = page.evaluate(
                    "() => [document.documentElement.scrollWidth, "
                    "document.documentElement.scrollHeight]"
                )
            finally:
                chromium.close()
    except PlaywrightError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ScreenshotUnavailable(f"Chromium ({executable}) failed: {first}") from e
    return Shot(png=png, width=max(width, int(size[0])), height=int(size[1]), browser=executable)


@dataclass(frozen=True, kw_only=True)
class ImageDiff:
    """How two screenshots differ."""

    ratio: float
    """The share of pixels that differ (on a canvas of the larger size when sizes differ)."""
    sizes: tuple[tuple[int, int], tuple[int, int]]
    """(actual, expected) sizes in pixels."""
    diff_png: bytes | None
    """The expected image dimmed with differing pixels in red (None when identical)."""


def compare_images(actual: bytes, expected: bytes, *, tolerance: int = 16) -> ImageDiff:
    """Compare two PNGs pixel by pixel (Pillow, from the preview extra).

    A pixel differs when a channel differs by more than ``tolerance`` (0-255), so
    anti-aliasing noise is not a change. Images of different sizes are compared on a
    white canvas of the larger size.
    """
    import io

    try:
        from PIL import Image, ImageChops
    except ImportError:
        raise ScreenshotUnavailable(
            "Comparing screenshots needs Pillow: pip install 'maildoctor[preview]'."
        ) from None
    with Image.open(io.BytesIO(actual)) as image:
        a = image.convert("RGB")
    with Image.open(io.BytesIO(expected)) as image:
        e = image.convert("RGB")
    sizes = (a.size, e.size)
    if a.size != e.size:  # compared on one canvas: what moved shows in the diff too
        canvas = (max(a.width, e.width), max(a.height, e.height))
        a, e = (_on_canvas(img, canvas) for img in (a, e))
    delta = ImageChops.difference(a, e).convert("L").point(lambda v: 255 if v > tolerance else 0)
    changed = delta.histogram()[255]
    if not changed:
        return ImageDiff(ratio=0.0, sizes=sizes, diff_png=None)
    base = Image.blend(e, Image.new("RGB", e.size, "white"), 0.7)
    base.paste(Image.new("RGB", e.size, (220, 0, 0)), mask=delta)
    out = io.BytesIO()
    base.save(out, format="PNG")
    ratio = changed / (a.size[0] * a.size[1])
    return ImageDiff(ratio=ratio, sizes=sizes, diff_png=out.getvalue())


def _on_canvas(image: Any, size: tuple[int, int]) -> Any:
    from PIL import Image

    canvas = Image.new("RGB", size, "white")
    canvas.paste(image, (0, 0))
    return canvas
