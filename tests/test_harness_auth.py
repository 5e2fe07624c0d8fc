"""The harness verifies DKIM, SPF and DMARC of each message over real SMTP, against a
real DNS server on loopback serving tests/data/zones/sender.zone, stamps its stored
copy with Authentication-Results, and the spoofing filters decide with it."""

from __future__ import annotations

import json
import smtplib
import threading
import urllib.request
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.harness.policy import Outcome, Profile
from maildoctor.harness.server import AuthConfigError, HarnessThread
from maildoctor.harness.store import StoredMessage
from maildoctor.pytest_plugin import HarnessFixture
from maildoctor.sender.auth import dkim_sign, parse_authentication_results
from maildoctor.web.app import run_in_thread
from tests.dnsserver import ZONES_DIR, DNSTestServer

DKIM_DIR = Path(__file__).parent / "data" / "dkim"
KEY_2048 = DKIM_DIR / "test-only-2048.private.pem"
AUTHSERV = "maildoctor.harness"


@pytest.fixture(scope="module")
def sender_dns() -> Iterator[DNSTestServer]:
    with DNSTestServer.from_files(ZONES_DIR / "sender.zone") as server:
        yield server


@pytest.fixture
def harness(tmp_path: Path, sender_dns: DNSTestServer) -> Iterator[HarnessThread]:
    with run_in_thread(tmp_path / "h.sqlite3", auth_nameservers=(sender_dns.nameserver,)) as h:
        yield h


