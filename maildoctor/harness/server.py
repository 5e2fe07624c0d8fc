"""Run the harness (SMTP + HTTP in one event loop) from a CLI, a test, or other code.

Async code uses :class:`Harness`; synchronous code (a CLI, ``maildoctor
diagnose``, the pytest plugin) uses :func:`run_in_thread`, which starts one in
a background thread and returns a :class:`HarnessThread`::

    with run_in_thread(db=tmp / "h.sqlite3") as h:          # free ports
        h.set_profile("taro@docomo.ne.jp", Profile.for_carrier("docomo", refuse_url=True))
        smtplib.SMTP(*h.smtp_address).send_message(msg)
        stored = h.messages()[-1]
        stored.decision_for("taro@docomo.ne.jp").outcome    # Outcome.JUNK, rule refuse_url
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maildoctor.harness.faults import Fault, FaultPlan, parse_faults
from maildoctor.harness.guard import QuietLog, close_listener, install_loop_guard
from maildoctor.harness.health import FailureLog
from maildoctor.harness.policy import Profile
from maildoctor.harness.profiles import ProfileBook
from maildoctor.harness.smtp import (
    AuthVerifier,
    CaptureHandler,
    Guards,
    Limits,
    make_tls_context,
    start_smtp,
)
from maildoctor.harness.store import Store, StoredMessage

__all__ = [
    "AuthConfigError",
    "Harness",
    "HarnessConfig",
    "HarnessThread",
    "is_loopback",
    "run_in_thread",
]

#: Starts the web app for a harness on (host, port) and returns (runner, port). The
#: harness knows no HTTP; ``maildoctor.web.app.start_web`` is passed in from above.
WebStarter = Callable[..., Awaitable[tuple[Any, int]]]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, kw_only=True)
class HarnessConfig:
    """Everything a harness needs to start."""

    db: Path
    """The SQLite file (created if missing)."""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 0
    """0 picks a free port."""
    http_host: str = "127.0.0.1"
    http_port: int | None = 0
    """0 picks a free port; None runs no web UI/API."""
    limits: Limits = field(default_factory=Limits)
    max_messages: int = 1000
    """Stored messages kept; the oldest are pruned beyond this (0 keeps all)."""
    durable: bool = True
    """fsync each group commit (synchronous=FULL); False survives kill -9 but not power loss."""
    tls: bool = False
    """Offer STARTTLS with a self-signed certificate kept next to the database."""
    users: Mapping[str, str] = field(default_factory=dict)
    """AUTH PLAIN/LOGIN accounts. With any, mail without AUTH gets 530, and AUTH needs
    STARTTLS first (``tls``) unless ``auth_allow_insecure``."""
    auth_allow_insecure: bool = False
    """Accept AUTH over plain text (Mailpit's ``--smtp-auth-allow-insecure``)."""
    templates_dir: Path | None = None
    """Templates for the gallery (None: the packaged ones)."""
    auth_nameservers: tuple[str, ...] | None = None
    """DNS to verify each message's DKIM, SPF and DMARC against: None verifies nothing,
    ``()`` asks the system resolver, else these ``IP[:PORT]`` nameservers. The results
    go in an ``Authentication-Results`` header on the stored copy, which the
    spoofing filters read."""
    authserv_id: str = "maildoctor.harness"
    """The harness's name in that header (also its SMTP greeting name)."""
    store_failures: Callable[[str], object] | None = None
    """Where a failed store write is told, one rate-limited line per cause (None:
    stderr). ``diagnose`` reports the failure itself, so it passes a no-op."""
    auth_timeout: float = 3.0
    """Seconds a verification DNS lookup may take; after one goes unanswered the
    message's other lookups give up at once (results: temperror)."""
    auth_canaries: tuple[str, ...] = (".", "gmail.com")
    """Names that DNS must resolve before the verification believes it (the root NS
    and gmail.com MX, as ``check``); while it does not, every result is temperror
    and the spoofing filters do not decide."""
    check_every: float = 600.0
    """Seconds between ``PRAGMA quick_check`` runs while serving (0: none); damage
    found (by it or by a failed read) is told once on stderr, with what to do."""


class AuthConfigError(ValueError):
    """The DNS to verify mail against cannot be used (a bad IP[:PORT], no resolv.conf),
    or accounts were given with no way to log in safely."""


def _check_accounts(cfg: HarnessConfig) -> None:
    # RFC 4954 4: PLAIN and LOGIN send the password in clear, so only over TLS (Mailpit's rule).
    if cfg.users and not cfg.tls and not cfg.auth_allow_insecure:
        raise AuthConfigError(
            "Accounts (--user) need STARTTLS (--starttls), because AUTH PLAIN/LOGIN sends "
            "the password in clear; add --auth-allow-insecure to allow it without TLS."
        )


def _verifier(cfg: HarnessConfig) -> tuple[AuthVerifier, Any] | None:
    """The verifier and its canary gate (``maildoctor.sender.trust.CanaryGate``)."""
    if cfg.auth_nameservers is None:
        return None
    # Imported only when verifying: dkimpy, pyspf and dnspython are not needed otherwise.
    import dns.exception

    from maildoctor.sender.auth import make_resolver
    from maildoctor.sender.trust import CanaryGate, TrustedResolver

    try:
        resolver = make_resolver(cfg.auth_nameservers, timeout=cfg.auth_timeout)
    except (ValueError, dns.exception.DNSException) as e:
        raise AuthConfigError(f"Cannot verify mail with that DNS: {e}") from e
    # A sinkhole's NXDOMAIN for a DKIM key would read as dkim=permerror, and the
    # spoofing filters would refuse signed mail: believe DNS only past the canaries.
    gate = CanaryGate(cfg.auth_nameservers, timeout=cfg.auth_timeout, canaries=cfg.auth_canaries)
    verifier = AuthVerifier(resolver=TrustedResolver(resolver, gate), authserv_id=cfg.authserv_id)
    return verifier, gate


class Harness:
    """The SMTP capture server and its web UI in the running event loop."""

    def __init__(
        self,
        config: HarnessConfig,
        *,
        profiles: ProfileBook | None = None,
        faults: FaultPlan | None = None,
        web: WebStarter | None = None,
    ) -> None:
        self.config = config
        self.web = web
        self.profiles = profiles or ProfileBook()
        self.faults = faults or FaultPlan()
        self.store: Store | None = None
        self._smtp: asyncio.Server | None = None
        self._http: Any = None
        self.smtp_address: tuple[str, int] = (config.smtp_host, config.smtp_port)
        self.http_url: str | None = None
        self._auth_gate: Any = None
        self.log = QuietLog()
        """One line a second per kind of trouble (refused clients, failed logins, accept
        errors), with counts: what the SMTP and web sides tell the operator."""
        self.guards = Guards(config.limits, self.log)
        self._undo_loop_guard: Callable[[], None] | None = None
        self._checker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        cfg = self.config
        # What cannot leak comes first; from the store on, a failure stops what started.
        _check_accounts(cfg)
        verifying = _verifier(cfg)
        verifier, self._auth_gate = verifying if verifying else (None, None)
        tls = make_tls_context(cfg.db.parent) if cfg.tls else None
        self._undo_loop_guard = install_loop_guard(
            asyncio.get_running_loop(), self.log, self.connection_status
        )
        try:
            self.store = Store(
                cfg.db,
                max_messages=cfg.max_messages,
                durable=cfg.durable,
                failure_log=FailureLog(cfg.db, write=cfg.store_failures),
            )
            handler = CaptureHandler(
                store=self.store,
                profiles=self.profiles,
                faults=self.faults,
                limits=cfg.limits,
                verifier=verifier,
                authserv_id=cfg.authserv_id,
            )
            self._smtp = await start_smtp(
                handler,
                host=cfg.smtp_host,
                port=cfg.smtp_port,
                limits=cfg.limits,
                tls_context=tls,
                users=cfg.users,
                auth_allow_insecure=cfg.auth_allow_insecure,
                hostname=cfg.authserv_id,
                guards=self.guards,
            )
            sock = self._smtp.sockets[0].getsockname()
            self.smtp_address = (sock[0], sock[1])
            if cfg.http_port is not None and self.web is not None:
                self._http, port = await self.web(self, host=cfg.http_host, port=cfg.http_port)
                host = f"[{cfg.http_host}]" if ":" in cfg.http_host else cfg.http_host
                scheme = "https" if getattr(self._http, "tls", False) else "http"
                self.http_url = f"{scheme}://{host}:{port}"
            if cfg.check_every > 0:
                self._checker = asyncio.create_task(self._check_store(cfg.check_every))
        except BaseException:
            await self.stop()
            raise

    async def _check_store(self, every: float) -> None:
        """``quick_check`` on a schedule: damage that appears while serving is told."""
        while self.store is not None:
            await asyncio.sleep(every)
            if self.store is not None:
                await asyncio.to_thread(self.store.check)

    def connection_status(self) -> str:
        """What holds the connections now, for the lines that say clients were refused."""
        gate = self.guards.gate
        http = getattr(getattr(self._http, "server", None), "connections", None)
        parts = [f"SMTP sessions {gate.open}"]
        if http is not None:
            parts.append(f"HTTP connections {len(http)}")
        return ", ".join(parts)

    async def auth_canary_failure(self) -> str | None:
        """What the verification DNS's canary check found wrong (None: trusted, or
        not verifying). Checked now if no recent verdict is kept."""
        if self._auth_gate is None:
            return None
        failure: str | None = await asyncio.to_thread(self._auth_gate.failure)
        return failure

    async def stop(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            self._checker = None
        if self._http is not None:
            await self._http.cleanup()
            self._http = None
        if self._smtp is not None:
            await close_listener(self._smtp)
            self.guards.abort_all()
            await asyncio.sleep(0)  # their connection_lost callbacks close the sockets
            await self._smtp.wait_closed()
            self._smtp = None
        if self.store is not None:
            await asyncio.to_thread(self.store.close)
        if self._undo_loop_guard is not None:
            self._undo_loop_guard()
            self._undo_loop_guard = None

    # -- runtime control (thread-safe: plain locked structures) -----------------

    def set_profile(self, pattern: str, profile: Profile) -> None:
        """Give an address, a domain, or ``*`` a profile."""
        self.profiles.set(pattern, profile)

    def clear_profiles(self) -> None:
        self.profiles.clear()

    def set_faults(self, faults: str | Iterable[Fault], *, seed: int | None = None) -> None:
        """Replace the faults, from a ``--faults`` SPEC or Fault objects."""
        self.faults.set(parse_faults(faults) if isinstance(faults, str) else faults, seed=seed)


class HarnessThread:
    """A harness running in a background thread, driven with plain method calls."""

    def __init__(
        self,
        config: HarnessConfig,
        *,
        profiles: ProfileBook | None = None,
        faults: FaultPlan | None = None,
        web: WebStarter | None = None,
    ) -> None:
        self.harness = Harness(config, profiles=profiles, faults=faults, web=web)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    def start(self) -> HarnessThread:
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name="maildoctor-harness", daemon=True
        )
        self._thread.start()
        started.result()
        return self

    def _run(self, started: concurrent.futures.Future[None]) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopped = asyncio.Event()
            try:
                await self.harness.start()
            except BaseException as e:
                started.set_exception(e)
                return
            started.set_result(None)
            await self._stopped.wait()
            await self.harness.stop()

        asyncio.run(main())

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None and self._thread is not None:
            if self._thread.is_alive():
                self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join()
            self._thread = None

    def __enter__(self) -> HarnessThread:
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what callers use ------------------------------------------------------

    @property
    def smtp_address(self) -> tuple[str, int]:
        """(host, port) to give ``smtplib.SMTP``."""
        return self.harness.smtp_address

    @property
    def http_url(self) -> str | None:
        """Base URL of the web UI and JSON API, or None when not running one."""
        return self.harness.http_url

    @property
    def store(self) -> Store:
        assert self.harness.store is not None, "the harness is not started"
        return self.harness.store

    def set_profile(self, pattern: str, profile: Profile) -> None:
        self.harness.set_profile(pattern, profile)

    def clear_profiles(self) -> None:
        self.harness.clear_profiles()

    def set_faults(self, faults: str | Iterable[Fault], *, seed: int | None = None) -> None:
        self.harness.set_faults(faults, seed=seed)

    def messages(self) -> list[StoredMessage]:
        """Every stored message in full, oldest first."""
        return self.store.all()

    def message(self, message_id: int) -> StoredMessage | None:
        return self.store.get(message_id)

    def last(self) -> StoredMessage | None:
        """The newest stored message in full (cheap, unlike ``messages()[-1]``)."""
        return self.store.last()

    def clear(self) -> int:
        """Delete every stored message."""
        return self.store.delete_all()


def run_in_thread(
    db: Path,
    *,
    profiles: ProfileBook | Mapping[str, Profile] | None = None,
    faults: str | Iterable[Fault] | None = None,
    seed: int | None = None,
    web: WebStarter | None = None,
    **config: Any,
) -> HarnessThread:
    """Start a harness in a background thread (free ports unless given) and return it.

    ``config`` takes the :class:`HarnessConfig` fields (``smtp_port``,
    ``http_port=None`` for no web UI, ``tls``, ``limits``, ``auth_nameservers``
    to verify DKIM/SPF/DMARC...). ``web`` starts the web UI (none without it; the
    public :func:`maildoctor.run_in_thread` passes it). Use it as a context manager
    or call ``stop()``.
    """
    book = profiles if isinstance(profiles, ProfileBook) else ProfileBook(profiles)
    plan = FaultPlan(parse_faults(faults) if isinstance(faults, str) else (faults or ()), seed=seed)
    return HarnessThread(
        HarnessConfig(db=Path(db), **config), profiles=book, faults=plan, web=web
    ).start()
