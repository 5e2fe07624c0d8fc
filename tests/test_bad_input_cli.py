"""Bad input and a broken machine as users really meet them, command by command: a
closed stdin or stdout, a full disk under the output, nan for a timeout, a century too
many days, a line break in an SMTP word. Each is one line on stderr, the README's exit
status (2 the input, 4 the machine), never a traceback.

The streams are closed and filled for real: the command runs as a subprocess whose
descriptor 0 or 1 is closed before exec, or whose stdout is /dev/full.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main

BOUNCE = Path(__file__).parent / "data" / "bounces" / "postfix-02.eml"
MAILDOCTOR = [sys.executable, "-m", "maildoctor"]


def run(
    args: list[str], tmp_path: Path, *, before: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """``maildoctor args`` as a process of its own (``before`` runs in it before exec),
    its stores in ``tmp_path``."""
    return subprocess.run(
        [*MAILDOCTOR, *args],
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=before,
        check=False,
    )


def one_error_line(stderr: str) -> str:
    """The one ``Error:`` line of a failed command (and no traceback)."""
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def close_stdin() -> None:
    os.close(0)


def close_stdout() -> None:
    os.close(1)


#: Every command that reads '-' from stdin, and what it says when stdin holds nothing.
STDIN_READERS = [
    (["check", "--offline", "--file", "-"], 0, "No addresses to check: stdin is empty."),
    (["diagnose", "--offline", "-"], 2, "No email address was found in the text on stdin."),
    (["events", "ingest", "--events-db", "{tmp}/events.sqlite3", "-"], 0, "0 records"),
    (["bounce", "-"], 1, "-: "),
    (["lint", "--eml", "-"], 2, "is not an email message: it is empty."),
    (["render", "password_reset", "--context", "-"], 2, "is not valid JSON"),
]


@pytest.mark.parametrize(("args", "code", "said"), STDIN_READERS, ids=lambda v: str(v)[:40])
def test_a_closed_stdin_reads_as_empty_input(
    tmp_path: Path, args: list[str], code: int, said: str
) -> None:
    """``cmd - <&-`` (a cron job, a daemon's spawn): said as an empty input, not a
    Python traceback about ``NoneType``."""
    result = run([a.format(tmp=tmp_path) for a in args], tmp_path, before=close_stdin)
    assert "Traceback" not in result.stderr
    assert result.returncode == code, result.stderr
    assert said in result.stderr + result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--offline", "taro@docomo.ne.jp"],
        ["templates"],
        ["render", "password_reset"],
        ["bounce", str(BOUNCE)],
    ],
    ids=lambda v: v[0],
)
def test_a_closed_stdout_is_one_line_and_exit_4(tmp_path: Path, args: list[str]) -> None:
    result = subprocess.run(
        [*MAILDOCTOR, *args],
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")},
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        preexec_fn=close_stdout,
        check=False,
    )
    assert one_error_line(result.stderr) == "Error: Cannot write the output: stdout is closed."
    assert result.returncode == 4
    assert "Exception ignored" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--offline", "taro@docomo.ne.jp"],
        ["check", "--offline", "--format", "jsonl", "--file", "{list}"],
        ["diagnose", "--offline", "taro@docomo.ne.jp"],
        ["templates"],
        ["lint"],
        ["bounce", str(BOUNCE)],
        ["events", "show", "--events-db", "{tmp}/events.sqlite3", "taro@docomo.ne.jp"],
    ],
    ids=lambda v: "-".join(v[:2]),
)
def test_output_to_a_full_disk_is_one_line_and_exit_4(tmp_path: Path, args: list[str]) -> None:
    """/dev/full: every write fails with ENOSPC, as on a full disk. The fault is the
    machine's (exit 4), said once; nothing claims the run went well."""
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"user{i}@example.jp\n" for i in range(20_000)))
    store = tmp_path / "events.sqlite3"
    if "show" in args:
        ingest = Path(__file__).parent / "data" / "events" / "postfix-maillog.log"
        ingested = run(["events", "ingest", "--events-db", str(store), str(ingest)], tmp_path)
        assert ingested.returncode == 0, ingested.stderr
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [*MAILDOCTOR, *[a.format(tmp=tmp_path, list=listing) for a in args]],
            env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")},
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    line = one_error_line(result.stderr)
    assert line == "Error: Cannot write the output: No space left on device."
    assert result.returncode == 4
    assert "Exception ignored" not in result.stderr


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["render", "password_reset", "--out", "/dev/full"], "--out"),
        (["bounce", str(BOUNCE), "--suppress", "/dev/full"], "--suppress"),
    ],
)
def test_an_output_file_on_a_full_disk_is_exit_4_in_one_voice(args: list[str], flag: str) -> None:
    """--out and --suppress say a failed write as stdout does (they said 1 and two
    different sentences: render's own, click's "Could not open file")."""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 4, result.output
    assert one_error_line(result.stderr) == (
        "Error: Cannot write '/dev/full': No space left on device."
    )


