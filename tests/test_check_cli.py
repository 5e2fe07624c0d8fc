"""``maildoctor check`` through CliRunner: exit codes, formats, files, replies, options."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from tests.dnsserver import DNSTestServer


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["check", *args], input=input, env=env)


@pytest.mark.parametrize(
    ("addresses", "exit_code"),
    [
        (["taro@gmail.com"], 0),
        (["taro@gmail.com", "taro@example.jp"], 0),
        (["taro@docomo.ne.jp"], 1),
        (["taro@gmial.com"], 1),
        (["taro@servfail.maildoctor.test"], 3),
        (["taro@gmail.com", "taro@servfail.maildoctor.test"], 3),
        (["taro@servfail.maildoctor.test", "bad"], 1),
    ],
    ids=[
        "ok",
        "all-ok",
        "risky",
        "undeliverable",
        "unknown",
        "ok-and-unknown",
        "unknown-and-worse",
    ],
)
def test_exit_codes(nameserver: str, addresses: list[str], exit_code: int) -> None:
    result = run(
        *addresses, "--nameserver", nameserver, "--dns-timeout", "0.5", "--format", "jsonl"
    )
    assert result.exit_code == exit_code, result.output
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == len(addresses)


@pytest.mark.parametrize(
    "args",
    [[], ["--format", "xml", "a@b.jp"], ["--nameserver", "dns.example", "a@b.jp"],
     ["--concurrency", "0", "a@b.jp"], ["--file", "/nonexistent/list.txt"],
     ["--lang", "fr", "a@b.jp"]],
    ids=["nothing-to-check", "bad-format", "bad-nameserver", "bad-concurrency", "missing-file",
         "bad-lang"],
)  # fmt: skip
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Error:" in result.stderr


def test_bad_nameserver_message() -> None:
    result = run("a@b.jp", "--nameserver", "dns.example")
    assert "The nameserver 'dns.example' is not an IP address" in result.stderr


def test_done_when_legacy_docomo_offline_json() -> None:
    result = run("taro..yamada@docomo.ne.jp", "--offline", "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["verdict"] == "risky"
    assert [f["code"] for f in data["findings"]] == ["legacy_carrier_address", "carrier_mail"]
    assert data["carrier"]["id"] == "docomo"


def test_done_when_gmial_json_and_japanese_text(nameserver: str) -> None:
    result = run("taro@gmial.com", "--nameserver", nameserver, "--format", "json")
    data = json.loads(result.stdout)
    assert data["verdict"] == "undeliverable"
    assert {"typo_suspected", "domain_not_found"} <= {f["code"] for f in data["findings"]}
    assert data["suggestion"] == "taro@gmail.com"
    text = run("taro@gmial.com", "--nameserver", nameserver, "--lang", "ja").stdout
    assert "新規会員登録ページから、再度手続きを行ってください。" in text


def test_system_resolver_here_is_not_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever the machine's resolver does (a sinkhole here), gmail.com never becomes
    # "not found": either DNS is unavailable (exit 3) or it resolves (exit 0).
    monkeypatch.delenv("MAILDOCTOR_NAMESERVER", raising=False)
    result = run("taro@gmail.com", "--format", "json", "--dns-timeout", "2")
    data = json.loads(result.stdout)
    assert "domain_not_found" not in [f["code"] for f in data["findings"]]
    assert (result.exit_code, data["verdict"]) in {(3, "unknown"), (0, "ok")}


def test_nameserver_from_environment(nameserver: str) -> None:
    result = run("taro@gmial.com", "--format", "jsonl", env={"MAILDOCTOR_NAMESERVER": nameserver})
    assert "domain_not_found" in result.stdout


def test_dns_canary_option() -> None:
    zone = "corp.test. 60 IN MX 10 mx.corp.test.\nmx.corp.test. 60 IN A 192.0.2.7\n"
    with DNSTestServer(zone) as server:
        default = run("a@nope.test", "--nameserver", server.nameserver, "--format", "jsonl")
        custom = run(
            "a@nope.test", "--nameserver", server.nameserver, "--dns-canary", "corp.test",
            "--format", "jsonl",
        )  # fmt: skip
    assert default.exit_code == 3
    assert custom.exit_code == 1
    assert json.loads(custom.stdout)["findings"][0]["code"] == "domain_not_found"


def test_offline_says_so_plainly() -> None:
    result = run("taro@example.jp", "--offline")
    assert result.exit_code == 0
    assert "DNS: 確認していません(--offline)" in result.stdout
    english = run("taro@example.jp", "--offline", "--lang", "en")
    assert "DNS: not checked (--offline)" in english.stdout


def test_file_and_stdin_keep_order(tmp_path: Path, nameserver: str) -> None:
    lines = ["taro@gmail.com", "", "ｔａｒｏ＠ｇｍａｉｌ．ｃｏｍ", " hanako@example.jp", "bad"]
    path = tmp_path / "members.txt"
    path.write_text("\ufeff" + "\r\n".join(lines) + "\r\n", encoding="utf-8")
    from_file = run("--file", str(path), "--nameserver", nameserver, "--format", "jsonl")
    from_stdin = run(
        "--file", "-", "--nameserver", nameserver, "--format", "jsonl", input="\n".join(lines)
    )
    for result in (from_file, from_stdin):
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["address"] for r in rows] == [line for line in lines if line]
        assert result.exit_code == 1


def test_undecodable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.txt"
    path.write_bytes(b"taro@example.jp\n\x81\x7f@example.jp\n")  # neither UTF-8 nor CP932
    result = run("--file", str(path), "--offline")
    assert result.exit_code == 2
    assert "neither UTF-8 nor CP932" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    binary = tmp_path / "binary.xlsx"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    assert "binary" in run("--file", str(binary), "--offline").stderr


@pytest.mark.parametrize(
    ("encoding", "prefix", "label"),
    [
        ("cp932", b"", "CP932 (Shift_JIS)"),
        ("utf-8", b"\xef\xbb\xbf", "UTF-8 (BOM)"),
        ("utf-8", b"", "UTF-8"),
        ("utf-16", b"", "UTF-16"),
    ],
    ids=["cp932", "utf8-bom", "utf8", "utf16"],
)
def test_file_encodings_are_read_and_named(
    tmp_path: Path, encoding: str, prefix: bytes, label: str
) -> None:
    text = (
        "メールアドレス,氏名\r\ntaro@docomo.ne.jp,山田太郎\r\n"
        "ｈａｎａｋｏ＠ｇｍａｉｌ．ｃｏｍ,佐藤花子\r\n"
    )
    path = tmp_path / "members.csv"
    path.write_bytes(prefix + text.encode(encoding))
    result = run("--file", str(path), "--offline", "--format", "jsonl")
    assert f"as {label} (CSV, address column 'メールアドレス')" in result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["address"], r["columns"]) for r in rows] == [
        ("taro@docomo.ne.jp", {"氏名": "山田太郎"}),
        ("ｈａｎａｋｏ＠ｇｍａｉｌ．ｃｏｍ", {"氏名": "佐藤花子"}),
    ]
    assert rows[1]["suggestion"] == "hanako@gmail.com"


def test_csv_file_keeps_its_columns_and_output_starts_with_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_text(
        '会員番号,Email,氏名\n001,taro@gmial.com,山田\n002,"hanako@docomo,ne.jp",佐藤\n',
        encoding="utf-8",
    )
    result = run("--file", str(path), "--offline", "--format", "csv")
    assert result.stdout.startswith("\ufeffaddress,")
    rows = list(csv.DictReader(io.StringIO(result.stdout.removeprefix("\ufeff"))))
    assert [(r["address"], r["suggestion"], r["会員番号"], r["氏名"]) for r in rows] == [
        ("taro@gmial.com", "taro@gmail.com", "001", "山田"),
        ("hanako@docomo,ne.jp", "hanako@docomo.ne.jp", "002", "佐藤"),
    ]
    plain = run("--file", str(path), "--offline", "--format", "csv", "--no-bom")
    assert plain.stdout.startswith("address,")


def test_lone_cr_is_not_a_line_break(tmp_path: Path) -> None:
    path = tmp_path / "members.txt"
    path.write_bytes(b"taro@example.jp\rhanako@example.jp\r\njiro@example.jp\n")
    result = run("--file", str(path), "--offline", "--format", "jsonl")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["address"] for r in rows] == ["taro@example.jp\rhanako@example.jp", "jiro@example.jp"]
    assert rows[0]["findings"][0]["evidence"]["reason"] == "newline"
    as_csv = tmp_path / "members.csv"
    as_csv.write_bytes(b"email,name\r\na@example.jp\rb@example.jp,A\r\nc@example.jp,C\r\n")
    result = run("--file", str(as_csv), "--offline", "--format", "jsonl")
    assert len(result.stdout.splitlines()) == 2


def test_empty_input_says_so(tmp_path: Path) -> None:
    for content in (b"", b"\xef\xbb\xbf", b"\n\n", b"email,name\r\n"):
        path = tmp_path / "empty.csv"
        path.write_bytes(content)
        result = run("--file", str(path), "--offline")
        assert result.exit_code == 0
        assert result.stdout == ""
        assert "No addresses to check: the file is empty." in result.stderr
    assert "stdin is empty" in run("--file", "-", "--offline", input="").stderr


def test_csv_format() -> None:
    result = run("taro@gmial.com", "taro@docomo.ne.jp", "--offline", "--format", "csv")
    assert result.stdout.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(result.stdout.removeprefix("\ufeff"))))
    assert [
        (r["address"], r["verdict"], r["codes"], r["suggestion"], r["carrier"]) for r in rows
    ] == [
        ("taro@gmial.com", "risky", "typo_suspected", "taro@gmail.com", ""),
        ("taro@docomo.ne.jp", "risky", "carrier_mail", "", "docomo"),
    ]


def test_json_array_for_several() -> None:
    result = run("a@example.jp", "b@example.jp", "--offline", "--format", "json")
    assert [d["address"] for d in json.loads(result.stdout)] == ["a@example.jp", "b@example.jp"]


@pytest.mark.parametrize("rows", [0, 1, 3])
def test_file_json_array_text_is_what_json_dumps_writes(tmp_path: Path, rows: int) -> None:
    """--format json writes its array item by item (flat memory for any list): the
    text is exactly json.dumps(list, indent=2) of the jsonl objects, columns included."""
    members = tmp_path / "members.csv"
    lines = ["番号,email"] + [f"{i},user{i}@gmial.com" for i in range(rows)]
    members.write_text("\n".join(lines) + "\n", encoding="utf-8")
    streamed = run("--file", str(members), "--offline", "--format", "json")
    jsonl = run("--file", str(members), "--offline", "--format", "jsonl")
    objects = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert len(objects) == rows
    assert streamed.stdout == json.dumps(objects, ensure_ascii=False, indent=2) + "\n"
    assert streamed.exit_code == jsonl.exit_code == (1 if rows else 0)


def test_reply_for_docomo() -> None:
    result = run("taro@docomo.ne.jp", "--offline", "--reply")
    assert result.exit_code == 1
    assert result.stdout.startswith("お客様")
    assert "受信リスト設定" in result.stdout


def test_reply_with_missing_templates_folder(tmp_path: Path) -> None:
    result = run("taro@docomo.ne.jp", "--offline", "--reply", "--templates", str(tmp_path))
    assert result.exit_code == 2
    assert "replies/check.txt.j2" in result.stderr


def test_reply_with_own_templates(tmp_path: Path) -> None:
    (tmp_path / "replies").mkdir()
    (tmp_path / "replies" / "check.txt.j2").write_text("{{ address }} → {{ suggestion }}\n")
    result = run("taro@gmial.com", "--offline", "--reply", "--templates", str(tmp_path))
    assert result.stdout == "taro@gmial.com → taro@gmail.com\n"
    via_env = run(
        "taro@gmial.com", "--offline", "--reply", env={"MAILDOCTOR_TEMPLATES": str(tmp_path)}
    )
    assert via_env.stdout == result.stdout


def test_no_progress_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    path = tmp_path / "many.txt"
    path.write_text("\n".join(f"user{i}@example.jp" for i in range(1200)), encoding="utf-8")
    result = run("--file", str(path), "--offline", "--format", "jsonl")
    assert result.stderr == f"Reading {path} as UTF-8 (one address a line).\n"
    assert len(result.stdout.splitlines()) == 1200


def test_help() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "--nameserver" in result.stdout and "Exit status" in result.stdout


def test_progress_counter_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    from maildoctor.cli.check import _Progress

    progress = _Progress(enabled=True)
    for _ in range(1000):
        progress.tick()
    progress.close()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.endswith("\rchecked 1000 addresses\n")
    known = _Progress(enabled=True, total=1200)
    for _ in range(500):
        known.tick()
    assert capsys.readouterr().err == "\rchecked 500/1200 addresses"


@pytest.mark.parametrize(
    ("address", "args", "note", "skipped"),
    [
        ("taro@example.jp", ("--offline",), "DNS: not checked (--offline)", "offline"),
        (
            "user@[192.0.2.1]",
            ("--nameserver", "127.0.0.1:9"),
            "DNS: not asked (the domain is an IP address literal).",
            "address_literal",
        ),
    ],
    ids=["offline", "literal-online"],
)
def test_the_report_says_why_dns_was_not_asked(
    address: str, args: tuple[str, ...], note: str, skipped: str
) -> None:
    assert note in run(address, "--lang", "en", *args).stdout
    data = json.loads(run(address, "--format", "json", *args).stdout)
    assert data["dns_skipped"] == skipped


@pytest.mark.parametrize("command", ["check", "diagnose"])
def test_a_csv_field_over_the_csv_limit_is_one_line_before_any_output(
    tmp_path: Path, command: str
) -> None:
    # Python's csv module refuses a field over 128 KiB; row 3 has one, past the header.
    path = tmp_path / "huge.csv"
    path.write_text('address,note\ntaro@example.jp,x\nhanako@example.jp,"' + "a" * 200_000 + '"\n')
    result = CliRunner().invoke(main, [command, "--file", str(path), "--offline"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "field larger than field limit" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
