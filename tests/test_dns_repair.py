"""DNS-assisted repair (check --dns-repair), against the loopback DNS server.

A domain that takes no mail, with no sure suggestion offline: DNS is asked about
at most three candidate repairs, and the one that takes mail becomes the suggestion;
the candidates asked are listed. Never done unless asked (the batch path included).
"""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner

from maildoctor.address.check import check_many, check_one
from maildoctor.address.dnsprobe import DNSProbe, make_resolver
from maildoctor.address.typos import repair_candidates
from maildoctor.cli import main
from tests.dnsserver import ZONES_DIR, DNSTestServer

#: aichipu.ac.jp is aichi-pu.ac.jp with the hyphen left out, or aichi-u.ac.jp with p (the
#: hyphen's neighbour) for the hyphen: two keyboard slips, a tie offline. Here only
#: aichi-pu.ac.jp takes mail; BOTH has both.
PU = """$TTL 300
$ORIGIN aichi-pu.ac.jp.
@    IN MX 10 mx.aichi-pu.ac.jp.
mx   IN A  192.0.2.50
"""
U = """$TTL 300
$ORIGIN aichi-u.ac.jp.
@    IN MX 10 mx.aichi-u.ac.jp.
mx   IN A  192.0.2.51
"""
TYPED = "taro@aichipu.ac.jp"


def _server(*extra: str) -> DNSTestServer:
    server = DNSTestServer.from_files(ZONES_DIR / "test.zone")
    for zone in extra:
        server.add_zone(zone)
    return server


def test_candidates_are_few_and_likeliest_first() -> None:
    assert repair_candidates("aichipu.ac.jp") == ("aichi-pu.ac.jp", "aichi-u.ac.jp")
    assert len(repair_candidates("ocn.ne.jpx")) <= 3
    assert repair_candidates("gmail.com") == ()  # a real domain is never repaired
    # a keyboard's edit before a far key; a mailbox subdomain keeps its first label
    assert repair_candidates("kuu.ac.jp")[0] == "kiu.ac.jp"
    assert "s.cgu.ac.jp" in repair_candidates("s.vgu.ac.jp")


def test_the_repair_that_takes_mail_is_suggested_and_the_asked_are_listed() -> None:
    with _server(PU) as server:
        offline = check_one(TYPED, offline=True)
        assert offline.suggestion is None  # a tie: not sure without DNS
        plain = check_one(TYPED, nameservers=[server.nameserver], dns_timeout=0.5)
        assert plain.suggestion is None and not plain.repairs_asked  # not asked for
        result = check_one(TYPED, nameservers=[server.nameserver], dns_timeout=0.5, repair=True)
    assert result.suggestion == "taro@aichi-pu.ac.jp"
    assert result.repairs_asked == (("aichi-pu.ac.jp", "ok"), ("aichi-u.ac.jp", "nxdomain"))
    assert "domain_not_found" in result.codes and "dns_repair_asked" in result.codes
    typo = next(f for f in result.findings if f.code == "typo_suspected")
    assert typo.evidence["rule"] == "dns_repair" and typo.evidence["likelihood"] == "likely"
    assert result.to_dict()["repairs_asked"][0] == {"domain": "aichi-pu.ac.jp", "dns": "ok"}


def test_two_repairs_that_take_mail_stay_a_tie() -> None:
    with _server(PU, U) as server:
        result = check_one(TYPED, nameservers=[server.nameserver], dns_timeout=0.5, repair=True)
    assert result.suggestion is None
    assert [status for _, status in result.repairs_asked] == ["ok", "ok"]


def test_a_weak_guess_that_takes_no_mail_is_dropped() -> None:
    """ocj.ne.jp: a weak guess of ocn.ne.jp, shown when ocj.ne.jp does not exist; with
    repair, DNS says ocn.ne.jp takes no mail here either, so nothing is suggested."""
    with _server() as server:
        plain = check_one("taro@ocj.ne.jp", nameservers=[server.nameserver], dns_timeout=0.5)
        result = check_one(
            "taro@ocj.ne.jp", nameservers=[server.nameserver], dns_timeout=0.5, repair=True
        )
    assert plain.suggestion == "taro@ocn.ne.jp"
    assert result.suggestion is None
    assert result.repairs_asked == (("ocn.ne.jp", "nxdomain"),)


def test_untrusted_dns_repairs_nothing() -> None:
    """A sinkhole (NXDOMAIN for everything, canaries too) is 'unknown': nothing to repair."""
    with DNSTestServer() as sinkhole:
        result = check_one(TYPED, nameservers=[sinkhole.nameserver], dns_timeout=0.5, repair=True)
    assert result.repairs_asked == ()
    assert "domain_not_found" not in result.codes


def test_the_batch_path_asks_only_when_told() -> None:
    async def run(repair: bool) -> tuple[list[tuple[tuple[str, str], ...]], list[str]]:
        probe = DNSProbe(make_resolver([server.nameserver], 0.5))
        found = [
            r.repairs_asked
            async for r in check_many([TYPED, "hanako@gmail.com"], probe=probe, repair=repair)
        ]
        return found, [name for name, _, _ in server.query_log]

    with _server(PU) as server:
        found, log = asyncio.run(run(False))
        assert found == [(), ()]
        assert not any(name.startswith("aichi-pu") for name in log)
        found, _ = asyncio.run(run(True))
        assert found == [(("aichi-pu.ac.jp", "ok"), ("aichi-u.ac.jp", "nxdomain")), ()]


def test_cli_flag() -> None:
    with _server(PU) as server:
        out = CliRunner().invoke(
            main,
            ["check", "--dns-repair", "--nameserver", server.nameserver, "--format", "json",
             "--lang", "en", TYPED],
        )  # fmt: skip
    data = json.loads(out.output)
    row = data[0] if isinstance(data, list) else data
    assert row["suggestion"] == "taro@aichi-pu.ac.jp"
    assert row["repairs_asked"][0] == {"domain": "aichi-pu.ac.jp", "dns": "ok"}