@pytest.mark.parametrize("value", ["nan", "inf", "NaN", "Infinity"])
@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["check", "--nameserver", "127.0.0.1:9", "a@b.jp"], "--dns-timeout"),
        (["sender", "--nameserver", "127.0.0.1:9", "lentrance.com"], "--dns-timeout"),
        (["send", "password_reset", "--to", "a@b.jp", "--smtp", "127.0.0.1:9"], "--timeout"),
        (["lint", "--check-links"], "--link-timeout"),
        (["serve", "--no-http", "--smtp", "127.0.0.1:0"], "--smtp-idle-timeout"),
        (["serve", "--smtp", "127.0.0.1:0"], "--check-dns-timeout"),
    ],
    ids=lambda v: v[0] if isinstance(v, list) else v,
)
def test_a_timeout_that_is_not_a_number_is_a_usage_error(
    args: list[str], option: str, value: str
) -> None:
    """nan passed click's FloatRange (nan is neither below nor above a bound): a DNS
    timeout of nan waited forever, ``send --timeout nan`` crashed in socket.settimeout."""
    result = CliRunner().invoke(main, [*args, option, value])
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    assert option in line
    # an option with a maximum refuses inf by its range; nan passes any range
    assert f"{value!r} is not a number of seconds." in line or "is not in the range" in line
    if value == "nan":
        assert "is not a number of seconds." in line


