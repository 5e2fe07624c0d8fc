"""Answers that must agree with themselves (issue 20): each test reads one report the
way an agent does, row, summary and advice together, and fails on a contradiction.

The trials run against the real harness (SMTP over TCP, a SQLite file in tmp_path).
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig


def diagnose(*args: str, db: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["diagnose", *args, "--db", str(db)])
    return result.exit_code, result.stdout


def diagnose_json(*args: str, db: Path) -> dict[str, Any]:
    _, out = diagnose(*args, "--format", "json", db=db)
    return json.loads(out)


# -- SoftBank: an unknown receive-list retry is unknown, not "does not help" ---


@pytest.mark.parametrize("address", ["a@softbank.ne.jp", "a@i.softbank.jp"])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_softbank_unknown_retry_is_its_own_state(tmp_path: Path, address: str, lang: str) -> None:
    db = tmp_path / "h.sqlite3"
    data = diagnose_json(address, "--offline", "--lang", lang, db=db)
    rows = {r["scenario"]: r for r in data["trial"]["scenarios"]}
    # Offline, lentrance.com's authentication is unknown; SoftBank's spoofing filter
    # is on by default, so it decides the PC-only row once the receive list lets PC
    # mail in: whether the list helps there is unknown, not "no".
    assert rows["refuse_pc"]["receive_list_retry"] == "unknown"
    assert rows["refuse_pc"]["rescued_by_receive_list"] is None
    for row in rows.values():
        if row["receive_list_retry"] == "unknown":
            assert row["rescued_by_receive_list"] is None
    # The URL filter is not lifted by the receive list at SoftBank: known, "no".
    assert rows["refuse_url"]["rescued_by_receive_list"] is False
    _, text = diagnose(address, "--offline", "--lang", lang, db=db)
    summary = text.split("3. ")[0].strip().splitlines()[-1]
    pc_only = rows["refuse_pc"]["label"]
    if lang == "ja":
        not_helped = summary.split("登録しても届きません(")[1].split(")")[0]
        assert pc_only not in not_helped
        assert f"登録して届くかどうかは不明です({pc_only})" in summary
    else:
        not_helped = summary.split("does not help (")[1].split(")")[0]
        assert pc_only not in not_helped
        assert f"is unknown ({pc_only})" in summary
    # ...and the advice still says to register lentrance.com: it may help.
    assert "allow_sender_domain" in data["advice"]


def test_desk_labels_an_unknown_retry_unknown(tmp_path: Path) -> None:
    config = WebConfig(nameservers=None, history_max=10)  # offline: authentication unknown
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        body = json.dumps({"address": "a@softbank.ne.jp"}).encode()
        request = urllib.request.Request(
            f"{h.http_url}/api/diagnose",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as r:
            data = json.loads(r.read())
    rows = {r["scenario"]: r for r in data["trial_rows"]}
    assert rows["defaults"]["outcome"] == "unknown"
    assert rows["defaults"]["receive_list_label"] == "受信リストに登録して届くかは不明"
    assert rows["refuse_pc"]["receive_list_label"] == "受信リストに登録して届くかは不明"
    assert rows["refuse_url"]["receive_list_label"] == "受信リストに登録しても届かない"
    assert "登録して届くかどうかは不明です" in data["lesson"]


# -- a likely typo with DNS unknown: the address is in doubt, said first -------


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_likely_typo_says_the_address_is_in_doubt_first(tmp_path: Path, lang: str) -> None:
    db = tmp_path / "h.sqlite3"
    # The test resolver is unreachable: DNS unknown, only the typo rule speaks.
    args = ("someone@gmial.com", "--nameserver", "127.0.0.1:9", "--dns-timeout", "0.3")
    data = diagnose_json(*args, "--lang", lang, db=db)
    assert data["check"]["verdict"] == "unknown"
    assert data["check"]["suggestion"] == "someone@gmail.com"
    _, text = diagnose(*args, "--lang", lang, db=db)
    trial = text.split("2. ")[1].split("3. ")[0]
    row, summary = trial.splitlines()[2], trial.strip().splitlines()[-1].strip()
    if lang == "ja":
        assert "アドレスが正しければ 届く(受信箱)" in row
        assert summary.startswith("まず、アドレス自体が正しいか疑わしい")
        assert "someone@gmail.com" in summary
    else:
        assert "if the address is right: arrives (inbox)" in row
        assert summary.startswith("First, the address itself is in doubt")
    assert data["advice"][0] == "reregister"


# -- a ["*"] table adds to the carrier profiles, it does not replace them -----

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_block(after: str, lang: str) -> str:
    """The first ``lang`` fenced block of README.md after the line holding ``after``."""
    from tests.readme_blocks import parse_blocks

    text = README.read_text("utf-8")
    line = text[: text.index(after)].count("\n") + 1
    return next(b.text for b in parse_blocks(text) if b.line > line and b.lang == lang)


def test_a_wildcard_table_adds_to_the_carrier_profiles(tmp_path: Path) -> None:
    from maildoctor.harness.profiles import ProfileBook, load_profiles

    path = tmp_path / "profiles.toml"
    path.write_text(_readme_block("A profiles file sets them per address or domain", "toml"))
    book, builtin = load_profiles(path), ProfileBook()
    for address in ("a@softbank.ne.jp", "a@i.softbank.jp", "b@au.com", "c@docomo.ne.jp"):
        with_file, without = book.lookup(address), builtin.lookup(address)
        assert with_file.carrier == without.carrier is not None, address
        for key in ("refuse_pc", "refuse_url", "spoofing", "filtered_outcome", "rule_order"):
            assert getattr(with_file, key) == getattr(without, key), (address, key)
        assert with_file.deny_list == ("spam.example",), address
    assert book.lookup("x@example.org").deny_list == ("spam.example",)
    assert builtin.lookup("x@example.org").deny_list == ()
    # ...unless it says so: carrier = "none" makes every mailbox open plus its keys.
    path.write_text('["*"]\ncarrier = "none"\ndeny_list = ["spam.example"]\n')
    assert load_profiles(path).lookup("a@softbank.ne.jp").carrier is None


def test_a_wildcard_key_a_carrier_does_not_offer_leaves_that_carrier_as_built_in(
    tmp_path: Path,
) -> None:
    from maildoctor.harness.profiles import ProfileBook, load_profiles

    path = tmp_path / "profiles.toml"
    path.write_text('["*"]\ndeny_list = ["spam.example"]\n')
    ymobile = load_profiles(path).lookup("a@yahoo.ne.jp")
    assert ymobile.carrier == "ymobile"
    assert ymobile.deny_list == ()  # Y!mobile offers no deny list
    assert ymobile.refuse_pc == ProfileBook().lookup("a@yahoo.ne.jp").refuse_pc


def test_the_readme_serve_example_shows_what_serve_and_send_print(tmp_path: Path) -> None:
    """README's `serve --profiles profiles.toml` then `send` block cannot run in the
    README test (serve stays running): run it here, with the README's profiles file."""
    from tests.serveproc import ServeProcess

    block = _readme_block("## The SMTP harness", "console").splitlines()
    assert block[0] == "maildoctor serve --profiles profiles.toml            # in one terminal"
    send, shown = block[1], block[2]
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(_readme_block("A profiles file sets them per address or domain", "toml"))
    with ServeProcess("--profiles", str(profiles), "--db", str(tmp_path / "h.sqlite3")) as serve:
        host, port = serve.smtp_address
        args = [*send.split()[1:], "--smtp", f"{host}:{port}"]
        result = CliRunner().invoke(main, args)
    assert result.stdout.strip() == shown


