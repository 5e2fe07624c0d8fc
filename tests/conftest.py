"""Shared fixtures: a real DNS server on loopback serving tests/data/zones/test.zone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dnsserver import ZONES_DIR, DNSTestServer


@pytest.fixture
def dns_server() -> Iterator[DNSTestServer]:
    """A started authoritative DNS server loaded with test.zone (see tests/dnsserver.py)."""
    with DNSTestServer.from_files(ZONES_DIR / "test.zone") as server:
        yield server


@pytest.fixture
def nameserver(dns_server: DNSTestServer) -> str:
    """The fixture server as ``"127.0.0.1:PORT"`` (what ``--nameserver`` takes)."""
    return dns_server.nameserver