@pytest.mark.parametrize("timeout", ["0", "-1"])
def test_send_refuses_a_timeout_smtplib_cannot_use(timeout: str) -> None:
    result = CliRunner().invoke(
        main, ["send", "password_reset", "--to", "a@b.jp", "--smtp", "127.0.0.1:9",
               "--timeout", timeout],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--timeout" in one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["events", "show", "a@b.jp"], "--days"),
        (["events", "suppressed"], "--days"),
        (["events", "ingest", str(BOUNCE)], "--events-days"),
        (["diagnose", "--offline", "a@b.jp"], "--events-days"),
        (["sender", "lentrance.com"], "--events-days"),
        (["bounce", str(BOUNCE)], "--soft-days"),
    ],
    ids=lambda v: " ".join(v[:2]) if isinstance(v, list) else v,
)
def test_more_days_than_dates_have_is_a_usage_error(args: list[str], option: str) -> None:
    """``timedelta(days=10**10)`` was an OverflowError traceback; the range says the limit."""
    result = CliRunner().invoke(main, [*args, option, "10000000000"])
    assert result.exit_code == 2, result.output
    assert "<=x<=36500." in one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--probe-helo", "mx.example.jp\r\nRSET"),
        ("--probe-helo", "ｍｘ．ｅｘａｍｐｌｅ．ｊｐ"),
        ("--probe-helo", "two words"),
        ("--probe-from", "ｔａｒｏ@例え.jp"),
        ("--probe-from", "a@b.jp\r\nRCPT TO:<x@y.jp>"),
    ],
)
@pytest.mark.parametrize("command", ["check", "diagnose"])
def test_a_probe_word_smtp_cannot_carry_is_a_usage_error(
    command: str, option: str, value: str
) -> None:
    """smtplib raised ValueError (a line break) or UnicodeEncodeError (full-width) from
    the probe's thread: a traceback after the checks had run."""
    result = CliRunner().invoke(
        main, [command, "--offline", "--probe", "--probe-host", "127.0.0.1:9", option, value,
               "taro@example.jp"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert option in one_error_line(result.stderr)


@pytest.mark.parametrize("sender", ["bad from\r\n", "送信@lentrance.com", "a b@lentrance.com"])
def test_send_refuses_an_envelope_sender_smtp_cannot_carry(sender: str) -> None:
    """A line break was cut and sent as MAIL FROM:<bad> (exit 0); a Japanese sender was
    smtplib's UnicodeEncodeError. Refused before any connection, with the probe's words."""
    result = CliRunner().invoke(
        main, ["send", "password_reset", "--to", "a@b.jp", "--smtp", "127.0.0.1:9",
               "--from", sender],
    )  # fmt: skip
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert "--from" in line
    assert "is not an address SMTP can send as the sender" in line


@pytest.mark.parametrize(
    ("name", "text"), [("deep.json", "[" * 100_000), ("deep.toml", "a = " + "[" * 100_000)]
)
def test_a_context_file_nested_too_deeply_is_one_line(tmp_path: Path, name: str, text: str) -> None:
    context = tmp_path / name
    context.write_text(text)
    result = CliRunner().invoke(main, ["render", "password_reset", "--context", str(context)])
    assert result.exit_code == 2
    assert one_error_line(result.stderr).endswith("is nested too deeply.")


def test_the_days_limit_is_the_events_stores() -> None:
    """cli.options keeps its own copy (importing the events package costs 50 ms)."""
    from maildoctor.cli.options import MAX_DAYS
    from maildoctor.events.store import MAX_DAYS as STORE_MAX_DAYS

    assert MAX_DAYS == STORE_MAX_DAYS


def test_ingest_names_a_lone_surrogate_and_reads_past_a_bom(tmp_path: Path) -> None:
    """A JSON event escaping a lone surrogate was a UnicodeEncodeError traceback from the
    store; a BOM before a SendGrid file made every one of its lines "not JSON"."""
    events = Path(__file__).parent / "data" / "events" / "sendgrid-events.json"
    bad = tmp_path / "bad.json"
    bad.write_text('[{"email": "\\ud800@b.jp", "event": "bounce", "timestamp": 1796655096}]')
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + events.read_bytes())
    store = tmp_path / "events.sqlite3"
    result = CliRunner().invoke(main, ["events", "ingest", "--events-db", str(store), str(bad)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"error: {bad}: a value holds an invalid character (a lone surrogate)" in result.stderr
    result = CliRunner().invoke(main, ["events", "ingest", "--events-db", str(store), str(bom)])
    assert result.exit_code == 0, result.output
    assert "7 records (7 new)" in result.stdout + result.stderr


#: The read(2) system call's number, as /proc/PID/task/TID/syscall shows it.
READ_SYSCALL = {"x86_64": "0", "aarch64": "63"}


def _blocked_reading_stdin(pid: int) -> bool:
    """Whether a thread of ``pid`` waits in read(2) on descriptor 0 (Linux's /proc)."""
    import platform

    read = READ_SYSCALL[platform.machine()]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            if (task / "syscall").read_text().split()[:2] == [read, "0x0"]:
                return True
        except OSError:
            continue  # the thread ended while we looked
    return False


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--offline", "--file", "-"],
        ["diagnose", "--offline", "-"],
        ["events", "ingest", "--events-db", "{tmp}/events.sqlite3", "-"],
    ],
    ids=lambda v: v[0],
)
def test_ctrl_c_is_exit_130_not_a_verdict(tmp_path: Path, args: list[str]) -> None:
    """click's "Aborted!" exited 1: for check and diagnose "some address is risky". The
    command waits on a pipe that stays open, then gets SIGINT as from a terminal."""
    process = subprocess.Popen(
        [*MAILDOCTOR, *[a.format(tmp=tmp_path) for a in args]],
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write("taro@docomo.ne.jp\n")
    process.stdin.flush()
    # Started, and reading the rest of stdin: a fixed pause let the SIGINT land while a
    # loaded machine was still importing (a traceback, or click's "Aborted!" and exit 1).
    deadline = time.monotonic() + 60
    while not _blocked_reading_stdin(process.pid):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the command never waited on stdin"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1] == (
        "Interrupted: stopped before the end; what was printed is incomplete."
    )


@pytest.mark.parametrize("command", ["check", "diagnose"])
@pytest.mark.parametrize("address", ["", "   "])
def test_an_empty_address_is_a_usage_error_in_one_voice(command: str, address: str) -> None:
    """``check ""`` was a verdict (undeliverable, exit 1) where ``diagnose ""`` was a
    usage error: one input, one answer."""
    result = CliRunner().invoke(main, [command, "--offline", address])
    assert result.exit_code == 2
    assert one_error_line(result.stderr) == (
        "Error: Invalid value: the address is empty; give the customer's address."
    )
    assert result.stdout == ""


def test_events_show_finds_an_address_typed_in_full_width(tmp_path: Path) -> None:
    """The agent pastes the address as the customer typed it through an IME: it was
    "not an address (no @)" (＠ is not @), and the records of defer@softbank.ne.jp unseen."""
    log = Path(__file__).parent / "data" / "events" / "postfix-maillog.log"
    store = str(tmp_path / "events.sqlite3")
    assert (
        CliRunner().invoke(main, ["events", "ingest", "--events-db", store, str(log)]).exit_code
        == 0
    )
    args = ["events", "show", "--events-db", store, "--days", "0", "--format", "json"]
    typed = CliRunner().invoke(main, [*args, "ｄｅｆｅｒ＠ｓｏｆｔｂａｎｋ．ｎｅ．ｊｐ"])
    plain = CliRunner().invoke(main, [*args, "defer@softbank.ne.jp"])
    assert typed.exit_code == plain.exit_code == 0, typed.output
    assert len(json.loads(plain.stdout)) == 4
    assert typed.stdout == plain.stdout


def _stores(tmp_path: Path) -> dict[str, Path]:
    """A real message store, events store and another program's SQLite file."""
    import sqlite3

    harness, events = tmp_path / "h.sqlite3", tmp_path / "events.sqlite3"
    made = CliRunner().invoke(main, ["diagnose", "--offline", "--db", str(harness), "a@b.jp"])
    assert made.exit_code in (0, 1), made.output
    log = Path(__file__).parent / "data" / "events" / "postfix-maillog.log"
    made = CliRunner().invoke(main, ["events", "ingest", "--events-db", str(events), str(log)])
    assert made.exit_code == 0, made.output
    other = tmp_path / "crm.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE customers (email TEXT)")
    return {"message store": harness, "events store": events, "crm": other}


