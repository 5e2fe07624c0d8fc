"""What ``maildoctor lint`` reads from the project it runs in.

- The allow list of ``[tool.maildoctor.lint]`` in the nearest ``pyproject.toml``
  that has the table, searched from the current directory upward (as ruff finds
  its ``[tool.ruff]``)::

      [tool.maildoctor.lint]
      allow = ["too_many_links", "message_too_large:softbank"]
      clients = ["gmail", "apple-mail", "outlook", "yahoo"]   # caniemail families

- A git revision's copy of the templates folder, for ``--diff BASE``
  (``git archive``, extracted into a temporary folder).
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import click

__all__ = ["LintConfig", "find_lint_config", "templates_at_revision"]


@dataclass(frozen=True, kw_only=True)
class LintConfig:
    """The project's lint settings."""

    allow: tuple[str, ...] = ()
    """Rule ids (``RULE`` or ``RULE:CARRIER``) allowed on purpose."""
    clients: tuple[str, ...] = ()
    """caniemail client families to check the HTML for (``lint --clients``)."""
    path: Path | None = None
    """The pyproject.toml they come from, None when there is none."""


def find_lint_config(start: Path) -> LintConfig:
    """The ``[tool.maildoctor.lint]`` table nearest to ``start`` (a folder), upward."""
    for folder in (start.resolve(), *start.resolve().parents):
        path = folder / "pyproject.toml"
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise click.UsageError(f"{path} cannot be read as TOML: {e}.") from e
        table = data.get("tool", {}).get("maildoctor", {}).get("lint")
        if table is None:
            continue
        allow = table.get("allow", []) if isinstance(table, dict) else None
        if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
            raise click.UsageError(
                f"{path}: [tool.maildoctor.lint] allow must be a list of rule ids, such as "
                'allow = ["too_many_links"].'
            )
        clients = table.get("clients", []) if isinstance(table, dict) else None
        if not isinstance(clients, list) or not all(isinstance(c, str) for c in clients):
            raise click.UsageError(
                f"{path}: [tool.maildoctor.lint] clients must be a list of client families, "
                'such as clients = ["gmail", "outlook"].'
            )
        return LintConfig(allow=tuple(allow), clients=tuple(clients), path=path)
    return LintConfig()


def _git(folder: Path, *args: str, error: str | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, check=False, timeout=120
        )
    except FileNotFoundError:
        raise click.UsageError("--diff needs git, which is not installed.") from None
    except subprocess.TimeoutExpired:
        raise click.ClickException(f"git {args[0]} did not finish within 120 s.") from None
    if done.returncode != 0:
        if error:
            raise click.UsageError(error)
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise click.UsageError(f"git {args[0]} failed: {said[-1] if said else 'no message'}.")
    return done.stdout


def templates_at_revision(folder: Path, revision: str, dest: Path) -> Path:
    """The templates folder ``folder`` as it is at git ``revision``, extracted under ``dest``."""
    if revision.startswith("-"):
        raise click.UsageError(f"--diff {revision!r} is not a git revision.")
    real = folder.resolve()
    top = Path(
        _git(
            real,
            "rev-parse",
            "--show-toplevel",
            error=f"--diff needs the templates folder {str(folder)!r} in a git repository.",
        )
        .decode()
        .strip()
    ).resolve()
    relative = real.relative_to(top).as_posix()
    _git(
        top,
        "rev-parse",
        "--verify",
        "--quiet",
        f"{revision}^{{commit}}",
        error=f"There is no git revision {revision!r} in {str(top)!r}.",
    )
    listed = _git(top, "ls-tree", "-d", "--name-only", revision, "--", relative or ".")
    if relative and not listed.strip():
        raise click.UsageError(f"The folder {relative!r} does not exist at {revision!r}.")
    archive = _git(top, "archive", "--format=tar", revision, "--", relative or ".")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest / relative if relative else dest
