"""A private SpamAssassin spamd on 127.0.0.1 for the tests (Debian's /usr/sbin/spamd).

Local tests only (-L: no DNS blocklists, no network), no user preferences (-x), its
own home and pid file in a temporary folder, one child, a free port. A missing spamd
is a failure, never a skip: .ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.ports import free_port

SPAMD = shutil.which("spamd") or ("/usr/sbin/spamd" if Path("/usr/sbin/spamd").exists() else None)


@contextmanager
def private_spamd(home: Path, timeout: float = 60.0) -> Iterator[tuple[str, int]]:
    """Start spamd on a free loopback port; yields (host, port); stops it after."""
    if SPAMD is None:
        # As Chromium and Postfix: a missing peer fails, whether or not $CI is set.
        pytest.fail("spamd is not installed; .ci/run installs spamassassin/spamd")
    port = free_port()
    log = home / "spamd.log"
    args = [
        SPAMD, "-L", "-x", f"--listen=127.0.0.1:{port}", f"--pidfile={home / 'spamd.pid'}",
        "-H", str(home), "--max-children=1", "--min-children=1", "--syslog=stderr",
    ]  # fmt: skip
    if os.getuid() == 0:
        args += ["-u", "nobody"]  # spamd will not run its children as root
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while b"server successfully spawned child" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"spamd did not start: {log.read_text('utf-8', 'replace')[-800:]}"
                )
            time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
