"""``maildoctor serve`` as a child process, for tests that need its own memory or exit code.

The server prints ``SMTP  HOST:PORT`` on stderr once it listens (port 0 picks a
free one); :class:`ServeProcess` waits for that line, and always stops the
child (SIGTERM, then SIGKILL) when the ``with`` block ends.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

__all__ = ["ServeProcess", "rss_kib"]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """A process's resident memory in KiB from /proc (VmRSS now, VmHWM its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(f"{field} not in /proc/{pid}/status")


class ServeProcess:
    """A started ``maildoctor serve --smtp 127.0.0.1:0 --no-http`` with extra options
    (``http=True``: ``--http 127.0.0.1:0`` instead, its URL in :attr:`http_url`)."""

    def __init__(
        self, *args: str, timeout: float = 20.0, nofile: int | None = None, http: bool = False
    ) -> None:
        self.args = [sys.executable, "-m", "maildoctor", "serve", "--smtp", "127.0.0.1:0"]
        self.args += ["--http", "127.0.0.1:0"] if http else ["--no-http"]
        self.args += args
        self.http = http
        self.http_url = ""
        """With ``http=True``: the web app's base URL (``http://127.0.0.1:PORT``)."""
        self.timeout = timeout
        self.nofile = nofile
        """RLIMIT_NOFILE of the child (None: inherited), as ``prlimit --nofile`` sets it."""
        self.proc: subprocess.Popen[bytes] | None = None
        self.smtp_address: tuple[str, int] = ("127.0.0.1", 0)
        self.banner: list[str] = []
        """The stderr lines printed before the server listened."""

    def start(self) -> ServeProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        nofile = self.nofile

        def limit() -> None:
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(
            self.args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            preexec_fn=limit if nofile is not None else None,
        )
        assert self.proc.stderr is not None
        deadline = time.monotonic() + self.timeout
        buffer = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stderr], [], [], 0.2)
            if ready:
                chunk = os.read(self.proc.stderr.fileno(), 4096)
                if not chunk:
                    break
                buffer += chunk
                lines = buffer.decode(errors="replace").splitlines()
                for line in lines:
                    if line.startswith("SMTP "):
                        host, _, port = line.split()[1].rpartition(":")
                        self.smtp_address = (host, int(port))
                    elif line.startswith("Web "):
                        self.http_url = line.split()[1].rstrip("/")
                if self.smtp_address[1] and (self.http_url or not self.http):
                    self.banner = lines
                    return self
            elif self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"maildoctor serve did not start: {buffer.decode(errors='replace')}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stderr_now(self, wait: float = 0.5) -> str:
        """What the server has written to stderr since start (waits up to ``wait``)."""
        assert self.proc is not None and self.proc.stderr is not None
        out = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stderr], [], [], 0.05)
            if ready:
                chunk = os.read(self.proc.stderr.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
        return out.decode(errors="replace")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
