"""The Python library a registration backend calls: the same JSON as the CLI, typed, documented."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import maildoctor
from maildoctor import CachedProbe, CheckResult, check_address, check_many, check_one
from maildoctor.address.dnsprobe import DNSProbe, make_resolver
from maildoctor.cli import main

ROOT = Path(__file__).resolve().parent.parent
ADDRESSES = [
    "taro@gmial.com",
    "ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ",
    "taro..yamada@docomo.ne.jp",
    "info@lentrance.com",
    "taro@mailinator.com",
    "taro@timeout.maildoctor.test",
    "taro@servfail.maildoctor.test",
    "taro@[192.0.2.1]",
    "not an address",
]


def cli_json(*args: str) -> object:
    result = CliRunner().invoke(main, ["check", *args, "--format", "json"])
    assert result.exit_code in (0, 1, 3), result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_to_dict_is_the_cli_json_with_dns(nameserver: str, lang: str) -> None:
    expected = cli_json(
        *ADDRESSES, "--nameserver", nameserver, "--dns-timeout", "1", "--lang", lang
    )
    got = [
        check_one(a, nameservers=[nameserver], dns_timeout=1.0, lang=lang).to_dict()
        for a in ADDRESSES
    ]
    assert got == expected


def test_to_dict_is_the_cli_json_offline() -> None:
    expected = cli_json(*ADDRESSES, "--offline")
    assert [check_one(a, offline=True).to_dict() for a in ADDRESSES] == expected


def test_async_check_address_and_check_many_agree_with_check_one(nameserver: str) -> None:
    async def run() -> tuple[list[CheckResult], list[CheckResult], list[CheckResult]]:
        resolver = make_resolver([nameserver], 1.0)
        one = [await check_address(a, probe=DNSProbe(resolver)) for a in ADDRESSES]
        many = [r async for r in check_many(ADDRESSES, probe=DNSProbe(resolver))]
        cached = CachedProbe.for_nameservers([nameserver], timeout=1.0)
        served = [await check_address(a, probe=cached) for a in ADDRESSES]
        return one, many, served

    one, many, served = asyncio.run(run())
    sync = [check_one(a, nameservers=[nameserver], dns_timeout=1.0).to_dict() for a in ADDRESSES]
    for results in (one, many, served):
        assert [r.to_dict() for r in results] == sync


def test_the_result_is_frozen() -> None:
    result = check_one("taro@gmial.com", offline=True)
    with pytest.raises(AttributeError):
        result.address = "x"  # type: ignore[misc]


def test_exported_from_the_package() -> None:
    for name in ("check_one", "check_address", "check_many", "CheckResult", "CachedProbe"):
        assert name in maildoctor.__all__


def test_the_wheel_ships_py_typed(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("maildoctor-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "maildoctor/py.typed" in names
    assert "maildoctor/web/static/signup-check.js" in names


def _readme_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("<!-- section:signup -->", 1)[1].split("<!-- /section:signup -->")[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def _expected_output(code: str) -> list[str]:
    """The ``# `` comment lines right after a print (or after another such line)."""
    expected, after_print = [], False
    for line in code.splitlines():
        stripped = line.strip()
        if after_print and stripped.startswith("# "):
            expected.append(stripped[2:])
            continue
        after_print = "print(" in stripped
    return expected


@pytest.mark.parametrize("code", _readme_python_blocks())
def test_readme_examples_run_as_written(code: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    assert out.getvalue().splitlines() == _expected_output(code)
