"""Every ``console`` and ``python`` block of README.md runs as written.

The test reads whatever blocks the README holds (other sections change under it),
in order, and runs each in one scratch folder shared by the whole README, as a
reader following it would:

- the folder holds a copy of ``templates/``, links to ``tests/``, ``bench/``,
  ``docs/`` and ``README.md``, and ``.venv`` pointing at the running environment;
  each console block gets a new temporary ``HOME`` (where ``diagnose`` keeps its
  harness database), shown as ``~`` in its output;
- ``127.0.0.1:5353`` in a block is the test zones' DNS server (tests/dnsserver.py
  with tests/data/zones/test.zone and sender.zone), which this test starts; every other fixed
  loopback port of a block (``127.0.0.1:N``, ``localhost:N``, ``port=N``) is moved to
  a free one, and after a command put in the background (``&``) the test waits
  until the ports it names accept connections;
- ``MAILDOCTOR_NAMESERVER`` is a DNS server that answers NXDOMAIN for every name:
  the README's "machine without working DNS", on any machine, offline;
- a quick-start line ``python3 -m venv .venv && .venv/bin/pip install ... && CMD``
  runs only ``CMD`` (the environment is installed already).

A ``console`` block with ``$ `` prompts runs each command and compares its output
(stdout and stderr, as a terminal shows them) with the lines shown under it: a line
``...`` (or ``…``) stands for any number of lines, ``...`` inside a line for any
text, and Message-IDs, Date headers and MIME boundaries are compared as such. A
command shown without output, and every line of a block without prompts, must
end with a verdict (exit 0, 1 or 3) and no traceback. A ``python`` block runs as
a script, or with pytest when it defines tests.

An HTML comment right before a block steers it:
``<!-- readme-test: skip: REASON -->`` (not run; each must give its reason),
``<!-- readme-test: file PATH -->`` (the block is written to PATH in the scratch
folder before anything runs, for the blocks after it to use), and on a ``text``
block ``<!-- readme-test: output -->`` or ``output-start`` (it shows what the last
command of the block before it prints, all of it or how it starts). The home
folder in printed output reads as ``~``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dnsserver import ZONES_DIR, DNSTestServer
from tests.ports import free_port
from tests.readme_blocks import (
    PORT,
    QUIET_OK,
    Block,
    Command,
    attached_output,
    block_ids,
    output_matches,
    parse_blocks,
    parse_console,
)

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

#: Seconds one block may take (the CI example runs a pytest session and a server).
BLOCK_TIMEOUT = 120

BLOCKS = parse_blocks(README.read_text("utf-8"))
FILES = [b for b in BLOCKS if b.directive and b.directive.startswith("file ")]
NOT_RUN = [b for b in BLOCKS if b.directive and b.directive.startswith("skip")]
RUN = [b for b in BLOCKS if b.lang in ("console", "python") and b not in FILES and b not in NOT_RUN]


# --- the scratch folder ------------------------------------------------------------


@dataclass
class Scratch:
    work: Path
    env: dict[str, str]
    zones: str
    """The test zone's DNS server, ``127.0.0.1:PORT``."""


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    work = tmp_path_factory.mktemp("readme")
    home = tmp_path_factory.mktemp("home")
    shutil.copytree(ROOT / "templates", work / "templates")
    for name in ("tests", "bench", "docs"):
        (work / name).symlink_to(ROOT / name, target_is_directory=True)
    (work / "README.md").symlink_to(README)
    (work / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    for block in FILES:
        path = work / block.directive.removeprefix("file ").strip()  # type: ignore[union-attr]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.text, "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILDOCTOR_", "PYTEST_"))}
    with (
        DNSTestServer.from_files(ZONES_DIR / "test.zone", ZONES_DIR / "sender.zone") as zones,
        DNSTestServer() as sinkhole,
    ):
        env.update(
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            HOME=str(home),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            MAILDOCTOR_NAMESERVER=sinkhole.nameserver,
            # The example project's pytest runs as in a fresh project: without the
            # plugins of maildoctor's own test environment (maildoctor's stays).
            PYTEST_ADDOPTS="-p no:asyncio -p no:hypothesispytest -p no:cacheprovider",
            PYTHONDONTWRITEBYTECODE="1",
            LC_ALL="C.UTF-8",
            COLUMNS="80",
        )
        yield Scratch(work=work, env=env, zones=zones.nameserver)


def _move_ports(text: str, scratch: Scratch) -> tuple[str, dict[str, int]]:
    """The block with 5353 as the test zone's server and other fixed ports made free."""
    zones_port = scratch.zones.rsplit(":", 1)[1]
    moved: dict[str, int] = {}

    def swap(m: re.Match[str]) -> str:
        port = m.group(1)
        if port == "5353":
            return zones_port
        if port not in moved:
            moved[port] = free_port()
        return str(moved[port])

    return PORT.sub(swap, text), moved


def run_group(argv: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[int | None, bytes]:
    """Run a command in a session of its own and end every process left in it.

    Returns the exit status (None when it ran past :data:`BLOCK_TIMEOUT`) and the
    output. Whatever an example started in the background (a server) is stopped
    with the session, so no test leaves a server running.
    """
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    status: int | None = None
    out = b""
    try:
        out, _ = proc.communicate(timeout=BLOCK_TIMEOUT)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        pass
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    if status is None:
        out, _ = proc.communicate()
    return status, out


def _wait_for_ports(ports: list[int]) -> str:
    """Shell lines that wait (15 s at most) until the ports accept connections."""
    if not ports:
        return ""
    code = textwrap.dedent(
        f"""\
        import socket, sys, time
        for port in {ports!r}:
            for _ in range(150):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                sys.exit(f"readme-test: nothing listens on port {{port}}")
        """
    )
    return f"python - <<'READMEPY'\n{code}READMEPY\n"


def _script(commands: list[Command], work: Path) -> str:
    parts = [
        "exec 2>&1",
        f"cd {str(work)!r}",
        "trap 'kill $(jobs -p) 2>/dev/null; sleep 0.2; kill -9 $(jobs -p) 2>/dev/null' EXIT",
    ]
    parts.append("__rc=0")
    for n, c in enumerate(commands):
        parts.append(f"echo '@@readme-cmd {n}@@'")
        parts.append('(exit "$__rc")')  # so that `echo $?` sees the previous command's status
        parts.append(c.command)
        parts.append("__rc=$?; printf '\\n@@readme-rc %s@@\\n' \"$__rc\"")
        if c.background:
            parts.append(_wait_for_ports(c.ports))
    return "\n".join(parts) + "\n"


def _split_output(out: str, count: int) -> list[tuple[list[str], int | None]]:
    """Each command's output lines and exit status, from the script's marked output."""
    results: list[tuple[list[str], int | None]] = [([], None)] * count
    pieces = re.split(r"^@@readme-cmd (\d+)@@\n", out, flags=re.MULTILINE)
    for number, chunk in zip(pieces[1::2], pieces[2::2], strict=True):
        body, marker, rest = chunk.rpartition("\n@@readme-rc ")
        if not marker:
            results[int(number)] = (chunk.splitlines(), None)
            continue
        rc = int(rest.split("@@", 1)[0])
        body = body.removesuffix("\n")
        results[int(number)] = (body.splitlines() if body else [], rc)
    return results


def run_console(block: Block, scratch: Scratch) -> list[str]:
    """Run a console block; the problems found (empty when it ran as shown)."""
    text, moved = _move_ports(block.text, scratch)
    commands = parse_console(text)
    for c in commands:
        c.ports = [p for p in moved.values() if str(p) in c.command]
    attached = attached_output(BLOCKS, block)
    if attached is not None and commands and commands[-1].expected is None:
        commands[-1].expected = attached
    # A home folder of its own: what one example stores (diagnose's harness
    # database) does not change what the next one prints.
    home = Path(tempfile.mkdtemp(prefix="home-", dir=scratch.work))
    env = {**scratch.env, "HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share")}
    status, raw = run_group(
        ["bash", "-c", _script(commands, scratch.work)], cwd=scratch.work, env=env
    )
    # the home folder reads as "~", as the README writes it
    out = raw.decode("utf-8", "replace").replace(str(home), "~")
    problems = []
    for c, (actual, rc) in zip(commands, _split_output(out, len(commands)), strict=True):
        shown = "\n".join(actual[:60]) + ("\n..." if len(actual) > 60 else "")
        if rc is None and not c.background:
            problems.append(
                f"$ {c.command}\n  did not finish"
                + (f" within {BLOCK_TIMEOUT} s" if status is None else "")
                + " (a server left running? end the command with & or mark the block "
                f"<!-- readme-test: skip: REASON -->); its output:\n{shown}"
            )
        elif c.expected is None:
            if rc not in (*QUIET_OK, None) or "Traceback (most recent call last)" in out:
                problems.append(f"$ {c.command}\n  exited {rc}; its output:\n{shown}")
        elif not output_matches(c.expected, actual):
            problems.append(
                f"$ {c.command}\n  --- shown in README.md\n"
                + "\n".join(c.expected)
                + f"\n  --- printed (exit {rc})\n{shown}"
            )
    return problems


# --- python blocks -----------------------------------------------------------------


def run_python(block: Block, scratch: Scratch) -> list[str]:
    text, _ = _move_ports(block.text, scratch)
    if re.search(r"^def test_", text, re.MULTILINE):
        folder = scratch.work / "readme-pytest"
        folder.mkdir(exist_ok=True)
        path = folder / f"test_readme_line{block.line}.py"
        path.write_text(text, "utf-8")
        argv = [sys.executable, "-m", "pytest", "-q", str(path)]
    else:
        path = scratch.work / f"readme_line{block.line}.py"
        path.write_text(text, "utf-8")
        argv = [sys.executable, str(path)]
    status, raw = run_group(argv, cwd=scratch.work, env=scratch.env)
    if status == 0:
        return []
    out = raw.decode("utf-8", "replace")
    ended = f"exited {status}" if status is not None else f"ran past {BLOCK_TIMEOUT} s"
    return [f"{' '.join(argv[1:])} {ended}:\n{out[-4000:]}"]


# --- the tests ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("block", RUN, ids=block_ids(RUN))
def test_readme_block_runs_as_written(block: Block, scratch: Scratch) -> None:
    if block.directive:
        pytest.fail(
            f"README.md line {block.line}: unknown readme-test directive {block.directive!r}"
        )
    run = run_console if block.lang == "console" else run_python
    problems = run(block, scratch)
    assert not problems, f"README.md line {block.line} ({block.lang}):\n\n" + "\n\n".join(problems)


def test_each_block_not_run_says_why() -> None:
    """A block the test does not run (a benchmark, a server left running, the suite itself)
    is marked in the README with its reason, and the list stays short."""
    reasons = {b.line: b.directive.partition(":")[2].strip() for b in NOT_RUN}  # type: ignore[union-attr]
    assert all(len(reason) >= 10 for reason in reasons.values()), reasons
    assert all(b.lang in ("console", "python") for b in NOT_RUN)
    assert len(NOT_RUN) <= len(RUN) // 4, f"{len(NOT_RUN)} of {len(BLOCKS)} blocks are not run"


def test_the_readme_has_the_ci_example() -> None:
    """The CI example's files are there for the console block that runs its job."""
    written = {b.directive.removeprefix("file ").strip() for b in FILES if b.directive}
    assert {
        "shop/pyproject.toml",
        "shop/signup.py",
        "shop/tests/test_signup_mail.py",
        "shop/ci/mail-check.sh",
        "shop/.github/workflows/mail.yml",
    } <= written
    assert any("sh ci/mail-check.sh" in b.text for b in RUN if b.lang == "console")


@pytest.mark.parametrize(
    ("expected", "actual", "fits"),
    [
        (["a", "...", "z"], ["a", "b", "c", "z"], True),
        (["a", "…"], ["a"], True),
        (["Wrote x (... bytes)."], ["Wrote x (4693 bytes)."], True),
        (["a", "b"], ["a", "c"], False),
        (["a"], ["a", "b"], False),
        (["Date: Tue, 24 Nov 2026"], ["Date: Wed, 2 Dec 2026 10:00:00 +0900"], True),
    ],
)
def test_output_matching(expected: list[str], actual: list[str], fits: bool) -> None:
    assert output_matches(expected, actual) is fits


def test_parse_blocks_reads_directives_and_indented_fences() -> None:
    text = (
        "<!-- readme-test: skip: needs a package index -->\n\n```console\n$ pip install x\n```\n"
        "- item:\n\n  ```python\n  print(1)\n  ```\n"
    )
    first, second = parse_blocks(text)
    assert (first.lang, first.directive, first.line) == (
        "console",
        "skip: needs a package index",
        3,
    )
    assert (second.lang, second.text, second.directive) == ("python", "print(1)\n", None)


def _shop(folder: Path) -> Path:
    """The README's shop project, alone in a fresh folder."""
    for block in FILES:
        relative = (block.directive or "").removeprefix("file ").strip()
        if relative.startswith("shop/"):
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.text, "utf-8")
    return folder / "shop"


