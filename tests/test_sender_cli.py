"""``maildoctor sender``: the done-when run against the loopback DNS server, formats, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from tests.dnsserver import ZONES_DIR, DNSTestServer


@pytest.fixture(scope="module")
def ns() -> Iterator[str]:
    with DNSTestServer.from_files(
        ZONES_DIR / "sender.zone", timeout_names=["slow.example."]
    ) as server:
        yield server.nameserver


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["sender", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_done_when_lentrance_missing_dmarc_and_soft_spf(ns: str) -> None:
    code, out, err = _run("lentrance.com", "--nameserver", ns)
    assert code == 1 and err == ""
    assert "送信ドメイン: lentrance.com" in out
    assert "  DMARC (_dmarc.lentrance.com): (なし)" in out
    assert "  [エラー] dmarc_missing: 「lentrance.com」にDMARCレコードがありません。" in out
    assert "「_dmarc.lentrance.com」にTXTレコード「v=DMARC1; p=none; rua=mailto:" in out
    assert "  [警告] spf_soft_all: 「lentrance.com」のSPFが「~all」(softfail)です。" in out
    assert "「~all」を「-all」に変更してください。" in out


def test_full_audit_in_english(ns: str) -> None:
    code, out, _ = _run(
        "lentrance.com", "--ip", "192.0.2.25", "--selector", "s2048", "--nameserver", ns,
        "--lang", "en",
    )  # fmt: skip
    assert code == 1
    assert "Sending domain: lentrance.com (sending IP 192.0.2.25, DKIM selector s2048)" in out
    assert "[DNS lookups 0/10; 192.0.2.25: pass]" in out
    assert "[2048 bits]" in out
    assert "  Reverse DNS of 192.0.2.25: mail.lentrance.com (forward-confirmed)" in out
    assert "  [OK] Gmail (all senders, from Feb 2024)" in out
    assert "  [NG] Gmail and Yahoo bulk senders" in out


def test_json(ns: str) -> None:
    code, out, _ = _run(
        "good.example", "--ip", "192.0.2.25", "--selector", "s2048", "--nameserver", ns,
        "--format", "json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["domain"] == "good.example" and data["findings"] == []
    assert data["checks"] == {
        "spf": True, "dkim": True, "dmarc": True, "enforced": True, "aligned": True, "ptr": True,
        "bimi": False,
    }  # fmt: skip
    assert data["records"]["dmarc"] == ["v=DMARC1; p=reject; rua=mailto:dmarc-reports@good.example"]


def test_json_findings_have_the_contract_shape(ns: str) -> None:
    _, out, _ = _run("plusall.example", "--nameserver", ns, "--format", "json", "--lang", "en")
    first = json.loads(out)["findings"][0]
    assert set(first) == {"code", "severity", "message", "advice", "evidence"}
    assert first["code"] == "spf_plus_all"
    assert first["evidence"] == {"domain": "plusall.example", "record": "v=spf1 +all"}


def test_dns_timeout_exits_3(ns: str) -> None:
    code, out, _ = _run("slow.example", "--nameserver", ns, "--dns-timeout", "0.3", "--lang", "en")
    assert code == 3
    assert "DMARC (_dmarc.slow.example): (unknown: no DNS answer)" in out
    assert "[info] sender_dns_unavailable" in out


def test_nameserver_from_environment(ns: str) -> None:
    result = CliRunner(env={"MAILDOCTOR_NAMESERVER": ns}).invoke(
        main, ["sender", "good.example", "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    assert "No problems found." not in result.stdout  # dkim_no_selector is an info finding
    assert "[info] dkim_no_selector" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not a domain"], "'not a domain' is not a domain name"),
        (["lentrance.com", "--ip", "300.1.1.1"], "'300.1.1.1' is not an IP address"),
        (["lentrance.com", "--nameserver", "127.0.0.1:port"], "has no valid port"),
        (["lentrance.com", "--selector", "a b"], "'a b' is not a DKIM selector"),
    ],
    ids=["domain", "ip", "nameserver", "selector"],
)
def test_usage_errors(args: list[str], message: str) -> None:
    code, out, err = _run(*args)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err
