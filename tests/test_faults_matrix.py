"""The degraded-conditions matrix: each command under each fault that applies to it.

Real parts only: loopback DNS servers that answer NXDOMAIN for every name, never
answer, or answer SERVFAIL (tests/dnsserver.py); SQLite files that cannot be
opened (a path under /proc, a text file, a directory), cannot be written (a
read-only file; an 88 KiB tmpfs for a real SQLITE_FULL) or have
damaged pages. Each cell asserts the exit code, one line on stderr, no
traceback, and no claim the fault cannot support: a fault is reported as a
fault, never as a finding about the customer's address or a carrier's decision
(issue 10). ``tests/test_faults_dns_matrix.py`` covers ``sender`` and the
harness's own DKIM/SPF/DMARC lookups.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from maildoctor.cli import main
from maildoctor.harness.records import NewMessage
from maildoctor.harness.store import Store
from tests.dnsserver import DNSTestServer

#: Every name a matrix command asks about falls under one of these (the canaries
#: '.' and gmail.com, the addresses' domains).
ALL_NAMES = (".", "com.", "jp.", "net.", "test.")

#: What a fault can never support: a finding about the address, a carrier's decision.
CLAIMS = (
    "missing",
    "does not exist",
    "存在しません",
    "domain_not_found",
    "no_mail_server",
    "mx_unresolvable",
    "null_mx",
    "rejected by the carrier",
    "User unknown",
    "届かない(拒否)",
)
#: A store failure is no carrier decision either: no trial row of any kind.
DECISIONS = ("届く(受信箱)", "迷惑メールフォルダ", "届かない", "delivered", "junk", "filtered")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_honest(result: Result, code: int, *, stderr_lines: int = 1) -> None:
    """Exit code, stderr lines, no traceback, no claim beyond what the fault supports."""
    said = result.stdout + result.stderr
    assert result.exit_code == code, said
    assert result.exception is None or isinstance(result.exception, SystemExit), said
    assert "Traceback" not in said
    assert len(result.stderr.strip().splitlines()) == stderr_lines, result.stderr
    for claim in CLAIMS:
        assert claim not in said, f"{claim!r} in: {said}"


# -- DNS faults: check and diagnose -------------------------------------------------


@pytest.fixture(params=["nxdomain", "silent", "servfail"])
def broken_dns(request: pytest.FixtureRequest) -> Iterator[str]:
    """A loopback resolver that cannot be trusted, in one of three ways."""
    kind = request.param
    options = {
        "nxdomain": {},  # no zones: NXDOMAIN for everything, the canaries too
        "silent": {"timeout_names": ALL_NAMES},
        "servfail": {"servfail_names": ALL_NAMES},
    }[kind]
    with DNSTestServer(**options) as server:  # type: ignore[arg-type]
        yield server.nameserver


def dns_args(nameserver: str) -> list[str]:
    return ["--nameserver", nameserver, "--dns-timeout", "0.3"]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_check_says_unknown(broken_dns: str, lang: str) -> None:
    result = invoke("check", "taro@docomo.ne.jp", "--lang", lang, *dns_args(broken_dns))
    assert_honest(result, 3, stderr_lines=0)
    assert "dns_unavailable" in result.stdout


def test_check_json_has_no_dns_finding_but_unavailable(broken_dns: str) -> None:
    import json

    result = invoke("check", "hanako@example.jp", "--format", "json", *dns_args(broken_dns))
    assert_honest(result, 3, stderr_lines=0)
    data = json.loads(result.stdout)
    assert data["verdict"] == "unknown"
    assert [f["code"] for f in data["findings"]] == ["dns_unavailable"]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_diagnose_says_unknown_and_still_tries(broken_dns: str, lang: str, tmp_path: Path) -> None:
    result = invoke(
        "diagnose",
        "taro@docomo.ne.jp",
        "--lang",
        lang,
        "--db",
        str(tmp_path / "h.sqlite3"),
        *dns_args(broken_dns),
    )
    assert_honest(result, 3, stderr_lines=0)
    assert "dns_unavailable" in result.stdout
    # The trial does not depend on the customer's DNS: it ran.
    assert "refuse_url" in result.stdout


# -- store faults: diagnose, serve, serve + send ----------------------------------------


def _filled_store(path: Path, count: int = 40) -> None:
    store = Store(path)
    try:
        for i in range(count):
            message = NewMessage(
                mail_from="no-reply@lentrance.com",
                rcpt_tos=("taro@docomo.ne.jp",),
                raw=b"Subject: filler\r\n\r\n" + os.urandom(1500).hex().encode(),
                deliveries=(),
                subject=f"filler {i}",
            )
            asyncio.run(store.add(message))
    finally:
        store.close()


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """``path`` cannot be written, even by root (chattr +i) for the block."""
    path.chmod(0o444)
    immutable = False
    try:
        try:
            path.open("r+b").close()
        except PermissionError:
            pass
        else:  # root ignores permissions: make the file immutable
            if shutil.which("chattr") is None:
                pytest.skip("root, and no chattr to make a file read-only")
            done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
            if done.returncode != 0:
                pytest.skip(f"cannot make a file read-only here: {done.stderr.decode().strip()}")
            immutable = True
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o644)


def _damage(path: Path) -> None:
    """Overwrite pages in the middle of the file (the header page stays whole)."""
    size = path.stat().st_size
    assert size > 8 * 4096
    with path.open("r+b") as f:
        f.seek(4 * 4096)
        f.write(b"\xa5" * 4 * 4096)


@pytest.fixture(params=["proc", "text", "directory", "read-only", "damaged"])
def bad_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A database path that cannot be used, and a word the message must contain."""
    kind = request.param
    if kind == "proc":
        yield Path("/proc/x.sqlite3"), "/proc/x.sqlite3"
    elif kind == "text":
        path = tmp_path / "notes.sqlite3"
        path.write_text("これはメモです\n" * 20, encoding="utf-8")
        yield path, "not an SQLite database"
    elif kind == "directory":
        path = tmp_path / "dir.sqlite3"
        path.mkdir()
        yield path, "directory"
    elif kind == "read-only":
        path = tmp_path / "ro.sqlite3"
        _filled_store(path, 2)
        with _read_only(path):
            yield path, "cannot be written"
    else:
        path = tmp_path / "damaged.sqlite3"
        _filled_store(path)
        _damage(path)
        yield path, "damaged"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_diagnose_with_an_unusable_store_exits_4(bad_store: tuple[Path, str], fmt: str) -> None:
    path, why = bad_store
    result = invoke(
        "diagnose", "taro@docomo.ne.jp", "--offline", "--format", fmt, "--db", str(path)
    )
    assert_honest(result, 4)
    assert result.stdout == ""
    assert result.stderr.startswith("Error: the delivery-trial harness could not start: ")
    assert why in result.stderr