# -- sender on a domain that does not exist -----------------------------------


@pytest.fixture(scope="module")
def sender_ns() -> Any:
    from tests.dnsserver import ZONES_DIR, DNSTestServer

    with DNSTestServer.from_files(
        ZONES_DIR / "sender.zone", timeout_names=["slow.example."]
    ) as server:
        yield server.nameserver


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_sender_on_a_domain_that_does_not_exist_says_so(sender_ns: str, lang: str) -> None:
    args = ["sender", "lentranse.com", "--nameserver", sender_ns, "--lang", lang]
    text = CliRunner().invoke(main, args)
    assert text.exit_code == 1  # as for any finding
    data = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).stdout)
    assert [f["code"] for f in data["findings"]] == ["sender_domain_not_found"]
    assert data["records"]["exists"] is False
    findings = next(p for p in text.stdout.split("\n\n") if p.startswith(("指摘事項", "Findings")))
    assert "NXDOMAIN" in findings
    # no "add a record" advice for a domain that has nowhere to add one
    assert "追加してください" not in text.stdout and "add the" not in text.stdout


def test_sender_timeout_is_unknown_not_a_missing_domain(sender_ns: str) -> None:
    args = ["sender", "slow.example", "--nameserver", sender_ns, "--dns-timeout", "0.2"]
    data = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).stdout)
    assert "sender_domain_not_found" not in [f["code"] for f in data["findings"]]


