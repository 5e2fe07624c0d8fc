"""Issue 23: MTA-STS (policy over HTTPS with a test CA), TLS-RPT, BIMI, DANE with and
without the AD flag, DMARC report authorisation, SPF void lookups, the receivers'
table and IDN sending domains, against the loopback DNS server and an HTTPS server on
127.0.0.1; and "unknown", never "missing", when DNS or HTTPS cannot be trusted."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from maildoctor.cli import main
from maildoctor.sender.auth import make_resolver
from maildoctor.sender.domain_audit import HttpsOptions, SenderAudit, audit
from maildoctor.sender.policies import BIMI_EKU, LOGOTYPE_EXT
from maildoctor.sender.policy_parse import mx_matches, parse_mta_sts_policy, svg_problems
from maildoctor.sender.receivers import receiver_for_carrier, receiver_rows
from tests.dnsserver import ZONES_DIR, DNSTestServer
from tests.httpsserver import HTTPSTestServer, TestCA, make_certificate

ZONES = (ZONES_DIR / "sender.zone", ZONES_DIR / "policies.zone")
GOOD_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" version="1.2" baseProfile="tiny-ps" '
    b'viewBox="0 0 100 100"><title>Lentrance</title><rect width="100" height="100"/></svg>'
)
BAD_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9"><script>x()</script></svg>'
POLICY = "/.well-known/mta-sts.txt"


def _vmc(ca: TestCA) -> bytes:
    from cryptography.hazmat.primitives import serialization

    _, cert = make_certificate(
        ca.key,
        ca.cert.subject,
        "Lentrance mark",
        names=["sts.example"],
        extensions=[
            x509.ExtendedKeyUsage([ObjectIdentifier(BIMI_EKU)]),
            x509.UnrecognizedExtension(ObjectIdentifier(LOGOTYPE_EXT), b"\x30\x00"),
        ],
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def web(ca: TestCA) -> Iterator[HTTPSTestServer]:
    routes = {
        ("mta-sts.sts.example", POLICY): (
            200,
            "text/plain",
            b"version: STSv1\r\nmode: enforce\r\nmx: mx.sts.example\r\nmax_age: 604800\r\n",
        ),
        ("mta-sts.mismatch.example", POLICY): (
            200,
            "text/plain",
            b"version: STSv1\nmode: enforce\nmx: *.other.example\nmax_age: 86400\n",
        ),
        ("mta-sts.mismatch.example", "/logo.svg"): (200, "image/svg+xml", BAD_SVG),
        ("mta-sts.nopolicy.example", "/other"): (200, "text/plain", b""),
        ("bimi.sts.example", "/logo.svg"): (200, "image/svg+xml", GOOD_SVG),
        ("bimi.sts.example", "/vmc.pem"): (200, "application/x-pem-file", _vmc(ca)),
    }
    with HTTPSTestServer(ca, routes) as server:
        yield server


@pytest.fixture(scope="module")
def dns_server() -> Iterator[DNSTestServer]:
    with DNSTestServer.from_files(*ZONES, authenticated_names=["mx.sts.example."]) as server:
        yield server


def _audit(domain: str, ns: str, ca: TestCA | None, port: int, **kw: str) -> SenderAudit:
    https = HttpsOptions(cafile=str(ca.pem_path) if ca else None, port=port, timeout=2)
    return audit(domain, resolver=make_resolver([ns], timeout=1), lang="en", https=https, **kw)


def test_everything_right(dns_server: DNSTestServer, ca: TestCA, web: HTTPSTestServer) -> None:
    result = _audit(
        "sts.example", dns_server.nameserver, ca, web.port, ip="192.0.2.25", selector="s2048"
    )
    p = {name: check.to_dict() for name, check in result.policies.items()}
    assert p["mta_sts"]["status"] == "ok"
    assert p["mta_sts"]["mode"] == "enforce" and p["mta_sts"]["mx_not_matched"] == []
    assert p["mta_sts"]["max_age"] == 604800
    assert p["tls_rpt"] == {
        "status": "ok",
        "name": "_smtp._tls.sts.example",
        "record": "v=TLSRPTv1; rua=mailto:tls-reports@sts.example",
        "rua": ["mailto:tls-reports@sts.example"],
    }
    assert p["bimi"]["status"] == "ok" and p["bimi"]["svg_problems"] == []
    assert p["bimi"]["vmc"] is True
    assert p["bimi"]["certificate"]["names"] == ["sts.example"]
    assert p["dane"]["status"] == "ok"
    assert p["dane"]["hosts"][0]["host"] == "mx.sts.example"
    assert p["dane"]["hosts"][0]["authenticated"] is True
    assert p["dmarc_reports"]["status"] == "ok"
    outside = [a for a in p["dmarc_reports"]["addresses"] if a["outside"]]
    assert outside == [
        {
            "tag": "rua",
            "uri": "mailto:agg@reports.example",
            "outside": True,
            "authorized": True,
            "authorization_name": "sts.example._report._dmarc.reports.example",
        }
    ]
    assert [f.code for f in result.findings] == []
    treatments = {r.receiver: r.treatment for r in result.receivers}
    assert treatments == {
        "docomo": "no_banner",
        "softbank": "passes",
        "au": "passes_with_logo",
        "gmail": "meets_bulk_rules",
        "yahoo": "passes",
    }
    assert ("bimi.sts.example", "/vmc.pem") in web.requests


def test_what_is_wrong_is_named(
    dns_server: DNSTestServer, ca: TestCA, web: HTTPSTestServer
) -> None:
    result = _audit("mismatch.example", dns_server.nameserver, ca, web.port)
    status = {name: check.status for name, check in result.policies.items()}
    assert status == {
        "mta_sts": "invalid",
        "tls_rpt": "invalid",
        "bimi": "invalid",
        "dane": "not_validated",  # TLSA without the AD flag
        "dmarc_reports": "invalid",
    }
    by_code = {f.code: f for f in result.findings}
    assert by_code["mta_sts_mx_mismatch"].message.startswith(
        "The MTA-STS policy's mx lines (*.other.example, mode enforce) do not match the MX "
        'mx.mismatch.example of "mismatch.example"'
    )
    assert "ftp://reports.mismatch.example" in by_code["tls_rpt_invalid"].message
    bimi = by_code["bimi_invalid"].message
    assert "DMARC is not enforced (p=none)" in bimi and "contains <script>" in bimi
    assert by_code["dane_not_validated"].evidence["hosts"] == "mx.mismatch.example"
    assert by_code["dmarc_report_not_authorized"].evidence["name"] == (
        "mismatch.example._report._dmarc.elsewhere.example"
    )
    assert by_code["dmarc_removed_tags"].evidence["tags"] == "pct"
    assert result.checks["bimi"] is False


def test_a_policy_the_host_does_not_serve(
    dns_server: DNSTestServer, ca: TestCA, web: HTTPSTestServer
) -> None:
    result = _audit("nopolicy.example", dns_server.nameserver, ca, web.port)
    assert result.policies["mta_sts"].status == "invalid"
    finding = next(f for f in result.findings if f.code == "mta_sts_policy_missing")
    assert finding.evidence["detail"] == "HTTP 404"


def test_spf_void_lookups(dns_server: DNSTestServer, ca: TestCA, web: HTTPSTestServer) -> None:
    result = _audit("void.example", dns_server.nameserver, ca, web.port)
    assert result.records["spf_void_lookups"] == 3
    assert "spf_too_many_void_lookups" in [f.code for f in result.findings]
    assert result.checks["spf"] is False
    good = _audit("sts.example", dns_server.nameserver, ca, web.port)
    assert good.records["spf_void_lookups"] == 0


# -- unknown, never missing ---------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("case", ["untrusted-certificate", "refused"])
def test_https_that_cannot_be_trusted_is_unknown(
    dns_server: DNSTestServer, ca: TestCA, web: HTTPSTestServer, case: str
) -> None:
    if case == "untrusted-certificate":  # the system's CAs do not know the test CA
        result = _audit("nopolicy.example", dns_server.nameserver, None, web.port)
    else:
        result = _audit("nopolicy.example", dns_server.nameserver, ca, _closed_port())
    check = result.policies["mta_sts"]
    assert check.status == "unknown"
    assert ("TLS certificate not trusted" if case != "refused" else "connection refused") in (
        check.why_unknown
    )
    codes = [f.code for f in result.findings]
    assert "mta_sts_policy_missing" not in codes and "mta_sts_invalid" not in codes
    assert "sender_policy_unknown" in codes


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["servfail_names", "timeout_names"])
def test_dns_faults_make_each_policy_unknown(fault: str, ca: TestCA, web: HTTPSTestServer) -> None:
    names = ["_mta-sts.sts.example.", "_smtp._tls.sts.example.", "default._bimi.sts.example.",
             "_25._tcp.mx.sts.example.", "sts.example._report._dmarc.reports.example."]  # fmt: skip
    with DNSTestServer.from_files(*ZONES, **{fault: names}) as server:  # type: ignore[arg-type]
        result = _audit("sts.example", server.nameserver, ca, web.port)
    assert {n: c.status for n, c in result.policies.items()} == dict.fromkeys(
        ("mta_sts", "tls_rpt", "bimi", "dane", "dmarc_reports"), "unknown"
    )
    assert result.checks["bimi"] is None
    unknown = [f for f in result.findings if f.code == "sender_policy_unknown"]
    assert len(unknown) == 5
    assert not [f for f in result.findings if f.severity != "info"]
    au = receiver_for_carrier(result.checks, "au", "en")
    assert au is not None and au.treatment == "unknown" and au.unknown_checks == ("dkim",)


def test_lying_resolver_makes_every_row_unknown(ca: TestCA, web: HTTPSTestServer) -> None:
    asked = len(web.requests)
    with DNSTestServer() as sinkhole:  # NXDOMAIN for everything, the canaries too
        result = CliRunner().invoke(
            main,
            ["sender", "sts.example", "--nameserver", sinkhole.nameserver, "--format", "json",
             "--ca-file", str(ca.pem_path), "--https-port", str(web.port)],
        )  # fmt: skip
    assert result.exit_code == 3, result.output
    data = json.loads(result.stdout)
    for name in ("mta_sts", "tls_rpt", "bimi", "dane"):
        assert data[name]["status"] == "unknown"
    assert {row["treatment"] for row in data["receivers"]} == {"unknown"}
    assert len(web.requests) == asked  # nothing fetched on an untrusted resolver's word


# -- the CLI: JSON objects, the receivers' table, IDN ----------------------------------------


def test_cli_json_and_text(dns_server: DNSTestServer, ca: TestCA, web: HTTPSTestServer) -> None:
    args = ["sender", "sts.example", "--nameserver", dns_server.nameserver, "--ca-file",
            str(ca.pem_path), "--https-port", str(web.port)]  # fmt: skip
    out = CliRunner().invoke(main, [*args, "--format", "json"])
    data = json.loads(out.stdout)
    assert data["mta_sts"]["status"] == "ok" and data["dane"]["status"] == "ok"
    rows = {row["receiver"]: row for row in data["receivers"]}
    assert list(rows) == ["docomo", "softbank", "au", "gmail", "yahoo"]
    assert rows["docomo"]["treatment"] == "no_banner"
    assert rows["docomo"]["source"].startswith("https://www.docomo.ne.jp/")
    assert rows["gmail"]["treatment"] == "unknown" and rows["gmail"]["unknown_checks"] == ["ptr"]
    text = CliRunner().invoke(main, [*args, "--lang", "en"]).stdout
    assert "  MTA-STS: ok (mode=enforce, mx=mx.sts.example)" in text
    assert "  DANE: ok (mx.sts.example 1 TLSA)" in text
    assert "What each receiver will do:" in text
    assert "  docomo mail: DMARC passes: no spoofing warning is shown." in text


def test_idn_sending_domain(dns_server: DNSTestServer) -> None:
    out = CliRunner().invoke(
        main, ["sender", "例え.jp", "--nameserver", dns_server.nameserver, "--format", "json"]
    )
    assert out.exit_code in (0, 1), out.output
    data = json.loads(out.stdout)
    assert data["domain"] == "xn--r8jz45g.jp"
    assert data["records"]["dmarc"] == ["v=DMARC1; p=quarantine; rua=mailto:dmarc@xn--r8jz45g.jp"]
    text = CliRunner().invoke(main, ["sender", "例え.jp", "--nameserver", dns_server.nameserver])
    assert text.stdout.startswith("送信ドメイン: 例え.jp (xn--r8jz45g.jp)")
    bad = CliRunner().invoke(main, ["sender", "例え..jp"])
    assert bad.exit_code == 2 and "is not a domain name" in bad.stderr


# -- the pure parts ------------------------------------------------------------------------


def test_policy_parsers() -> None:
    policy = parse_mta_sts_policy(
        "version: STSv1\nmode: testing\nmx: *.a.example\nmax_age: 99999999999"
    )
    assert policy.mode == "testing" and policy.max_age is None
    assert policy.problems == ("max_age is '99999999999', not 0..31557600 seconds",)
    assert mx_matches("mx1.a.example", ["*.a.example"])
    assert not mx_matches("x.mx1.a.example", ["*.a.example"])  # one label only (RFC 8461 4.1)
    assert not mx_matches("a.example", ["*.a.example"])
    assert svg_problems(GOOD_SVG) == ()
    assert svg_problems(b'<!DOCTYPE svg [<!ENTITY a "b">]><svg/>') == ("declares XML entities",)


def test_receivers_rows_follow_the_checks() -> None:
    base = {"spf": True, "dkim": True, "dmarc": True, "enforced": True, "aligned": True,
            "ptr": True, "bimi": False}  # fmt: skip
    rows = {r.receiver: r for r in receiver_rows(base, "ja")}
    assert rows["au"].treatment == "passes"
    no_dmarc = {r.receiver: r.treatment for r in receiver_rows({**base, "dmarc": False}, "en")}
    assert no_dmarc["docomo"] == "warning_banner"
    assert no_dmarc["softbank"] == "passes_on_spf"
    assert no_dmarc["gmail"] == "bulk_rules_not_met"
    failing = {r.receiver: r.treatment for r in receiver_rows({**base, "aligned": False}, "en")}
    assert failing["softbank"] == "spoofing_filter_rejects"
    assert failing["yahoo"] == "spam_or_refused"
    no_ptr = {r.receiver: r.treatment for r in receiver_rows({**base, "ptr": False}, "en")}
    assert no_ptr["gmail"] == "rejected_or_spam"
    assert (
        "なりすまし警告"
        in {r.receiver: r for r in receiver_rows({**base, "dmarc": False})}["docomo"].text
    )
    ymobile = receiver_for_carrier(base, "ymobile", "en")
    assert ymobile is not None and ymobile.receiver == "softbank"


def test_every_receiver_row_has_its_own_source() -> None:
    for row in receiver_rows({}, "en"):
        assert row.source.startswith("https://"), row
        assert row.treatment == "unknown"  # nothing known: nothing claimed


def test_the_diagnose_spoofing_row_uses_the_same_receivers_facts(
    dns_server: DNSTestServer,
) -> None:
    from maildoctor.diagnose.spoofing import SenderAuth

    resolver = make_resolver([dns_server.nameserver], timeout=1)
    result = audit("lentrance.com", resolver=resolver, lang="ja")  # no DMARC record
    auth = SenderAuth(audit=result)
    row = auth.receiver("docomo")
    assert row == next(r.to_dict() for r in result.receivers if r.receiver == "docomo")
    assert row is not None and row["treatment"] == "warning_banner"
    assert (
        row["source"]
        == "https://www.docomo.ne.jp/binary/pdf/info/news_release/topics_240522_00.pdf"
    )
    ymobile = auth.receiver("ymobile")
    assert ymobile is not None and ymobile["receiver"] == "softbank"
    assert SenderAuth(audit=None, reason="offline").receiver("docomo") is None


def test_every_sending_ip_gets_fcrdns_and_spf(dns_server: DNSTestServer) -> None:
    args = ["sender", "lentrance.com", "--nameserver", dns_server.nameserver, "--selector",
            "s2048", "--sending-ip", "192.0.2.25", "--sending-ip", "198.51.100.7",
            "--sending-ip", "198.51.100.8"]  # fmt: skip
    data = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).stdout)
    assert data["records"]["sending_ips"] == [
        {"ip": "192.0.2.25", "ptr": ["mail.lentrance.com"],
         "ptr_confirmed": ["mail.lentrance.com"], "fcrdns": True, "spf": "pass"},
        {"ip": "198.51.100.7", "ptr": [], "ptr_confirmed": [], "fcrdns": False,
         "spf": "softfail"},
        {"ip": "198.51.100.8", "ptr": ["unrelated-host.example"], "ptr_confirmed": [],
         "fcrdns": False, "spf": "softfail"},
    ]  # fmt: skip
    ips = [f["evidence"]["ip"] for f in data["findings"] if f["code"] == "spf_ip_not_permitted"]
    assert ips == ["198.51.100.7", "198.51.100.8"]
    assert {"ptr_missing", "ptr_mismatch"} <= {f["code"] for f in data["findings"]}
    assert data["checks"]["ptr"] is False and data["checks"]["spf"] is False
    text = CliRunner().invoke(main, [*args, "--lang", "en"]).stdout
    assert (
        "  Reverse DNS of 198.51.100.8: unrelated-host.example (does not resolve back); "
        "SPF: softfail" in text
    )
    with DNSTestServer() as sinkhole:
        untrusted = CliRunner().invoke(
            main, [*args[:2], "--nameserver", sinkhole.nameserver, *args[4:], "--format", "json"]
        )
    rows = json.loads(untrusted.stdout)["records"]["sending_ips"]
    assert [(r["ip"], r["fcrdns"], r["spf"]) for r in rows] == [
        ("192.0.2.25", None, None), ("198.51.100.7", None, None), ("198.51.100.8", None, None),
    ]  # fmt: skip