@pytest.mark.parametrize(
    ("given", "args", "said"),
    [
        ("events store", ["diagnose", "--offline", "a@b.jp", "--db"],
         "Cannot open the message store {path}: it is maildoctor's events store, not its "
         "message store. Give another --db."),
        ("crm", ["diagnose", "--offline", "a@b.jp", "--db"],
         "Cannot open the message store {path}: it holds another program's tables "
         "(customers), not maildoctor's message store. Give another --db."),
        ("message store", ["events", "ingest", str(BOUNCE), "--events-db"],
         "Cannot open the events store {path}: it is maildoctor's message store, not its "
         "events store. Give another --events-db."),
        ("message store", ["events", "show", "a@b.jp", "--events-db"],
         "Cannot open the events store {path}: it is maildoctor's message store, not its "
         "events store. Give another --events-db."),
        ("events store", ["serve", "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0",
                          "--auth-dns", "off", "--desk-dns", "off", "--history-db"],
         "Cannot open the desk history {path}: it is maildoctor's events store, not its "
         "desk history. Give another --history-db."),
    ],
    ids=["diagnose-db-events", "diagnose-db-crm", "ingest-harness", "show-harness", "serve"],
)  # fmt: skip
def test_a_store_refuses_another_stores_file_and_leaves_it_as_it_was(
    tmp_path: Path, given: str, args: list[str], said: str
) -> None:
    """Each store made its tables in whatever SQLite file it was given: `events ingest
    --events-db h.sqlite3` added the events tables to the message store and said nothing."""
    path = _stores(tmp_path)[given]
    before = path.read_bytes()
    if args[0] == "serve":
        args = [*args[:-1], "--db", str(tmp_path / "new.sqlite3"), args[-1]]
    result = run([*args, str(path)], tmp_path)  # a process: a serve that starts is killed
    assert result.returncode == 4, result.stderr
    assert one_error_line(result.stderr).endswith(said.format(path=path))
    assert path.read_bytes() == before