def test_sender_english_fix_text_is_english(sender_ns: str) -> None:
    args = ["sender", "nospf.example", "--nameserver", sender_ns, "--lang", "en"]
    out = CliRunner().invoke(main, args).stdout
    assert '"v=spf1 ip4:<sending IP> -all"' in out
    assert "<送信IP" not in out
    out = CliRunner().invoke(main, [*args[:-1], "ja"]).stdout
    assert "「v=spf1 ip4:<送信IP> -all」" in out


# -- empty input: a usage error, or a skipped row --------------------------------


@pytest.mark.parametrize("address", ["", "  "])
def test_diagnose_without_an_address_is_a_usage_error(tmp_path: Path, address: str) -> None:
    result = CliRunner().invoke(main, ["diagnose", address, "--offline", "--db", str(tmp_path)])
    assert result.exit_code == 2
    assert "the address is empty" in result.stderr
    assert result.stdout == ""  # no draft quoting 「」


def test_diagnose_file_skips_blank_address_cells(tmp_path: Path) -> None:
    tickets = tmp_path / "tickets.csv"
    tickets.write_text("address,name\na@gmail.com,A\n,B\n   ,C\nb@gmail.com,D\n")
    args = ["diagnose", "--file", str(tickets), "--offline", "--format", "jsonl"]
    result = CliRunner().invoke(main, [*args, "--db", str(tmp_path / "h.sqlite3")])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["row"]["name"] for r in rows] == ["A", "D"]
    assert "Skipped row 2: no address." in result.stderr
    assert "Skipped row 3: no address." in result.stderr


# -- one meaning per format name: json is one document, jsonl one object a line --


@pytest.mark.parametrize("command", ["check", "diagnose"])
@pytest.mark.parametrize("rows", [1, 2])
def test_json_is_one_document_and_jsonl_one_object_a_line(
    tmp_path: Path, command: str, rows: int
) -> None:
    members = tmp_path / "members.csv"
    members.write_text("address\n" + "".join(f"u{i}@gmail.com\n" for i in range(rows)))
    base = [command, "--file", str(members), "--offline"]
    if command == "diagnose":
        base += ["--db", str(tmp_path / "h.sqlite3")]
    as_json = CliRunner().invoke(main, [*base, "--format", "json"])
    document = json.loads(as_json.stdout)
    assert isinstance(document, list) and len(document) == rows
    as_jsonl = CliRunner().invoke(main, [*base, "--format", "jsonl"])
    lines = as_jsonl.stdout.splitlines()
    assert len(lines) == rows
    assert [_stable(json.loads(line)) for line in lines] == [_stable(d) for d in document]
    # One address on the command line: one object.
    one = CliRunner().invoke(main, [*base[:1], "u0@gmail.com", *base[3:], "--format", "json"])
    assert _stable(json.loads(one.stdout)) == _stable(document[0])


