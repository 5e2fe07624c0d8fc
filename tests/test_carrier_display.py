"""Carrier display: what docomo, SoftBank and au show for the From domain, from the sender
audit against the loopback DNS server (tests/data/zones/sender.zone), and "unknown",
never "no DMARC", when DNS cannot be trusted."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.mail.templating import ENV_VAR
from maildoctor.sender.carrier_display import carrier_display
from tests.dnsserver import ZONES_DIR, DNSTestServer
from tests.previewproc import running_preview

REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.fixture
def sender_dns() -> Iterator[str]:
    with DNSTestServer.from_files(ZONES_DIR / "sender.zone") as server:
        yield server.nameserver


@pytest.fixture(autouse=True)
def _shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def lint(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["lint", "--carrier-display", "--format", "json", *args])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def test_no_dmarc_means_the_docomo_banner(sender_dns: str) -> None:
    code, doc = lint("password_reset", "--nameserver", sender_dns, "--dns-timeout", "2")
    assert code == 1
    [result] = doc["results"]
    found = {(f["code"], f["carrier"]) for f in result["findings"]}
    assert found == {("carrier_spoofing_warning", "docomo"), ("carrier_may_filter", "au")}
    rows = {r["receiver"]: r for r in result["carrier_display"]["rows"]}
    assert rows["docomo"]["treatment"] == "warning_banner" and rows["docomo"]["since"] == "2024-10"
    assert rows["softbank"]["treatment"] == "passes_on_spf"
    assert rows["au"]["treatment"] == "may_be_filtered"
    assert result["carrier_display"]["dns_untrusted"] is None


def test_carrier_findings_can_be_allowed_per_carrier(sender_dns: str) -> None:
    allow = ["--allow", "carrier_spoofing_warning:docomo"]
    code, doc = lint("password_reset", "--nameserver", sender_dns, *allow)
    assert code == 0 and doc["allowed"] == 1


def test_a_domain_with_dmarc_shows_no_banner(sender_dns: str, tmp_path: Path) -> None:
    msg = EmailMessage()
    msg["From"] = "no-reply@good.example"
    msg["To"] = "taro@docomo.ne.jp"
    msg["Subject"] = "x"
    msg.set_content("x\n")
    (tmp_path / "good.eml").write_bytes(bytes(msg))
    _, doc = lint("--eml", str(tmp_path / "good.eml"), "--nameserver", sender_dns)
    [result] = doc["results"]
    assert not [f for f in result["findings"] if f["code"].startswith("carrier_")]
    rows = {r["receiver"]: r["treatment"] for r in result["carrier_display"]["rows"]}
    assert rows["docomo"] == "no_banner"
    assert result["carrier_display"]["domain"] == "good.example"


def test_untrusted_dns_is_unknown_and_could_not_run() -> None:
    display = carrier_display("lentrance.com", nameservers=["127.0.0.1:9"], timeout=0.3, lang="en")
    assert display.untrusted is not None
    assert {r.treatment for r in display.rows} == {"unknown"}
    assert not any("No DMARC" in r.text for r in display.rows)  # unknown, never "missing"
    code, doc = lint("password_reset", "--nameserver", "127.0.0.1:9", "--dns-timeout", "0.3")
    assert code == 4
    assert "DNS not trusted" not in json.dumps(doc)  # JSON says it as dns_untrusted
    assert doc["results"][0]["carrier_display"]["dns_untrusted"]


def test_a_malformed_nameserver_is_a_usage_error() -> None:
    result = CliRunner().invoke(
        main, ["lint", "password_reset", "--carrier-display", "--nameserver", "not an ip"]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_the_preview_shows_the_carrier_display(sender_dns: str, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(REPO_TEMPLATES, tmp_path / "templates"))
    display = partial(carrier_display, nameservers=[sender_dns], timeout=2)
    with running_preview(folder, display=display) as base:
        shown = _get(base + "/api/preview/password_reset")["carrier_display"]
    assert shown["ran"] and shown["domain"] == "lentrance.com"
    docomo = next(r for r in shown["rows"] if r["receiver"] == "docomo")
    assert docomo["treatment"] == "warning_banner"
    assert "このメールは送信ドメイン認証が行われておりません" in docomo["text"]
    with running_preview(folder) as base:
        assert _get(base + "/api/preview/password_reset?lang=en")["carrier_display"] == {
            "ran": False, "why": "start the preview with --carrier-display",
        }  # fmt: skip


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return dict(json.loads(r.read()))