def test_serve_with_an_unusable_store_exits_4(bad_store: tuple[Path, str]) -> None:
    path, why = bad_store
    result = invoke("serve", "--smtp", "127.0.0.1:0", "--no-http", "--db", str(path))
    assert_honest(result, 4)
    assert result.stderr.startswith("Error: ")
    assert why in result.stderr


# A full disk is a real one: a 64 KiB tmpfs mounted in a private mount namespace
# (``unshare -rm``: root or not, nothing outside the test sees it). The store opens
# (schema, WAL) but no trial message fits, so SQLite itself answers SQLITE_FULL (56 KiB:
# the store cannot open; 72 KiB: one gmail.com trial fits).
DISK_KIB = 88  # the empty store (its search index too) fits; no message after it
CHECK_STORE = """
import json, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
print(json.dumps({
    "messages": conn.execute("SELECT count(*) FROM messages").fetchone()[0],
    "torn": conn.execute("SELECT count(*) FROM messages WHERE size != length(raw)").fetchone()[0],
    "integrity": conn.execute("PRAGMA integrity_check").fetchone()[0],
}))
"""


@pytest.fixture
def full_disk(tmp_path: Path) -> Path:
    """A folder on a tiny private filesystem, for commands run through ``on_full_disk``."""
    if (
        shutil.which("unshare") is None
        or subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False).returncode
    ):
        pytest.skip("no private mount namespace here (unshare -rm): cannot mount a small disk")
    disk = tmp_path / "disk"
    disk.mkdir()
    return disk


def on_full_disk(disk: Path, *command: str) -> list[str]:
    """``command`` run with a tiny tmpfs mounted on ``disk``, for subprocess.run/Popen."""
    script = f'mount -t tmpfs -o size={DISK_KIB}k tmpfs "$1" && shift && exec "$@"'
    return ["unshare", "-rm", "sh", "-c", script, "sh", str(disk), *command]


def then_look(db: Path, after: Path, *command: str) -> list[str]:
    """``command``, then what the store holds written to ``after`` (outside the tmpfs)."""
    shell = f"\"$@\"; code=$?; {sys.executable} -c '{CHECK_STORE}' {db} > {after}; exit $code"
    return ["sh", "-c", shell, "sh", *command]