def _stable(data: dict[str, Any]) -> dict[str, Any]:
    """A diagnosis without what differs between two runs (the trial's ids, the row)."""
    return {k: v for k, v in data.items() if k not in ("trial", "web", "row")}


# -- drafts never say one instruction twice -----------------------------------

REGISTER_AGAIN = "■メールアドレスを確認して再度登録する"


def _draft(address: str, *args: str, db: Path) -> str:
    data = diagnose_json(address, "--offline", *args, db=db)
    return str(data["reply_draft"])


def _no_line_twice(draft: str) -> None:
    lines = [line.strip() for line in draft.splitlines() if line.strip()]
    assert len(lines) == len(set(lines)), draft


@pytest.mark.parametrize("address", ["no-at-sign", "taro@@docomo.ne.jp", "taro@"])
def test_a_syntax_error_draft_asks_to_register_again_once(tmp_path: Path, address: str) -> None:
    draft = _draft(address, db=tmp_path / "h.sqlite3")
    _no_line_twice(draft)
    # The opening paragraph asks to register again: the list does not repeat it.
    assert draft.count("再度手続き") == 1, draft
    assert REGISTER_AGAIN not in draft


@pytest.mark.parametrize("ticket", ["not_arrived", "customer_number", "login_trouble"])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_fullwidth_address_is_not_told_to_register_again_twice(
    tmp_path: Path, ticket: str, lang: str
) -> None:
    args = ("--ticket", ticket, "--lang", lang)
    data = diagnose_json(
        "ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ", "--offline", *args, db=tmp_path / "h"
    )
    assert not {"reregister", "reregister_halfwidth"} <= set(data["advice"])
    _no_line_twice(data["reply_draft"])


def test_a_userunknown_bounce_draft_asks_to_register_again_once() -> None:
    bounce = Path(__file__).parent / "data" / "bounces" / "amazonses-05.eml"
    result = CliRunner().invoke(main, ["bounce", str(bounce), "--reply"])
    assert "アドレスが存在しない" in result.stdout  # userunknown: the "gone" opening
    assert REGISTER_AGAIN not in result.stdout
    _no_line_twice(result.stdout)


# -- templates: --templates, $MAILDOCTOR_TEMPLATES, ./templates, then the packaged ones --

REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project checkout with its own templates/ under git, as the working directory."""
    import shutil
    import subprocess

    root = tmp_path / "shop"
    shutil.copytree(REPO_TEMPLATES, root / "templates")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", str(root)], check=True)
    subprocess.run([*git, "-C", str(root), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(root), "commit", "-qm", "templates"], check=True)
    monkeypatch.chdir(root)
    monkeypatch.delenv("MAILDOCTOR_TEMPLATES", raising=False)
    return root


def _break_a_template(root: Path) -> None:
    toml = root / "templates" / "password_reset" / "template.toml"
    text = toml.read_text("utf-8")
    toml.write_text(text.replace("[Lentrance]", "[Lentrance] " + "長い件名" * 30, 1), "utf-8")


def _on_a_terminal(*args: str, cwd: Path) -> tuple[int, str, str]:
    """``maildoctor ARGS`` with stderr on a terminal (a pty), as a user runs it:
    (exit status, stdout, stderr)."""
    import os
    import subprocess
    import sys

    main_fd, tty_fd = os.openpty()
    try:
        done = subprocess.Popen(
            [sys.executable, "-m", "maildoctor", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=tty_fd,
        )
        os.close(tty_fd)
        said = b""
        while True:
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            said += chunk
        out, _ = done.communicate(timeout=60)
    finally:
        os.close(main_fd)
    return done.returncode, out.decode(), said.decode().replace("\r\n", "\n")


def test_lint_reads_the_working_directorys_templates_and_says_so(checkout: Path) -> None:
    code, _, said = _on_a_terminal("lint", cwd=checkout)
    assert code == 0
    here = checkout.resolve() / "templates"
    assert f"Templates: {here} (from ./templates in the working directory)" in said
    _break_a_template(checkout)
    edited = CliRunner().invoke(main, ["lint"])
    assert edited.exit_code == 1  # the edit in the checkout is what is linted
    assert "password_reset" in edited.stdout
    assert "Templates:" not in edited.stderr  # into a pipe: the command's own output only
    diff = CliRunner().invoke(main, ["lint", "--diff", "HEAD"])
    assert diff.exit_code == 0, diff.output
    assert "password_reset" in diff.stdout
    assert "長い件名" in diff.stdout


def test_the_templates_option_then_the_variable_then_the_working_directory(
    checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from maildoctor.mail.templating import PACKAGED, find_templates

    other = checkout.parent / "other"
    shutil.copytree(REPO_TEMPLATES, other)

    def read(*args: str) -> str:
        code, _, said = _on_a_terminal(
            "render", "password_reset", "--format", "eml", *args, cwd=checkout
        )
        assert code == 0, said
        return said.splitlines()[0] if said else ""

    monkeypatch.setenv("MAILDOCTOR_TEMPLATES", str(other))
    assert read() == f"Templates: {other.resolve()} (from $MAILDOCTOR_TEMPLATES)"
    assert read("--templates", str(REPO_TEMPLATES)) == (
        f"Templates: {REPO_TEMPLATES} (from --templates)"
    )
    monkeypatch.delenv("MAILDOCTOR_TEMPLATES")
    here = checkout.resolve() / "templates"
    assert read() == f"Templates: {here} (from ./templates in the working directory)"
    assert find_templates().path == here
    monkeypatch.chdir(checkout.parent)  # no templates/ here: the packaged ones, not announced
    assert find_templates().source == PACKAGED


def test_serve_takes_templates(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert "--templates DIR" in result.stdout
    missing = CliRunner().invoke(main, ["serve", "--templates", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr


# -- the same bounce given twice counts once --------------------------------------

BOUNCES = Path(__file__).parent / "data" / "bounces"


def test_the_same_bounce_in_a_folder_and_an_mbox_counts_once(tmp_path: Path) -> None:
    import csv
    import mailbox
    import shutil

    folder = tmp_path / "Maildir" / "cur"
    folder.mkdir(parents=True)
    box = mailbox.mbox(str(tmp_path / "bounces.mbox"))
    for name in ("amazonses-05.eml", "exim-01.eml"):
        shutil.copy(BOUNCES / name, folder / name)
        box.add((BOUNCES / name).read_bytes())
    box.close()
    sources = [str(tmp_path / "Maildir"), str(tmp_path / "bounces.mbox")]
    once = CliRunner().invoke(
        main, ["bounce", str(tmp_path / "Maildir"), "--summary", "--format", "json"]
    )
    twice = CliRunner().invoke(
        main, ["bounce", *sources, "--summary", "--format", "json", "--lang", "en"]
    )
    assert twice.exit_code == 0, twice.output
    assert json.loads(twice.stdout) == json.loads(once.stdout)
    assert sum(json.loads(twice.stdout)["by_kind"].values()) == 2
    assert twice.stderr.count("counted once") == 2
    suppress = tmp_path / "suppress.csv"
    CliRunner().invoke(main, ["bounce", *sources, "--suppress", str(suppress), "--format", "csv"])
    rows = list(csv.DictReader(suppress.read_text("utf-8-sig").splitlines()))
    addresses = [r["address"] for r in rows]
    assert len(addresses) == len(set(addresses)) >= 1
    assert [r["count"] for r in rows] == ["1"] * len(rows)


def test_bounce_json_is_one_document_and_jsonl_one_object_a_line() -> None:
    files = [str(BOUNCES / "amazonses-05.eml"), str(BOUNCES / "exim-01.eml")]
    document = json.loads(CliRunner().invoke(main, ["bounce", *files, "--format", "json"]).stdout)
    lines = CliRunner().invoke(main, ["bounce", *files, "--format", "jsonl"]).stdout.splitlines()
    assert isinstance(document, list) and len(document) >= 2
    assert [json.loads(line) for line in lines] == document
