"""A private Postfix instance on loopback, for tests that need what a real MTA writes.

Debian's ``postfix`` runs as its own instance: its ``config_directory``,
``queue_directory`` and ``data_directory`` in a fresh folder of its own, its
SMTP server on ``127.0.0.1`` at a free high port, and every message relayed to
one next hop (``relayhost = [127.0.0.1]:PORT``, typically the maildoctor
harness). Its log goes to a plain file (``maillog_file``), so a test reads what
Postfix itself wrote. The queue lifetimes are short, so a deferred message
turns into ``status=expired, returned to sender`` within seconds.

Usage::

    with PostfixInstance(tmp_path / "postfix", relay=("127.0.0.1", harness_port)) as mta:
        smtplib.SMTP(*mta.smtp_address).sendmail(...)
        mta.wait_for(lambda log: "status=sent" in log)
        text = mta.log_path.read_text()

The instance needs root (Postfix's master drops to ``mail_owner``); tests that
start one check :func:`available` first.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from tests.ports import free_port

__all__ = ["POSTFIX", "PostfixInstance", "available"]

POSTFIX = "/usr/sbin/postfix"
DAEMONS = "/usr/lib/postfix/sbin"

# Every service a relay-only instance uses; no chroot (the queue lives in a temp folder).
_MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def available() -> bool:
    """Whether a private instance can run here: Postfix installed and we are root."""
    return Path(POSTFIX).exists() and Path(DAEMONS, "master").exists() and os.geteuid() == 0


class PostfixInstance:
    """One started Postfix: ``smtp_address`` to submit to, ``log_path`` to read.

    ``settings`` override or add ``main.cf`` parameters (``maximal_queue_lifetime``...).
    """

    def __init__(
        self,
        base: Path,
        *,
        relay: tuple[str, int],
        settings: dict[str, str] | None = None,
        hostname: str = "mta.lentrance.test",
        timeout: float = 30.0,
    ) -> None:
        self.base = base
        # pytest keeps its temp root private (0700) and resets it when another run starts,
        # so the daemons (running as mail_owner) get their own folder in /tmp instead;
        # stop() copies the log into ``base`` and removes it.
        self.runtime = Path(tempfile.mkdtemp(prefix="maildoctor-postfix-"))
        self.runtime.chmod(0o755)
        self.config_dir = self.runtime / "etc"
        self.queue_dir = self.runtime / "spool"
        self.data_dir = self.runtime / "data"
        self.log_path = self.runtime / "log" / "postfix.log"
        self.relay = relay
        self.port = free_port()
        self.hostname = hostname
        self.timeout = timeout
        self.settings = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "command_directory": "/usr/sbin",
            "daemon_directory": DAEMONS,
            "meta_directory": "/etc/postfix",
            "shlib_directory": "/usr/lib/postfix",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": hostname,
            "mydomain": "lentrance.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "relayhost": f"[{relay[0]}]:{relay[1]}",
            "smtp_dns_support_level": "disabled",
            "smtp_tls_security_level": "none",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "biff": "no",
            "append_dot_mydomain": "no",
            "maillog_file": str(self.log_path),
            "maillog_file_prefixes": str(self.runtime),
            "syslog_name": "postfix",
            # Short lives: a deferred message expires after its first retry.
            "maximal_queue_lifetime": "2s",
            "bounce_queue_lifetime": "2s",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "1s",
            "smtp_connect_timeout": "5s",
            **(settings or {}),
        }
        self.started = False

    @property
    def smtp_address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def _postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "MAIL_CONFIG": str(self.config_dir)}
        return subprocess.run(
            [POSTFIX, "-c", str(self.config_dir), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=self.timeout,
            check=False,
        )

    def start(self) -> PostfixInstance:
        self.base.mkdir(parents=True, exist_ok=True)
        for d in (self.config_dir, self.queue_dir, self.data_dir, self.log_path.parent):
            d.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.data_dir, user="postfix")  # master.lock is written as mail_owner
        main_cf = "".join(f"{k} = {v}\n" for k, v in self.settings.items())
        (self.config_dir / "main.cf").write_text(main_cf)
        listen = f"127.0.0.1:{self.port}"
        (self.config_dir / "master.cf").write_text(_MASTER_CF.format(listen=listen))
        self.log_path.touch()
        done = self._postfix("start")
        if done.returncode != 0:
            raise RuntimeError(f"postfix did not start: {done.stdout}{done.stderr}{self.log()}")
        self.started = True
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(self.smtp_address) == 0:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"postfix did not listen on {listen}: {self.log()}")

    def log(self) -> str:
        """Everything Postfix has logged so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def flush(self) -> None:
        """Ask Postfix to retry the deferred queue now (``postfix flush``)."""
        self._postfix("flush")

    def wait_for(self, done: Callable[[str], bool], timeout: float | None = None) -> str:
        """Poll the log until ``done(log)`` holds; the log, or TimeoutError with it."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            text = self.log()
            if done(text):
                return text
            time.sleep(0.2)
        raise TimeoutError(f"Postfix's log never reached the expected state:\n{self.log()}")

    def queue_empty(self) -> bool:
        """Whether no message is left in the queue (``postqueue -p`` says so)."""
        done = subprocess.run(
            ["/usr/sbin/postqueue", "-c", str(self.config_dir), "-j"],
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        return done.returncode == 0 and not done.stdout.strip()

    def stop(self) -> None:
        """Stop Postfix; its log moves to ``base/postfix.log`` (``log_path`` follows)."""
        if self.started:
            done = self._postfix("stop")
            if done.returncode != 0:
                self._postfix("abort")
            self.started = False
        pid_file = self.queue_dir / "pid" / "master.pid"
        if pid_file.exists():
            try:
                pid = int(pid_file.read_text().split()[0])
                os.kill(pid, 9)
            except (ValueError, IndexError, ProcessLookupError):
                pass
        if self.runtime.exists():
            kept = self.base / "postfix.log"
            if self.log_path.exists():
                shutil.copyfile(self.log_path, kept)
                self.log_path = kept
            shutil.rmtree(self.runtime, ignore_errors=True)

    def __enter__(self) -> PostfixInstance:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
