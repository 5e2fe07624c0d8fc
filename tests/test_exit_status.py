"""The README's exit-status table, read from README.md and run against the commands.

Every filled cell of the table has a case here that makes that command exit
with that code, and every case has its cell: the table and the commands
cannot drift apart (issue 10, item 8).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.web.app import run_in_thread
from tests.dnsserver import ZONES_DIR, DNSTestServer
from tests.serveproc import ServeProcess

README = Path(__file__).resolve().parent.parent / "README.md"
BOUNCES = Path(__file__).resolve().parent / "data" / "bounces"
EVENTS = Path(__file__).resolve().parent / "data" / "events"


def exit_table() -> dict[tuple[str, int], str]:
    """(command, exit code) -> what the README says it means, for every filled cell."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Exit status\n", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    codes = [int(c) for c in header[1:]]
    table: dict[tuple[str, int], str] = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        for command in re.findall(r"`([a-z]+)`", cells[0]):
            for code, meaning in zip(codes, cells[1:], strict=True):
                if meaning:
                    table[(command, code)] = meaning
    return table


class Env:
    """What the cases need: DNS servers, a harness, files."""

    def __init__(self, tmp: Path, check_ns: str, sender_ns: str, smtp: str) -> None:
        self.tmp, self.check_ns, self.sender_ns, self.smtp = tmp, check_ns, sender_ns, smtp


def eml_with_errors(env: Env) -> str:
    path = env.tmp / "sent.eml"
    path.write_text("From: someone@gmail.com\nTo: a@b.jp\nSubject: hi\n\nhello\n")
    return str(path)


Case = Callable[[Env], list[str]]
CASES: dict[tuple[str, int], Case] = {
    ("check", 0): lambda e: ["check", "taro@gmail.com", "--nameserver", e.check_ns],
    ("check", 1): lambda e: ["check", "taro@docomo.ne.jp", "--nameserver", e.check_ns],
    ("check", 2): lambda e: ["check"],
    ("check", 3): lambda e: [
        "check", "taro@servfail.maildoctor.test", "--nameserver", e.check_ns,
    ],
    ("diagnose", 0): lambda e: [
        "diagnose", "taro@gmail.com", "--nameserver", e.check_ns, "--db", str(e.tmp / "d.db"),
    ],
    ("diagnose", 1): lambda e: [
        "diagnose", "taro@docomo.ne.jp", "--offline", "--db", str(e.tmp / "d.db"),
    ],
    ("diagnose", 2): lambda e: ["diagnose", "--db", str(e.tmp / "d.db")],
    ("diagnose", 3): lambda e: [
        "diagnose", "taro@servfail.maildoctor.test", "--nameserver", e.check_ns,
        "--dns-timeout", "0.5", "--db", str(e.tmp / "d.db"),
    ],
    ("diagnose", 4): lambda e: ["diagnose", "taro@docomo.ne.jp", "--db", "/proc/x.sqlite3"],
    ("lint", 0): lambda e: ["lint"],
    ("lint", 1): lambda e: ["lint", "--eml", eml_with_errors(e)],
    ("lint", 2): lambda e: ["lint", "--templates", str(e.tmp)],
    ("lint", 4): lambda e: ["lint", "password_reset", "--spamd", "127.0.0.1:1"],
    ("preview", 2): lambda e: ["preview", "--port", "0", "--var", "novalue"],
    # the harness's SMTP port: taken
    ("preview", 4): lambda e: ["preview", "--port", e.smtp.rsplit(":", 1)[1]],
    ("render", 0): lambda e: ["render", "password_reset"],
    ("render", 2): lambda e: ["render", "password_reset", "--var", "reset_url"],
    ("templates", 0): lambda e: ["templates"],
    ("templates", 2): lambda e: ["templates", "--templates", str(e.tmp)],
    ("send", 0): lambda e: ["send", "password_reset", "--to", "taro@gmail.com", "--smtp", e.smtp],
    ("send", 1): lambda e: ["send", "password_reset", "--to", "ghost@au.com", "--smtp", e.smtp],
    ("send", 2): lambda e: ["send", "password_reset", "--to", "bad addr", "--smtp", e.smtp],
    # port 1 on loopback: nothing listens there, the connection is refused
    ("send", 4): lambda e: ["send", "password_reset", "--to", "a@b.jp", "--smtp", "127.0.0.1:1"],
    ("serve", 2): lambda e: ["serve", "--user", "ci:pw", "--no-http"],
    ("serve", 4): lambda e: ["serve", "--smtp", "127.0.0.1:0", "--db", "/proc/x.sqlite3"],
    ("bounce", 0): lambda e: ["bounce", str(BOUNCES / "amazonses-01.eml")],
    ("bounce", 1): lambda e: ["bounce", str(e.tmp / "missing.eml")],
    ("bounce", 2): lambda e: ["bounce"],
    ("sender", 0): lambda e: [
        "sender", "good.example", "--ip", "192.0.2.25", "--selector", "s2048",
        "--nameserver", e.sender_ns,
    ],
    ("sender", 1): lambda e: ["sender", "lentrance.com", "--nameserver", e.sender_ns],
    ("sender", 2): lambda e: ["sender", "not a domain"],
    ("sender", 3): lambda e: [
        "sender", "slow.example", "--nameserver", e.sender_ns, "--dns-timeout", "0.3",
    ],
    ("events", 0): lambda e: [
        "events", "ingest", "--events-db", str(e.tmp / "ev.sqlite3"),
        str(EVENTS / "ses-events.jsonl"),
    ],
    ("events", 1): lambda e: [
        "events", "ingest", "--events-db", str(e.tmp / "ev.sqlite3"), str(e.tmp / "missing.log"),
    ],
    ("events", 2): lambda e: ["events", "ingest"],
    ("events", 4): lambda e: ["events", "show", "a@b.jp", "--events-db", "/proc/x.sqlite3"],
}  # fmt: skip


def test_every_cell_has_a_case_and_every_case_a_cell() -> None:
    table = exit_table()
    cells = set(table) - {("serve", 0)}  # run apart: it needs a signal
    assert cells == set(CASES)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("exit")
    with (
        DNSTestServer.from_files(ZONES_DIR / "test.zone") as check_dns,
        DNSTestServer.from_files(
            ZONES_DIR / "sender.zone", timeout_names=["slow.example."]
        ) as sender_dns,
        run_in_thread(tmp / "h.sqlite3", http_port=None) as harness,
    ):
        harness.set_faults("user_unknown,to=ghost@au.com")
        host, port = harness.smtp_address
        yield Env(tmp, check_dns.nameserver, sender_dns.nameserver, f"{host}:{port}")


@pytest.mark.parametrize(("command", "code"), sorted(CASES), ids=lambda v: str(v))
def test_the_command_exits_as_the_table_says(env: Env, command: str, code: int) -> None:
    meaning = exit_table().get((command, code))
    assert meaning, f"README has no exit {code} for {command}"
    result = CliRunner().invoke(main, CASES[(command, code)](env))
    assert result.exit_code == code, f"{command} should exit {code} ({meaning}): {result.output}"
    assert "Traceback" not in result.output


def test_serve_exits_0_when_stopped(tmp_path: Path) -> None:
    assert exit_table()[("serve", 0)].startswith("stopped")
    server = ServeProcess("--db", str(tmp_path / "h.sqlite3"), "--auth-dns", "off").start()
    proc = server.proc
    assert proc is not None
    proc.terminate()
    try:
        assert proc.wait(timeout=10) == 0
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    finally:
        server.stop()
