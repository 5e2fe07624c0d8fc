"""pytest plugin: a real SMTP capture harness per test, for a service's CI.

Installed with maildoctor (entry point ``pytest11``), it gives tests the
``maildoctor_harness`` fixture: a harness on free loopback ports with its own
SQLite file, stopped after the test::

    def test_signup_mail(maildoctor_harness):
        maildoctor_harness.set_profile("taro@docomo.ne.jp", refuse_url=True)
        host, port = maildoctor_harness.smtp_address          # a (host, port) tuple
        with smtplib.SMTP(host, port) as smtp:
            smtp.send_message(render_message("provisional_registration", to="taro@docomo.ne.jp"))
        [sent] = maildoctor_harness.wait_for(1)
        assert sent.message["Subject"] == "[Lentrance]仮登録完了のお知らせ"
        assert sent.decision_for("taro@docomo.ne.jp").outcome == "junk"

A fault set with ``set_faults`` is what a real server does, so the code under
test meets it: with ``greylist`` the first RCPT of each recipient gets 450, and a
sender that does not try again raises ``smtplib.SMTPRecipientsRefused``. The
README's CI section has a complete project that uses the fixture.

Importing this module costs only pytest itself: the harness is imported when a
test asks for the fixture. ``--maildoctor-web`` also starts the web UI (its URL
is printed) for looking at a failing test's mail in a browser.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from maildoctor.harness.policy import Profile
    from maildoctor.harness.server import HarnessThread
    from maildoctor.harness.store import StoredMessage

__all__ = [
    "HarnessFixture",
    "ScreenshotCompare",
    "maildoctor_auth_dns",
    "maildoctor_harness",
    "maildoctor_screenshot",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("maildoctor", "maildoctor SMTP harness")
    group.addoption(
        "--maildoctor-web",
        action="store_true",
        default=False,
        help="Also start the harness web UI in maildoctor_harness (its URL is printed).",
    )
    group.addoption(
        "--maildoctor-update-screenshots",
        action="store_true",
        default=False,
        help="maildoctor_screenshot stores the screenshots taken as the new baselines.",
    )


class HarnessFixture:
    """What a test gets: the SMTP address, the stored mail, and knobs for profiles and faults."""

    def __init__(self, running: HarnessThread) -> None:
        self._running = running

    @property
    def host(self) -> str:
        return self._running.smtp_address[0]

    @property
    def port(self) -> int:
        return self._running.smtp_address[1]

    @property
    def smtp_address(self) -> tuple[str, int]:
        """(host, port) of the SMTP server: ``smtplib.SMTP(*h.smtp_address)``."""
        return self._running.smtp_address

    @property
    def http_url(self) -> str | None:
        """The web UI/API base URL with ``--maildoctor-web``, else None."""
        return self._running.http_url

    @property
    def db_path(self) -> Path:
        return self._running.store.path

    def smtp(self, timeout: float = 10.0) -> smtplib.SMTP:
        """A connected ``smtplib.SMTP`` client (use it as a context manager)."""
        return smtplib.SMTP(self.host, self.port, timeout=timeout)

    def messages(self) -> list[StoredMessage]:
        """Every message the harness stored, oldest first, in full.

        Each has ``mail_from``, ``rcpt_tos``, ``raw`` (bytes), ``message`` (an
        ``EmailMessage``), ``deliveries`` (recipient, outcome, rule, SMTP reply),
        and ``transcript``.
        """
        return self._running.messages()

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[StoredMessage]:
        """Wait until at least ``count`` messages are stored (for senders in the background)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages()
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} message(s) at {self.host}:{self.port} within "
                    f"{timeout} s, got {len(found)}"
                )
            time.sleep(0.02)

    def set_profile(self, pattern: str, profile: Profile | None = None, **settings: Any) -> None:
        """Give an address, a domain or ``*`` a profile.

        Either a :class:`~maildoctor.harness.policy.Profile`, or settings for the
        carrier of that domain (``refuse_url=True``, ``receive_list=["lentrance.com"]``,
        ``carrier="au"``...), as in a profiles file.
        """
        if profile is None:
            from maildoctor.harness.profiles import parse_profile

            profile = parse_profile(pattern, settings)
        self._running.set_profile(pattern, profile)

    def clear_profiles(self) -> None:
        self._running.clear_profiles()

    def set_faults(self, spec: str, *, seed: int | None = 0) -> None:
        """Inject faults from a ``--faults`` SPEC (``""`` removes them), seeded."""
        self._running.set_faults(spec, seed=seed)

    def clear(self) -> int:
        """Delete every stored message."""
        return self._running.clear()