@pytest.mark.parametrize("address", ["taro@docomo.ne.jp", "hanako@au.com", "jiro@gmail.com"])
def test_diagnose_on_a_full_disk_exits_4_without_a_decision(full_disk: Path, address: str) -> None:
    db = full_disk / "h.sqlite3"
    diagnose = [sys.executable, "-m", "maildoctor", "diagnose", address, "--offline"]
    # The store is looked at in the same namespace, before the tmpfs goes away with it.
    after = full_disk.parent / "after.json"
    done = subprocess.run(
        on_full_disk(full_disk, *then_look(db, after, *diagnose, "--db", str(db))),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 4, done.stderr
    assert done.stdout == ""
    assert done.stderr == (
        f"Error: the delivery trial failed: Cannot write to the message store "
        f"{db}: database or disk is full. Free some disk space.\n"
    )
    # Trials stored before the disk filled are whole; the one that did not fit left nothing.
    after_run = json.loads(after.read_text())
    assert after_run["torn"] == 0
    assert after_run["integrity"] == "ok"


def test_serve_and_send_on_a_full_disk(full_disk: Path) -> None:
    """The client gets 451 (it keeps the message); the operator gets one line with the cause."""
    db = full_disk / "h.sqlite3"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    serve = [sys.executable, "-m", "maildoctor", "serve", "--smtp", f"127.0.0.1:{port}"]
    after = full_disk.parent / "after.json"
    server = subprocess.Popen(
        on_full_disk(full_disk, *then_look(db, after, *serve, "--no-http", "--db", str(db))),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(600):  # up to a minute for the server to listen
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert server.poll() is None, server.communicate()
            time.sleep(0.1)
        args = ["send", "password_reset", "--smtp", f"127.0.0.1:{port}"]
        for _ in range(3):
            result = invoke(*args, "--to", "taro@docomo.ne.jp", "--to", "hanako@au.com")
            assert_honest(result, 1, stderr_lines=0)
            assert result.stdout == (
                "taro@docomo.ne.jp\t451 4.3.0 Could not store the message, try again later\n"
                "hanako@au.com\t451 4.3.0 Could not store the message, try again later\n"
            )
    finally:
        # Stop serve itself (the shell around it then looks at the store).
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        for child in children:
            os.kill(int(child), signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    assert json.loads(after.read_text()) == {"messages": 0, "torn": 0, "integrity": "ok"}
    said = (
        "maildoctor: a message was not stored (clients got 451): Cannot write to the message "
        f"store {db}: database or disk is full. Free some disk space."
    )
    assert [line for line in err.splitlines() if "not stored" in line] == [said], err
    assert "Traceback" not in err


def test_serve_on_a_read_only_store_refuses_to_start_and_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite3"
    _filled_store(path, 1)
    with _read_only(path):
        result = invoke("serve", "--smtp", "127.0.0.1:0", "--no-http", "--db", str(path))
    assert_honest(result, 4)
    assert "Check the permissions of the file and its folder, or give another --db." in (
        result.stderr
    )


def test_damaged_store_names_the_recovery(tmp_path: Path) -> None:
    path = tmp_path / "damaged.sqlite3"
    _filled_store(path)
    _damage(path)
    result = invoke("diagnose", "taro@docomo.ne.jp", "--offline", "--db", str(path))
    assert_honest(result, 4)
    assert f"sqlite3 {path} .recover" in result.stderr


# -- send without a server, bounce/lint/render on bad input -------------------------------


def test_send_without_a_server(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: the connection is refused
        smtp = f"127.0.0.1:{port}"
        result = invoke("send", "password_reset", "--to", "a@docomo.ne.jp", "--smtp", smtp)
    assert_honest(result, 4)
    assert result.stderr.startswith(f"Error: Cannot connect to the SMTP server at 127.0.0.1:{port}")


BINARY = bytes(range(256)) * 8


@pytest.mark.parametrize("kind", ["missing", "binary", "nul-charset"])
def test_bounce_on_bad_files(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.eml"
    if kind == "binary":
        path.write_bytes(BINARY)
    elif kind == "nul-charset":
        path.write_bytes(
            b"From: MAILER-DAEMON@mx.example.jp\nTo: no-reply@lentrance.com\n"
            b"Subject: Undelivered Mail Returned to Sender\n"
            b'Content-Type: text/plain; charset="utf\x00-8"\n\n'
            b"<taro@docomo.ne.jp>: host mx.example.jp said: 550 5.7.1 Message rejected\n"
        )
    result = invoke("bounce", str(path))
    said = result.stdout + result.stderr
    assert "Traceback" not in said
    if kind == "nul-charset":
        # Decoded with a fallback: explained, not "could not be parsed".
        assert result.exit_code == 0, said
        assert "taro@docomo.ne.jp" in result.stdout
        assert "解析できません" not in said
    else:
        assert result.exit_code == 1, said
        assert "taro@" not in said


@pytest.mark.parametrize("kind", ["binary", "empty", "missing"])
def test_lint_eml_on_what_is_not_a_message(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x.eml"
    if kind == "binary":
        path.write_bytes(BINARY)
    elif kind == "empty":
        path.write_bytes(b"")
    result = invoke("lint", "--eml", str(path))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    if kind != "missing":
        assert result.stderr.strip().splitlines() == [
            f"Error: {str(path)!r} is not an email message: "
            + (
                "its header holds NUL bytes (a binary file?)."
                if kind == "binary"
                else "it is empty."
            )
        ]


@pytest.mark.parametrize("command", ["templates", "render", "lint"])
def test_template_commands_on_an_empty_templates_folder(tmp_path: Path, command: str) -> None:
    args = {"templates": [], "render": ["password_reset"], "lint": []}[command]
    result = invoke(command, *args, "--templates", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""


# The delivery-records store on a real full disk and on a real read-only filesystem
# (the same private tmpfs, remounted read-only for the second): what SQLite itself
# answers, never a store reached into from the test.
EVENTS = Path(__file__).parent / "data" / "events" / "ses-events.jsonl"
CHECK_EVENTS = """
import json, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
print(json.dumps({
    "integrity": conn.execute("PRAGMA integrity_check").fetchone()[0],
    "events": conn.execute("SELECT count(*) FROM events").fetchone()[0],
}))
"""


def _exit_4_in_one_line(script: str, *args: str) -> str:
    """``script`` run by sh in a private mount namespace: exit 4 and one line, no traceback."""
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    return line


def _many_ses_events(path: Path, count: int) -> None:
    """``count`` SES events, each a new message (a new key), from the sample's first line."""
    first = json.loads(EVENTS.read_text(encoding="utf-8").splitlines()[0])
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            first["mail"]["messageId"] = f"0106018c2a9f1d3b-{n:08d}-full-disk"
            first["mail"]["destination"] = [f"member{n}@docomo.ne.jp"]
            out.write(json.dumps(first, ensure_ascii=False) + "\n")


def test_events_ingest_on_a_full_disk_exits_4_and_keeps_what_it_had(full_disk: Path) -> None:
    db = full_disk / "e.sqlite3"
    source = full_disk.parent / "events.jsonl"
    _many_ses_events(source, 3000)  # about 3 MB of events: far more than 64 KiB holds
    after = full_disk.parent / "after.json"
    ingest = [sys.executable, "-m", "maildoctor", "events", "ingest", str(source)]
    shell = (
        f"{sys.executable} -m maildoctor events ingest {EVENTS} --events-db {db} && "
        f"\"$@\"; code=$?; {sys.executable} -c '{CHECK_EVENTS}' {db} > {after}; exit $code"
    )
    # The events store's schema and WAL need more than the harness's 64 KiB: 256 KiB
    # holds the first ingest and not the second.
    mount = 'mount -t tmpfs -o size=256k tmpfs "$1" && shift && exec "$@"'
    command = ["sh", "-c", shell, "sh", *ingest, "--events-db", str(db)]
    line = _exit_4_in_one_line(mount, str(full_disk), *command)
    assert line.startswith("Error: ") and line.endswith("Free some disk space."), line
    store = json.loads(after.read_text())
    assert store["integrity"] == "ok"
    assert store["events"] >= 5  # the first ingest's events are still there, whole


def test_events_ingest_on_a_read_only_filesystem_exits_4(full_disk: Path) -> None:
    sendgrid = EVENTS.parent / "sendgrid-events.json"
    db = full_disk / "e.sqlite3"
    script = (
        f'mount -t tmpfs -o size=1m tmpfs "$1" && '
        f"{sys.executable} -m maildoctor events ingest {EVENTS} --events-db {db} >/dev/null && "
        f'mount -o remount,ro "$1" && '
        f"exec {sys.executable} -m maildoctor events ingest {sendgrid} --events-db {db}"
    )
    line = _exit_4_in_one_line(script, str(full_disk))
    assert line.startswith("Error: ") and str(db) in line and "can be written" in line, line