def wire(
    domain: str = "lentrance.com", body: str = "https://lentrance.com/register?t=abc\n"
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Lentrance <no-reply@{domain}>"
    msg["To"] = "taro@softbank.ne.jp"
    msg["Subject"] = "[Lentrance]仮登録完了のお知らせ"
    msg["Message-ID"] = f"<auth-1@{domain}>"
    msg["Date"] = "Mon, 23 Nov 2026 10:00:00 +0900"
    msg.set_content(body)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def signed(domain: str = "lentrance.com") -> bytes:
    return dkim_sign(wire(domain), selector="s2048", domain=domain, key_pem=KEY_2048.read_bytes())


def tampered() -> bytes:
    return signed().replace(b"t=abc", b"t=evil")


def forged_pass() -> bytes:
    """Unsigned, carrying headers that claim our verdict (and another verifier's)."""
    return (
        f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=lentrance.com; spf=pass;\r\n"
        " dmarc=pass\r\n"
        "Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=lentrance.com\r\n"
    ).encode() + wire()


def send(h: HarnessThread, raw: bytes, *, mail_from: str, to: str = "taro@softbank.ne.jp") -> str:
    with smtplib.SMTP(*h.smtp_address, timeout=10) as smtp:
        smtp.ehlo("sender.lentrance.com")
        smtp.mail(mail_from)
        smtp.rcpt(to)
        code, text = smtp.data(raw)
    return f"{code} {text.decode()}"


def api(h: HarnessThread, stored: StoredMessage) -> dict[str, object]:
    with urllib.request.urlopen(f"{h.http_url}/api/messages/{stored.id}", timeout=10) as r:
        doc: dict[str, object] = json.load(r)
    return doc


def results(stored: StoredMessage) -> dict[str, str]:
    """method -> result word of the harness's own header (the first field)."""
    first = stored.raw.split(b"\r\n\r\n", 1)[0]
    assert first.startswith(b"Authentication-Results: maildoctor.harness;")
    [ours] = [v for v in stored.message.get_all("Authentication-Results", []) if AUTHSERV in str(v)]
    server, methods = parse_authentication_results(str(ours))
    assert server == AUTHSERV
    return {m: info["result"] for m, info in methods.items()}


def res(dkim: str, spf: str, dmarc: str) -> dict[str, str]:
    return {"dkim": dkim, "spf": spf, "dmarc": dmarc}


LENT, GOOD = "bounce@lentrance.com", "b@good.example"
CASES: list[tuple[str, Callable[[], bytes], str, dict[str, str]]] = [
    # 127.0.0.1 is not in lentrance.com's "ip4:192.0.2.25 ip4:192.0.2.26 ~all", and
    # lentrance.com publishes no DMARC record.
    ("signed", signed, LENT, res("pass", "softfail", "none")),
    ("tampered-body", tampered, LENT, res("fail", "softfail", "none")),
    ("unsigned", wire, LENT, res("none", "softfail", "none")),
    # good.example: "-all" and DMARC p=reject; its s2048 key is the same test key.
    ("good-signed", lambda: signed("good.example"), GOOD, res("pass", "fail", "pass")),
    ("good-unsigned", lambda: wire("good.example"), GOOD, res("none", "fail", "fail")),
    ("forged-pass", forged_pass, LENT, res("none", "softfail", "none")),
]


@pytest.mark.parametrize(
    ("make", "mail_from", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_stored_copy_carries_the_harness_results(
    harness: HarnessThread, make: Callable[[], bytes], mail_from: str, expected: dict[str, str]
) -> None:
    raw = make()
    reply = send(harness, raw, mail_from=mail_from, to="hanako@gmail.com")
    assert reply.startswith("250 ")
    stored = harness.last()
    assert stored is not None
    assert results(stored) == expected
    # The stored copy is the received message with our header on top (forged ones out).
    if make is not forged_pass:
        assert stored.raw.endswith(raw)
    assert stored.raw.split(b"\r\n\r\n", 1)[1] == raw.split(b"\r\n\r\n", 1)[1]
    assert stored.raw.count(b"Authentication-Results: maildoctor.harness;") == 1
    detail = api(harness, stored)
    auth = detail["authentication"]
    assert isinstance(auth, dict)
    assert {m: auth[m]["result"] for m in ("dkim", "spf", "dmarc")} == expected
    assert auth["authserv_id"] == AUTHSERV


def test_forged_header_is_removed_and_others_kept(harness: HarnessThread) -> None:
    send(harness, forged_pass(), mail_from="bounce@lentrance.com", to="hanako@gmail.com")
    stored = harness.last()
    assert stored is not None
    values = [
        " ".join(str(v).split()) for v in stored.message.get_all("Authentication-Results", [])
    ]
    assert len(values) == 2
    assert values[0].startswith("maildoctor.harness; dkim=none")
    assert values[1] == "mx.example.net; spf=pass smtp.mailfrom=lentrance.com"


ESP = "bounce@esp.example"
SPOOFING: list[tuple[str, str, Callable[[], bytes], str, bool]] = [
    ("softbank-signed-aligned", "softbank", signed, LENT, False),
    ("softbank-tampered", "softbank", tampered, LENT, True),
    ("softbank-unsigned-spf-softfail", "softbank", wire, LENT, True),
    ("softbank-forged-pass", "softbank", forged_pass, LENT, True),
    ("au-dmarc-fail", "au", lambda: wire("good.example"), GOOD, True),
    ("au-dmarc-pass", "au", lambda: signed("good.example"), GOOD, False),
    # DMARC passes through the aligned DKIM signature even with a foreign envelope sender.
    ("au-dmarc-pass-esp-envelope", "au", lambda: signed("good.example"), ESP, False),
]


@pytest.mark.parametrize(
    ("carrier", "make", "mail_from", "refused"),
    [c[1:] for c in SPOOFING],
    ids=[c[0] for c in SPOOFING],
)
def test_spoofing_filters_decide_with_the_harness_results(
    harness: HarnessThread,
    carrier: str,
    make: Callable[[], bytes],
    mail_from: str,
    refused: bool,
) -> None:
    to = f"taro@{'softbank.ne.jp' if carrier == 'softbank' else 'au.com'}"
    profile = Profile.for_carrier(carrier)
    assert profile.spoofing  # on by default for a new contract
    harness.set_profile(to, profile)
    reply = send(harness, make(), mail_from=mail_from, to=to)
    stored = harness.last()
    assert stored is not None
    decision = stored.decision_for(to)
    if not refused:
        assert (decision.outcome, decision.rule) == (Outcome.DELIVERED, "default")
        assert reply.startswith("250 ")
    elif carrier == "au":  # au rejects at SMTP time, and says "User unknown"
        assert (decision.outcome, decision.rule) == (Outcome.REJECTED, "spoofing")
        assert reply == decision.decision.reply == "550 User unknown"
    else:  # SoftBank accepts and drops it (filtered)
        assert (decision.outcome, decision.rule) == (Outcome.FILTERED, "spoofing")
        assert reply.startswith("250 ")


def test_without_verification_nothing_is_added(tmp_path: Path) -> None:
    with run_in_thread(tmp_path / "h.sqlite3") as h:
        # Sign once: the signature's t= is the current second, so a second call may differ.
        message = signed()
        send(h, message, mail_from="bounce@lentrance.com")
        stored = h.last()
        assert stored is not None
        assert stored.raw == message
        assert api(h, stored)["authentication"] is None


def test_without_verification_forged_results_are_still_removed(tmp_path: Path) -> None:
    # RFC 8601 5: nothing a sender writes may pass for the harness's own verdict.
    with run_in_thread(tmp_path / "h.sqlite3") as h:
        send(h, forged_pass(), mail_from="bounce@lentrance.com", to="hanako@gmail.com")
        stored = h.last()
        assert stored is not None
        values = [
            " ".join(str(v).split()) for v in stored.message.get_all("Authentication-Results")
        ]
        assert values == ["mx.example.net; spf=pass smtp.mailfrom=lentrance.com"]
        assert api(h, stored)["authentication"] is None


def test_dns_down_is_temperror_and_the_message_is_kept(tmp_path: Path) -> None:
    silent = DNSTestServer.from_files(ZONES_DIR / "sender.zone", timeout_names=["lentrance.com."])
    with (
        silent,
        run_in_thread(
            tmp_path / "h.sqlite3",
            auth_nameservers=(silent.nameserver,),
            auth_timeout=0.5,
            http_port=None,
        ) as h,
    ):
        h.set_profile("taro@softbank.ne.jp", Profile.for_carrier("softbank"))
        reply = send(h, signed(), mail_from="bounce@lentrance.com")
        stored = h.last()
        assert stored is not None
        assert reply == f"250 2.0.0 OK: stored as message {stored.id}, never relayed"
        assert results(stored) == {"dkim": "temperror", "spf": "temperror", "dmarc": "temperror"}
        # The canaries, then one unanswered question (the DKIM key), not one timeout
        # per DKIM/SPF/DMARC lookup.
        assert {(name, qtype) for name, qtype, _ in silent.query_log} == {
            (".", "NS"),
            ("gmail.com.", "MX"),
            ("s2048._domainkey.lentrance.com.", "TXT"),
        }
        # Unknown is not failed: the spoofing filter does not decide, and says so.
        decision = stored.decision_for("taro@softbank.ne.jp")
        assert (decision.outcome, decision.rule) == (Outcome.DELIVERED, "spoofing_unchecked")


def test_a_verifier_exception_is_a_parseable_temperror(
    harness: HarnessThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A verifier bug whose message holds what would break the header: ";" (readers split
    # results there first), parentheses, a backslash and a line break.
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no key; retry (later) in C:\\dns\nsecond line")

    monkeypatch.setattr("maildoctor.sender.auth.authenticate", broken)
    harness.set_profile("taro@softbank.ne.jp", Profile.for_carrier("softbank"))
    reply = send(harness, signed(), mail_from="bounce@lentrance.com")
    stored = harness.last()
    assert stored is not None
    assert reply == f"250 2.0.0 OK: stored as message {stored.id}, never relayed"
    assert results(stored) == {"dkim": "temperror", "spf": "temperror", "dmarc": "temperror"}
    [ours] = stored.message.get_all("Authentication-Results")
    _, methods = parse_authentication_results(str(ours))
    assert methods["dkim"]["reason"] == "RuntimeError: no key, retry [later] in C:/dns second line"
    decision = stored.decision_for("taro@softbank.ne.jp")
    assert (decision.outcome, decision.rule) == (Outcome.DELIVERED, "spoofing_unchecked")
    auth = api(harness, stored)["authentication"]
    assert isinstance(auth, dict)
    assert {m: auth[m] for m in ("dkim", "spf", "dmarc")} == {
        "dkim": {"result": "temperror", "reason": methods["dkim"]["reason"]},
        "spf": {"result": "temperror", "reason": ""},
        "dmarc": {"result": "temperror", "reason": ""},
    }


def store_writers() -> int:
    return sum(t.name == "maildoctor-store" for t in threading.enumerate())


def test_bad_auth_dns_is_a_clear_error(tmp_path: Path) -> None:
    before = store_writers()
    for _ in range(3):
        with pytest.raises(AuthConfigError, match="not an IP address"):
            run_in_thread(tmp_path / "h.sqlite3", auth_nameservers=("dns.example",))
    # A failed start leaves no store writer (and its SQLite connection) behind.
    assert store_writers() == before


def test_a_failed_start_stops_the_store(tmp_path: Path) -> None:
    with run_in_thread(tmp_path / "a.sqlite3", http_port=None) as first:
        before = store_writers()
        with pytest.raises(OSError):
            run_in_thread(tmp_path / "b.sqlite3", smtp_port=first.smtp_address[1])
        assert store_writers() == before


# -- maildoctor send --dkim-key, against the pytest plugin's harness ---------------


@pytest.fixture
def maildoctor_auth_dns(sender_dns: DNSTestServer) -> tuple[str, ...]:
    return (sender_dns.nameserver,)


def test_send_signs_with_dkim_key(maildoctor_harness: HarnessFixture) -> None:
    host, port = maildoctor_harness.smtp_address
    maildoctor_harness.set_profile("taro@softbank.ne.jp", carrier="softbank")
    result = CliRunner().invoke(
        main,
        [
            "send", "provisional_registration", "--to", "taro@softbank.ne.jp",
            "--smtp", f"{host}:{port}", "--dkim-key", str(KEY_2048), "--dkim-selector", "s2048",
        ],
    )  # fmt: skip
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "taro@softbank.ne.jp\t250 2.0.0 OK: stored as message 1, never relayed"
        "\tdelivered (rule default)\n"
    )
    [stored] = maildoctor_harness.messages()
    assert "d=lentrance.com" in str(stored.message["DKIM-Signature"]).replace(" ", "")
    assert results(stored)["dkim"] == "pass"
    assert stored.decision_for("taro@softbank.ne.jp").outcome is Outcome.DELIVERED


def test_send_unsigned_is_rejected_by_au_spoofing_filter(
    maildoctor_harness: HarnessFixture,
) -> None:
    host, port = maildoctor_harness.smtp_address
    maildoctor_harness.set_profile("taro@au.com", carrier="au")
    result = CliRunner().invoke(
        main,
        ["send", "provisional_registration", "--to", "taro@au.com", "--smtp", f"{host}:{port}"],
    )
    assert result.exit_code == 1
    assert result.stdout == "taro@au.com\t550 User unknown\trejected (rule spoofing)\n"
    [stored] = maildoctor_harness.messages()
    assert results(stored) == {"dkim": "none", "spf": "softfail", "dmarc": "none"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dkim-key", "{tmp}/missing.pem", "--dkim-selector", "s"], "Cannot read the DKIM key"),
        (["--dkim-key", "{tmp}/garbage.pem", "--dkim-selector", "s"], "is not a PEM private key"),
        (["--dkim-key", "{tmp}/broken.pem", "--dkim-selector", "s"], "Cannot sign with"),
        (["--dkim-key", str(KEY_2048)], "--dkim-key and --dkim-selector go together"),
        (["--dkim-domain", "lentrance.com"], "--dkim-domain needs --dkim-key"),
    ],
    ids=["missing", "not-pem", "broken-pem", "no-selector", "domain-alone"],
)
def test_send_bad_dkim_options_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "garbage.pem").write_text("not a key\n")
    (tmp_path / "broken.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    result = CliRunner().invoke(
        main,
        [
            "send", "provisional_registration", "--to", "taro@softbank.ne.jp",
            "--smtp", "127.0.0.1:9", *[a.format(tmp=tmp_path) for a in args],
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


# -- maildoctor serve --auth-dns ------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((), ()),
        (("system",), ()),
        (("off",), None),
        (("OFF",), None),
        (("127.0.0.1:5353", "[::1]:53"), ("127.0.0.1:5353", "[::1]:53")),
    ],
    ids=["default-system", "system", "off", "off-any-case", "nameservers"],
)
def test_auth_dns_values(values: tuple[str, ...], expected: tuple[str, ...] | None) -> None:
    from maildoctor.cli.options import parse_auth_dns

    assert parse_auth_dns(values) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--auth-dns", "dns.example"], "is not an IP address"),
        (["--auth-dns", "127.0.0.1:99999"], "must be between 1 and 65535"),
        (["--auth-dns", "off", "--auth-dns", "127.0.0.1"], "'system' and 'off' stand alone"),
    ],
    ids=["hostname", "port", "off-mixed"],
)
def test_serve_bad_auth_dns_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--no-http", "--db", str(tmp_path / "x.db"), *args])
    assert result.exit_code == 2, result.output
    assert "Invalid value for --auth-dns" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_serve_help_states_the_default() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "Default: the system resolver." in " ".join(result.stdout.split())
