"""The loopback DNS server itself answers like a real one (UDP, TCP, rcodes)."""

from __future__ import annotations

import dns.exception
import dns.message
import dns.query
import dns.rcode
import pytest

from tests.dnsserver import DNSTestServer


@pytest.mark.parametrize(
    ("name", "rdtype", "rcode", "answers"),
    [
        ("gmail.com", "MX", "NOERROR", 2),
        (".", "NS", "NOERROR", 1),
        ("gmial.com", "MX", "NXDOMAIN", 0),
        ("txt-only.maildoctor.test", "MX", "NOERROR", 0),
        ("null-mx.maildoctor.test", "MX", "NOERROR", 1),
        ("servfail.maildoctor.test", "MX", "SERVFAIL", 0),
        ("refused.maildoctor.test", "A", "REFUSED", 0),
    ],
    ids=["mx", "root-ns", "nxdomain", "nodata", "null-mx", "servfail", "refused"],
)
@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_answers(
    dns_server: DNSTestServer, name: str, rdtype: str, rcode: str, answers: int, tcp: bool
) -> None:
    query = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    response = send(query, "127.0.0.1", port=dns_server.port, timeout=2)
    assert dns.rcode.to_text(response.rcode()) == rcode
    assert sum(len(rrset) for rrset in response.answer) == answers


def test_timeout_name_is_never_answered(dns_server: DNSTestServer) -> None:
    query = dns.message.make_query("x.timeout.maildoctor.test", "A")
    with pytest.raises(dns.exception.Timeout):
        dns.query.udp(query, "127.0.0.1", port=dns_server.port, timeout=0.3)


def test_tcp_only_name_truncates_over_udp(dns_server: DNSTestServer) -> None:
    query = dns.message.make_query("tcp-only.maildoctor.test", "MX")
    response, used_tcp = dns.query.udp_with_fallback(
        query, "127.0.0.1", port=dns_server.port, timeout=2
    )
    assert used_tcp
    assert len(response.answer) == 1


def test_counter_and_reset(dns_server: DNSTestServer) -> None:
    query = dns.message.make_query("gmail.com", "MX")
    dns.query.udp(query, "127.0.0.1", port=dns_server.port, timeout=2)
    dns.query.tcp(query, "127.0.0.1", port=dns_server.port, timeout=2)
    assert dns_server.queries == 2
    assert [entry[2] for entry in dns_server.query_log] == ["udp", "tcp"]
    dns_server.reset()
    assert dns_server.queries == 0


def test_delay_and_extra_zone() -> None:
    with DNSTestServer('extra.test. 60 IN TXT "hi"', delay=0.05) as server:
        query = dns.message.make_query("extra.test", "TXT")
        response = dns.query.udp(query, "127.0.0.1", port=server.port, timeout=2)
        assert str(response.answer[0][0]) == '"hi"'
    assert server.nameserver == f"127.0.0.1:{server.port}"
