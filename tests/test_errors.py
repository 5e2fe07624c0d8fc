"""The one exception family (maildoctor.errors): every kind has one exit status and one
HTTP status, each set in one place, and the capabilities' own errors are of a kind."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import maildoctor
from maildoctor.cli import EXIT_STATUS, exit_status, main
from maildoctor.errors import BadInput, CouldNotRun, DnsUntrusted, MaildoctorError, StoreFailure
from maildoctor.web.errors import HTTP_STATUS, http_status


def _family() -> set[type[MaildoctorError]]:
    """Every exception class in maildoctor that belongs to the family."""
    for info in pkgutil.walk_packages(maildoctor.__path__, "maildoctor."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    found: set[type[MaildoctorError]] = set()
    todo: list[type[MaildoctorError]] = [MaildoctorError]
    while todo:
        kind = todo.pop()
        found.add(kind)
        todo.extend(kind.__subclasses__())
    return found


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [(BadInput, 2, 400), (DnsUntrusted, 3, 503), (CouldNotRun, 4, 503), (StoreFailure, 4, 503)],
)
def test_each_kind_has_its_exit_status_and_http_status(
    kind: type[MaildoctorError], code: int, status: int
) -> None:
    assert exit_status(kind("x")) == code
    assert http_status(kind("x")) == status


def test_the_capabilities_errors_are_each_of_a_kind() -> None:
    from maildoctor.diagnose.history import HistoryError
    from maildoctor.diagnose.results import TrialFailed
    from maildoctor.harness.store import StoreError
    from maildoctor.mail.templating import TemplatingError
    from maildoctor.tickets import UnknownTicket

    assert issubclass(StoreError, StoreFailure)
    assert issubclass(HistoryError, StoreFailure)
    assert issubclass(TrialFailed, CouldNotRun)
    assert issubclass(TemplatingError, BadInput)
    assert issubclass(UnknownTicket, BadInput)
    # No member of the family falls through to a default status.
    for kind in _family() - {MaildoctorError}:
        assert any(k in EXIT_STATUS for k in kind.__mro__), kind
        assert any(k in HTTP_STATUS for k in kind.__mro__), kind


def test_a_store_failure_raised_in_a_command_is_one_line_and_exit_4(tmp_path: Path) -> None:
    directory = tmp_path / "a-directory"
    directory.mkdir()
    result = CliRunner().invoke(
        main, ["diagnose", "a@gmail.com", "--offline", "--db", str(directory)]
    )
    assert result.exit_code == 4
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: the delivery-trial harness could not start: ")


def test_bad_input_raised_in_a_command_is_one_line_and_exit_2(tmp_path: Path) -> None:
    binary = tmp_path / "list.csv"
    binary.write_bytes(b"\x00\xff\xfe\x00" * 100)
    result = CliRunner().invoke(main, ["check", "--file", str(binary), "--offline"])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ")
    assert "Traceback" not in result.output
