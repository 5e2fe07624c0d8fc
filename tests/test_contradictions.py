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
