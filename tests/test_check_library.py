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


#: Seconds a DNS question waits. The answered ones come back at once; a loaded machine
#: (CI, -n 4 beside Chromium) once held an answer past 1 s and the paths disagreed. Only
#: timeout.maildoctor.test, which never answers, waits all of it, once per path.
DNS_TIMEOUT = 3.0


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_to_dict_is_the_cli_json_with_dns(nameserver: str, lang: str) -> None:
    expected = cli_json(
        *ADDRESSES, "--nameserver", nameserver, "--dns-timeout", str(DNS_TIMEOUT), "--lang", lang
    )
    got = [
        check_one(a, nameservers=[nameserver], dns_timeout=DNS_TIMEOUT, lang=lang).to_dict()
        for a in ADDRESSES
    ]
    assert got == expected


def test_to_dict_is_the_cli_json_offline() -> None:
    expected = cli_json(*ADDRESSES, "--offline")
    assert [check_one(a, offline=True).to_dict() for a in ADDRESSES] == expected


@pytest.mark.slow
def test_async_check_address_and_check_many_agree_with_check_one(nameserver: str) -> None:
    async def run() -> tuple[list[CheckResult], list[CheckResult], list[CheckResult]]:
        resolver = make_resolver([nameserver], DNS_TIMEOUT)

        async def one() -> list[CheckResult]:
            return [await check_address(a, probe=DNSProbe(resolver)) for a in ADDRESSES]

        async def many() -> list[CheckResult]:
            return [r async for r in check_many(ADDRESSES, probe=DNSProbe(resolver))]

        async def served() -> list[CheckResult]:
            cached = CachedProbe.for_nameservers([nameserver], timeout=DNS_TIMEOUT)
            return [await check_address(a, probe=cached) for a in ADDRESSES]

        # Three probes of their own side by side: the silent domain's wait is paid once.
        return await asyncio.gather(one(), many(), served())

    one, many, served = asyncio.run(run())
    sync = [
        check_one(a, nameservers=[nameserver], dns_timeout=DNS_TIMEOUT).to_dict() for a in ADDRESSES
    ]
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
