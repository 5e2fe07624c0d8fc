"""``lint --check-links``: a real HTTP server on 127.0.0.1, refused unless a test allows it."""

from __future__ import annotations

import http.server
import ipaddress
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.mail.linkcheck import check_links, link_findings, refusal

LOOPBACK = [ipaddress.ip_network("127.0.0.1/32")]


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def _answer(self) -> None:
        _Handler.seen.append((self.command, self.path))
        if self.path == "/no-head" and self.command == "HEAD":
            self.send_response(405)
        elif self.path == "/gone":
            self.send_response(404)
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/ok")
        elif self.path == "/to-metadata":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.seen.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_loopback_is_refused_and_never_contacted(web: str) -> None:
    [result] = check_links([web + "/ok"], timeout=3)
    assert result.refused is not None and result.refused.kind == "loopback"
    assert _Handler.seen == []  # refused before connecting
    [finding] = link_findings([result])
    assert finding.code == "link_refused"
    assert "127.0.0.1, a loopback address --check-links never contacts" in finding.message


def test_a_name_resolving_to_loopback_is_refused(web: str) -> None:
    port = web.rsplit(":", 1)[1]
    [result] = check_links([f"http://localhost:{port}/ok"], timeout=3)
    assert result.refused is not None and result.refused.address in ("127.0.0.1", "::1")
    assert _Handler.seen == []


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("172.16.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("203.0.113.5", "private"),  # documentation range: not the public internet
        ("93.184.216.34", None),
    ],
)
def test_refusal_kinds(address: str, kind: str | None) -> None:
    assert refusal(address) == kind


def test_the_test_override_reaches_the_server(web: str) -> None:
    urls = [web + p for p in ("/ok", "/no-head", "/gone", "/moved", "/loop")]
    results = {r.url.rsplit("/", 1)[1]: r for r in check_links(urls, timeout=3, allow=LOOPBACK)}
    assert (results["ok"].status, results["ok"].method) == (200, "HEAD")
    assert (results["no-head"].status, results["no-head"].method) == (200, "GET")  # HEAD, then GET
    assert (results["gone"].status, results["gone"].ok) == (404, False)
    assert results["moved"].ok and ("HEAD", "/ok") in _Handler.seen
    assert results["loop"].error == "more than 5 redirects"
    assert {f.code for f in link_findings(results.values())} == {"link_unreachable"}


def test_a_redirect_to_an_internal_address_is_refused(web: str) -> None:
    [result] = check_links([web + "/to-metadata"], timeout=3, allow=LOOPBACK)
    assert result.refused is not None and result.refused.address == "169.254.169.254"


def test_a_silent_server_times_out() -> None:
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        [result] = check_links([url], timeout=0.5, allow=LOOPBACK)
    assert result.error == "no answer within 0.5 s"


def test_cli_check_links_refuses_a_loopback_link(web: str, tmp_path: Path) -> None:
    """A template linking to the local server: the CLI refuses it and fails the build."""
    import shutil

    folder = Path(shutil.copytree(Path(__file__).parent.parent / "templates", tmp_path / "t"))
    for name in ("body.txt.j2", "body.html.j2"):
        path = folder / "password_reset" / name
        path.write_text(path.read_text("utf-8").replace("{{ site.login_url }}", web + "/ok"))
    result = CliRunner().invoke(
        main,
        ["lint", "password_reset", "--templates", str(folder), "--lang", "en", "--check-links",
         "--allow", "link_foreign_domain", "--allow", "link_not_https"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert f"error: link_refused: The link '{web}/ok' was not opened: '127.0.0.1' is 127.0.0.1" in (
        result.output
    )
    assert _Handler.seen == []
