"""Shared fixtures: a real DNS server on loopback serving tests/data/zones/test.zone, and
Debian's Chromium (through Playwright) for the browser tests, one per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maildoctor.mail.screenshot import CHROMIUM_ARGS  # one list: the package's launch flags
from tests.dnsserver import ZONES_DIR, DNSTestServer


@pytest.fixture(autouse=True, scope="session")
def _private_data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """maildoctor's default stores (harness, desk history, delivery records) live in
    platformdirs' user data folder: point it at the run's own, so that no test reads a
    developer's real records (``sender`` takes sending IPs from them) or writes there."""
    import os

    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    yield
    if before is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = before


@pytest.fixture
def dns_server() -> Iterator[DNSTestServer]:
    """A started authoritative DNS server loaded with test.zone (see tests/dnsserver.py)."""
    with DNSTestServer.from_files(ZONES_DIR / "test.zone") as server:
        yield server


@pytest.fixture
def nameserver(dns_server: DNSTestServer) -> str:
    """The fixture server as ``"127.0.0.1:PORT"`` (what ``--nameserver`` takes)."""
    return dns_server.nameserver


#: Debian's Chromium; Playwright never downloads a browser here (.ci/run installs it).
CHROMIUM = Path("/usr/bin/chromium")
#: Screenshots the browser tests save (git-ignored): look at them before calling a page done.
SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for one test module, always closed."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does).")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def postfix_relay(tmp_path: Path) -> Iterator[Any]:
    """Start private Postfix instances relaying to (host, port): ``start(relay, **main_cf)``.

    Each instance lives under ``tmp_path`` and is stopped when the test ends.
    """
    from tests.postfixproc import PostfixInstance, available

    if not available():
        pytest.fail("A private Postfix needs Debian's postfix and root (.ci/run installs it).")
    started: list[PostfixInstance] = []

    def start(relay: tuple[str, int], **settings: str) -> PostfixInstance:
        mta = PostfixInstance(tmp_path / f"postfix{len(started)}", relay=relay, settings=settings)
        started.append(mta.start())
        return mta

    try:
        yield start
    finally:
        for mta in started:
            mta.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that drives Chromium (the ``browser`` fixture or marker) takes seconds: it
    is ``slow`` too, so that ``pytest -m "not slow"`` is the quick loop; CI runs all."""
    for item in items:
        uses_chromium = "browser" in getattr(item, "fixturenames", ())
        if uses_chromium or item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True, scope="module")
def _nothing_left_running() -> Iterator[None]:
    """A module's harnesses, servers and child processes end with it (tests/looseends.py):
    one left running is a flake source for the next module on the worker."""
    from tests import looseends

    before = looseends.snapshot()
    yield
    left = looseends.left_running(before)
    if left:
        pytest.fail("Left running after this module: " + "; ".join(left), pytrace=False)


def text_lines(page: Any, selector: str) -> list[int]:
    """How many lines each matched element's text takes (distinct tops of its text)."""
    return list(
        page.eval_on_selector_all(
            selector,
            """els => els.map((e) => {
              const r = document.createRange();
              r.selectNodeContents(e);
              return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size;
            })""",
        )
    )
