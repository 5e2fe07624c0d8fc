"""``maildoctor serve``'s sign-up options: parsed up front, and wired into the running server."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--cors-origin", "lentrance.com"], "is not an origin: write scheme://host[:port]"),
        (["--cors-origin", "https://lentrance.com/signup"], "(no path)"),
        (["--cors-origin", "ftp://lentrance.com"], "is not an origin"),
        (["--check-rate", "lots"], "is not a rate: write N/min, N/s or N/h"),
        (["--check-dns", "dns.example"], "is not an IP address"),
        (["--check-dns", "off", "--check-dns", "127.0.0.1"], "'system' and 'off' stand alone"),
        (["--check-dns-timeout", "0"], "--check-dns-timeout"),
    ],
)
def test_bad_options_are_usage_errors(args: list[str], error: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "h.sqlite3"), *args])
    assert result.exit_code == 2
    assert error in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_wires_cors_and_the_rate_limit(tmp_path: Path, nameserver: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "maildoctor", "serve", "--smtp", "127.0.0.1:0", "--http",
         "127.0.0.1:0", "--db", str(tmp_path / "h.sqlite3"), "--auth-dns", "off",
         "--cors-origin", "https://lentrance.com", "--check-rate", "2/min",
         "--check-dns", nameserver],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        url = None
        for _ in range(20):
            line = proc.stderr.readline()
            if match := re.match(r"Web\s+(http://\S+)/", line):
                url = match.group(1)
                break
        assert url, "serve did not print its web address"

        def get(origin: str) -> tuple[int, dict[str, str], dict[str, object]]:
            request = urllib.request.Request(
                f"{url}/api/check?address=taro@gmial.com", headers={"Origin": origin}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as r:
                    return r.status, dict(r.headers), json.load(r)
            except urllib.error.HTTPError as e:
                with e:
                    return e.code, dict(e.headers), json.load(e)

        status, headers, data = get("https://lentrance.com")
        assert status == 200
        assert headers["Access-Control-Allow-Origin"] == "https://lentrance.com"
        assert data["suggestion"] == "taro@gmail.com"
        assert data["block"] is True  # gmial.com: NXDOMAIN from the truthful test server
        assert get("https://evil.example")[0] == 403  # refused before it costs anything
        assert get("https://lentrance.com")[0] == 200
        status, headers, _ = get("https://lentrance.com")
        assert status == 429
        assert int(headers["Retry-After"]) >= 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
