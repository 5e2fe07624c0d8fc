"""Issue 10, the DNS rows of the degraded-conditions matrix: ``sender``, the harness's
DKIM/SPF/DMARC verification (``serve`` + ``send`` of a signed message) and the
spoofing-filter rows of ``diagnose``, each under each DNS fault, with real parts.

The faults are a real DNS server on loopback (tests/dnsserver.py) that answers
NXDOMAIN for every name (a sinkhole, a captive portal), one that never answers,
and one that answers SERVFAIL to everything. Each cell asserts the exit code,
a one-line message, no traceback, and no claim the fault cannot support.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from tests.dnsserver import ZONES_DIR, DNSTestServer

DKIM_KEY = Path(__file__).parent / "data" / "dkim" / "test-only-2048.private.pem"

#: fault id -> DNSTestServer keyword arguments ("." covers every name)
FAULTS: dict[str, dict[str, Any]] = {
    "nxdomain-for-everything": {},
    "never-answers": {"timeout_names": ["."]},
    "servfail": {"servfail_names": ["."]},
}
#: What each fault's canary check reports (the why the one-line message gives).
WHY = {
    "nxdomain-for-everything": ". NS: NXDOMAIN",
    "never-answers": ". NS: timeout",
    "servfail": ". NS: SERVFAIL",
}

#: Claims no DNS fault can support (English output) ...
FORBIDDEN_EN = ("missing", "does not exist", "rejected by the carrier", "not found")
#: ... their Japanese counterparts, and the finding codes that would make them.
FORBIDDEN_JA = ("ありません", "存在しません")
FORBIDDEN_CODES = (
    "spf_missing",
    "dmarc_missing",
    "sender_no_mx",
    "dkim_key_missing",
    "domain_not_found",
    "dkim_no_selector",
)


@pytest.fixture(params=list(FAULTS), scope="module")
def fault(request: pytest.FixtureRequest) -> Iterator[tuple[str, DNSTestServer]]:
    with DNSTestServer(**FAULTS[request.param]) as server:
        yield request.param, server


def assert_honest(text: str) -> None:
    assert "Traceback" not in text
    lowered = text.lower()
    for claim in (*FORBIDDEN_EN, *FORBIDDEN_CODES):
        assert claim not in lowered, claim
    for claim in FORBIDDEN_JA:
        assert claim not in text, claim


def one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, text
    return lines[0]


# -- sender ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_sender(fault: tuple[str, DNSTestServer], lang: str) -> None:
    name, server = fault
    args = ["sender", "lentrance.com", "--nameserver", server.nameserver, "--dns-timeout", "0.3"]
    result = CliRunner().invoke(main, [*args, "--lang", lang])
    assert result.exit_code == 3, result.output
    line = one_line(result.stderr)
    assert line.startswith("maildoctor: DNS is unavailable or not trusted (")
    assert WHY[name] in line
    assert_honest(result.output)
    assert "sender_dns_untrusted" in result.stdout
    assert WHY[name] in result.stdout  # the report says why, too


def test_sender_json_every_record_unknown(fault: tuple[str, DNSTestServer]) -> None:
    name, server = fault
    result = CliRunner().invoke(
        main,
        [
            "sender", "lentrance.com", "--nameserver", server.nameserver, "--dns-timeout", "0.3",
            "--ip", "192.0.2.25", "--selector", "s2048", "--format", "json",
        ],
    )  # fmt: skip
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    assert [f["code"] for f in data["findings"]] == ["sender_dns_untrusted"]
    assert WHY[name] in data["dns_untrusted"]
    for key in ("mx", "spf", "dkim", "dmarc", "ptr", "spf_result"):
        assert data["records"][key] is None, key
    assert set(data["checks"].values()) == {None}
    assert {r["met"] for r in data["requirements"]} == {None}


def test_sender_asks_nothing_past_the_canaries(fault: tuple[str, DNSTestServer]) -> None:
    _, server = fault
    server.reset()
    CliRunner().invoke(
        main, ["sender", "lentrance.com", "--nameserver", server.nameserver, "--dns-timeout", "0.3"]
    )
    asked = {(qname, qtype) for qname, qtype, _ in server.query_log}
    assert asked == {(".", "NS"), ("gmail.com.", "MX")}


# -- serve + send of a signed message ------------------------------------------------


def _serve(
    tmp_path: Path, nameserver: str, wait_for: str = "canary"
) -> tuple[subprocess.Popen[str], list[str], threading.Thread]:
    """``maildoctor serve`` in a child process, and the stderr lines it printed up to
    one containing ``wait_for`` (read by a thread, so a server that never says it is
    bounded)."""
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "maildoctor", "serve", "--smtp", "127.0.0.1:0",
            "--http", "127.0.0.1:0", "--db", str(tmp_path / "h.sqlite3"),
            "--auth-dns", nameserver,
        ],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    lines: list[str] = []
    assert proc.stderr is not None
    stream = proc.stderr

    def read() -> None:
        with contextlib.suppress(ValueError):  # closed by _stop
            lines.extend(stream)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if any(wait_for in line for line in lines):
            break
        time.sleep(0.05)
    return proc, lines, reader


def _stop(proc: subprocess.Popen[str], reader: threading.Thread) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    # The reader takes the last lines until the stream ends with the process (a fixed
    # pause could close it first, and a Traceback at exit would go unseen).
    reader.join(timeout=10)
    if proc.stderr is not None:
        proc.stderr.close()


def _api(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.load(r)


@pytest.mark.slow
@pytest.mark.parametrize("to", ["taro@softbank.ne.jp", "hanako@au.com"])
def test_serve_and_send_signed(fault: tuple[str, DNSTestServer], tmp_path: Path, to: str) -> None:
    name, server = fault
    proc, lines, reader = _serve(tmp_path, server.nameserver)
    try:
        started = "".join(lines)
        smtp = re.search(r"^SMTP\s+127\.0\.0\.1:(\d+)", started, re.M)
        web = re.search(r"^Web\s+http://127\.0\.0\.1:(\d+)/", started, re.M)
        assert smtp is not None and web is not None, started
        smtp_port, http_port = int(smtp.group(1)), int(web.group(1))
        # serve: one line at start says the auth DNS fails the canary, and why.
        [warning] = [line for line in started.splitlines() if "canary" in line]
        assert warning.startswith("warning: the DNS for DKIM/SPF/DMARC fails the canary check (")
        assert WHY[name] in warning
        sent = CliRunner().invoke(
            main,
            [
                "send", "provisional_registration", "--to", to,
                "--smtp", f"127.0.0.1:{smtp_port}", "--dkim-key", str(DKIM_KEY),
                "--dkim-selector", "s2048",
            ],
        )  # fmt: skip
        # Signed mail is delivered: the spoofing filter did not decide on a temperror
        # (SoftBank used to filter it and au to refuse it with 550 User unknown).
        assert sent.exit_code == 0, sent.output
        assert one_line(sent.stdout).startswith(f"{to}\t250 ")
        assert sent.stderr == ""
        [summary] = _api(http_port, "/api/messages")
        detail = _api(http_port, f"/api/messages/{summary['id']}")
        auth = detail["authentication"]
        assert {m: auth[m]["result"] for m in ("dkim", "spf", "dmarc")} == {
            "dkim": "temperror",
            "spf": "temperror",
            "dmarc": "temperror",
        }
        assert "canary" in auth["dkim"]["reason"]
        [decision] = detail["decisions"]
        assert (decision["outcome"], decision["rule"]) == ("delivered", "spoofing_unchecked")
        assert_honest(json.dumps(detail["decisions"]) + auth["header"])
        assert "permerror" not in auth["header"]
    finally:
        _stop(proc, reader)
    assert "Traceback" not in "".join(lines)


# -- diagnose: the spoofing-filter rows ------------------------------------------------


@pytest.mark.parametrize("address", ["taro@softbank.ne.jp", "hanako@au.com", "jiro@docomo.ne.jp"])
def test_diagnose_spoofing_row(
    fault: tuple[str, DNSTestServer], tmp_path: Path, address: str
) -> None:
    name, server = fault
    base = ["diagnose", address, "--nameserver", server.nameserver, "--dns-timeout", "0.3"]
    base += ["--db", str(tmp_path / "h.sqlite3")]
    result = CliRunner().invoke(main, [*base, "--format", "json"])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    data = json.loads(result.stdout)
    [row] = [s for s in data["trial"]["scenarios"] if s["scenario"] == "spoofing"]
    assert row["outcome"] == "unknown"
    auth = row["authentication"]
    assert auth["published"] == "unknown"
    assert auth["if_authenticated"] == "delivered"
    assert auth["if_not_authenticated"] in ("junk", "filtered", "rejected")
    assert WHY[name] in auth["why"]

    text = CliRunner().invoke(main, [*base, "--lang", "en"])
    assert text.exit_code == 3
    assert len(text.stderr.splitlines()) <= 1
    assert_honest(text.stdout)
    [note] = [line for line in text.stdout.splitlines() if "decides on the sender's" in line]
    assert "passes SPF/DKIM with DMARC alignment" in note
    assert "may or may not pass: unknown" in note
    assert WHY[name] in note
    # The lesson never says every setting let the mail through.
    assert "Every setting tried let the trial message through" not in text.stdout


def test_serve_with_truthful_dns_is_the_control(tmp_path: Path) -> None:
    """The same cell with a DNS server that answers the canaries: no warning, and the
    signed message passes (so the cells above fail for the fault, not the setup)."""
    with DNSTestServer.from_files(ZONES_DIR / "sender.zone") as server:
        proc, lines, reader = _serve(tmp_path, server.nameserver, wait_for="Auth ")
        try:
            started = "".join(lines)
            smtp = re.search(r"^SMTP\s+127\.0\.0\.1:(\d+)", started, re.M)
            web = re.search(r"^Web\s+http://127\.0\.0\.1:(\d+)/", started, re.M)
            assert smtp is not None and web is not None, started
            sent = CliRunner().invoke(
                main,
                [
                    "send", "provisional_registration", "--to", "taro@softbank.ne.jp",
                    "--smtp", f"127.0.0.1:{smtp.group(1)}", "--dkim-key", str(DKIM_KEY),
                    "--dkim-selector", "s2048",
                ],
            )  # fmt: skip
            assert sent.exit_code == 0, sent.output
            [summary] = _api(int(web.group(1)), "/api/messages")
            detail = _api(int(web.group(1)), f"/api/messages/{summary['id']}")
            assert detail["authentication"]["dkim"]["result"] == "pass"
            assert [d["rule"] for d in detail["decisions"]] == ["default"]
        finally:
            _stop(proc, reader)
    assert not [line for line in lines if "canary" in line or "Traceback" in line]


# -- check --file (the batch path asks through c-ares) ------------------------------


def test_check_file_every_row_unknown(fault: tuple[str, DNSTestServer], tmp_path: Path) -> None:
    name, server = fault
    members = tmp_path / "members.txt"
    members.write_text("taro@gmail.com\nhanako@gmial.com\njiro@example.jp\n", encoding="utf-8")
    args = ["check", "--file", str(members), "--nameserver", server.nameserver]
    result = CliRunner().invoke(
        main, [*args, "--dns-timeout", "0.3", "--format", "jsonl", "--lang", "en"]
    )
    assert result.exit_code == 3, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["verdict"] for r in rows] == ["unknown"] * 3
    codes = [f["code"] for r in rows for f in r["findings"]]
    assert "dns_unavailable" in codes
    reasons = {
        f["evidence"]["reason"]
        for r in rows
        for f in r["findings"]
        if "reason" in f.get("evidence", {})
    }
    expected = {
        "nxdomain-for-everything": "canary",
        "never-answers": "timeout",
        "servfail": "SERVFAIL",
    }
    assert reasons == {expected[name]}
    assert not set(codes) & {"domain_not_found", "null_mx", "no_mail_server", "mx_unresolvable"}


def test_check_file_and_one_address_agree(tmp_path: Path) -> None:
    """The batch path (c-ares) and the single-address path (dnspython) give one answer."""
    addresses = ["taro@gmail.com", "a@null-mx.maildoctor.test", "b@a-only.maildoctor.test",
                 "c@dangling-mx.maildoctor.test", "d@nope.maildoctor.test",
                 "e@servfail.maildoctor.test", "f@txt-only.maildoctor.test"]  # fmt: skip
    members = tmp_path / "members.txt"
    members.write_text("\n".join(addresses) + "\n", encoding="utf-8")
    with DNSTestServer.from_files(ZONES_DIR / "test.zone") as server:
        base = ["check", "--nameserver", server.nameserver, "--format", "jsonl"]
        batch = CliRunner().invoke(main, [*base, "--file", str(members)])
        one = [CliRunner().invoke(main, [*base, a]) for a in addresses]
    rows = [json.loads(line) for line in batch.stdout.splitlines()]
    singles = [json.loads(r.stdout) for r in one]
    assert [(r["verdict"], r["mx"], r["findings"]) for r in rows] == [
        (r["verdict"], r["mx"], r["findings"]) for r in singles
    ]
    assert {r["verdict"] for r in rows} >= {"ok", "undeliverable", "unknown"}