@pytest.mark.slow
def test_the_ci_example_gates_on_lint_and_allows_on_purpose(
    tmp_path: Path, scratch: Scratch
) -> None:
    shop = _shop(tmp_path)
    broken = Path(shutil.copytree(ROOT / "templates", tmp_path / "templates"))
    html = broken / "password_reset" / "body.html.j2"
    html.write_text(
        html.read_text("utf-8").replace("{% endblock %}", "<script>x()</script>\n{% endblock %}")
    )
    env = {**scratch.env, "MAILDOCTOR_TEMPLATES": str(broken)}

    def job() -> tuple[int | None, str]:
        status, out = run_group(["sh", "ci/mail-check.sh"], cwd=shop, env=env)
        return status, out.decode("utf-8", "replace")

    status, out = job()
    assert status == 1, out
    # lint words its report in Japanese by default, as every command does
    assert "  エラー: html_script: HTMLパートにスクリプトがあります(a <script> element)。" in out
    assert "passed" not in out  # the gate stops the job before the tests

    pyproject = shop / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text("utf-8").replace("allow = []", 'allow = ["html_script"]')
    )
    status, out = job()
    assert status == 0, out
    assert "password_reset/default: OK(許可 1件)" in out
    assert re.search(r"^3 passed in ", out, re.MULTILINE), out


def test_run_group_stops_what_a_block_leaves_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "BLOCK_TIMEOUT", 1)
    status, out = run_group(
        ["bash", "-c", "sleep 300 & echo $!; sleep 300"], cwd=tmp_path, env=dict(os.environ)
    )
    assert status is None
    pid = int(out.split()[0])
    stat = Path(f"/proc/{pid}/stat")

    def running() -> bool:
        # gone, or a zombie waiting for its new parent to reap it: not running
        try:
            return stat.read_text().split(") ", 1)[1][0] not in "ZX"
        except FileNotFoundError:
            return False

    # The kill is delivered asynchronously: wait for it (bounded) rather than a fixed pause.
    deadline = time.monotonic() + 10
    while running():
        assert time.monotonic() < deadline, f"the block's background child {pid} still runs"
        time.sleep(0.02)