@pytest.fixture
def maildoctor_auth_dns() -> tuple[str, ...] | None:
    """The DNS ``maildoctor_harness`` verifies DKIM/SPF/DMARC against: None (the
    default) verifies nothing. Override it to verify::

        @pytest.fixture
        def maildoctor_auth_dns(my_dns_server):
            return (my_dns_server.nameserver,)   # "IP:PORT"; () asks the system resolver

    Each stored message then starts with ``Authentication-Results: maildoctor.harness;
    dkim=... spf=... dmarc=...``, which the spoofing-filter profiles decide with.
    The server must also answer the canaries (the root's NS and gmail.com's MX): a
    resolver that does not is not believed, and every result is then ``temperror``.
    """
    return None


@pytest.fixture
def maildoctor_harness(
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    maildoctor_auth_dns: tuple[str, ...] | None,
) -> Iterator[HarnessFixture]:
    """A started SMTP capture harness on free loopback ports, stopped after the test."""
    from maildoctor.web.app import run_in_thread

    web = bool(request.config.getoption("--maildoctor-web", default=False))
    db = tmp_path_factory.mktemp("maildoctor-harness") / "harness.sqlite3"
    auth_dns = None if maildoctor_auth_dns is None else tuple(maildoctor_auth_dns)
    running = run_in_thread(
        db,
        http_port=0 if web else None,
        durable=False,
        max_messages=0,
        auth_nameservers=auth_dns,
    )
    try:
        if running.http_url:
            print(f"maildoctor harness web UI: {running.http_url}/")
        yield HarnessFixture(running)
    finally:
        running.stop()


class ScreenshotCompare:
    """``maildoctor_screenshot(template, width=390)``: a template's screenshot against the
    stored one; over ``threshold`` of the pixels differing fails the test, with the new
    screenshot (``NAME.actual.png``) and a diff image (``NAME.diff.png``, changes in red)
    written beside the stored one for CI to attach."""

    def __init__(self, folder: Path, update: bool) -> None:
        self.folder = folder
        self.update = update

    def __call__(
        self,
        template: str,
        *,
        variant: str | None = None,
        width: int = 390,
        dark: bool = False,
        threshold: float = 0.001,
        context: dict[str, Any] | None = None,
        templates_dir: Path | None = None,
        baseline: Path | None = None,
    ) -> Path:
        """Take the screenshot and compare it; returns the stored screenshot's path."""
        from maildoctor.mail.render import render_parts
        from maildoctor.mail.screenshot import compare_images, screenshot

        html = render_parts(
            template,
            to="taro.yamada@docomo.ne.jp",
            context=context,
            variant=variant,
            templates_dir=templates_dir,
        ).html
        shot = screenshot(html, width=width, dark=dark)
        name = "-".join([template, *([variant] if variant else []), str(width)])
        stored = baseline or self.folder / f"{name}{'-dark' if dark else ''}.png"
        actual = stored.with_suffix(".actual.png")
        diff = stored.with_suffix(".diff.png")
        if self.update:
            stored.parent.mkdir(parents=True, exist_ok=True)
            stored.write_bytes(shot.png)
            return stored
        if not stored.exists():
            actual.parent.mkdir(parents=True, exist_ok=True)
            actual.write_bytes(shot.png)
            pytest.fail(
                f"No stored screenshot {stored}; the one taken is {actual}. Look at it, then "
                "store it with --maildoctor-update-screenshots.",
                pytrace=False,
            )
        result = compare_images(shot.png, stored.read_bytes())
        if result.ratio > threshold:
            actual.write_bytes(shot.png)
            assert result.diff_png is not None
            diff.write_bytes(result.diff_png)
            what = f"{result.ratio:.2%} of the pixels differ (threshold {threshold:.2%})"
            if result.sizes[0] != result.sizes[1]:
                what += f", the size changed from {result.sizes[1]} to {result.sizes[0]} px"
            pytest.fail(
                f"The screenshot of {name} changed: {what}. New: {actual}; diff: {diff}. "
                "If intended, store it with --maildoctor-update-screenshots.",
                pytrace=False,
            )
        actual.unlink(missing_ok=True)
        diff.unlink(missing_ok=True)
        return stored


@pytest.fixture
def maildoctor_screenshot(request: pytest.FixtureRequest) -> ScreenshotCompare:
    """Compare a template's screenshot from Chromium with a stored one (needs the
    ``maildoctor[preview]`` extra). Stored ones live in ``__screenshots__/`` beside the test
    file (``baseline=PATH`` to choose); ``--maildoctor-update-screenshots`` stores anew::

        def test_phone_layout(maildoctor_screenshot):
            maildoctor_screenshot("provisional_registration", width=390)
    """
    folder = Path(str(request.node.path)).parent / "__screenshots__"
    update = bool(request.config.getoption("--maildoctor-update-screenshots", default=False))
    return ScreenshotCompare(folder, update)
