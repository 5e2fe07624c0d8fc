"""The command line: one click group whose subcommands are imported on demand.

Each subcommand lives in its own module (``maildoctor.cli.<name>``) exposing a
click command called ``command``. Importing lazily keeps ``maildoctor diagnose``
from paying for the imports of ``serve`` or ``lint`` (a support agent runs it
many times a day).
"""

from __future__ import annotations

import errno
import importlib
import io
import os
import sys
from typing import Any

import click

from maildoctor import __version__
from maildoctor.errors import BadInput, CouldNotRun, DnsUntrusted, MaildoctorError, by_kind

#: The one place a kind of failure becomes an exit status (README "Exit status").
EXIT_STATUS: dict[type[MaildoctorError], int] = {
    BadInput: 2,
    DnsUntrusted: 3,
    CouldNotRun: 4,  # StoreFailure, TrialFailed... are kinds of CouldNotRun
}


#: Ctrl-C (SIGINT) ends a command with the shell's status for it, 128 + 2.
EXIT_INTERRUPTED = 130
INTERRUPTED_SAYS = "what was printed is incomplete."


def exit_status(error: MaildoctorError) -> int:
    """The exit status of a failure: its kind's, the nearest in its class's ancestry."""
    return by_kind(error, EXIT_STATUS, 1)


class Failed(click.ClickException):
    """A reported failure on its way out: ``Error: <one line>`` and its kind's status."""

    @classmethod
    def of(cls, error: MaildoctorError) -> Failed:
        """The click exception that prints ``error`` and exits with its kind's status
        (click reads ``exit_code`` from the class)."""
        status = exit_status(error)
        return type(f"Failed{status}", (cls,), {"exit_code": status})(str(error))


#: subcommand name -> (module, one-line help shown by ``maildoctor --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("maildoctor.cli.check", "Check addresses for the causes of non-delivery."),
    "diagnose": (
        "maildoctor.cli.diagnose",
        "Full diagnosis of one address: checks, a delivery trial, advice.",
    ),
    "templates": ("maildoctor.cli.render", "List the notification templates and their variables."),
    "render": ("maildoctor.cli.render", "Render a notification template into a MIME message."),
    "lint": ("maildoctor.cli.lint", "Lint the templates or sent messages (for CI)."),
    "preview": ("maildoctor.cli.preview", "Preview the templates in the browser, live on save."),
    "serve": ("maildoctor.cli.serve", "Run the SMTP capture harness with its web UI and API."),
    "send": ("maildoctor.cli.send", "Render a template and send it over SMTP."),
    "bounce": ("maildoctor.cli.bounce", "Explain bounce messages."),
    "sender": ("maildoctor.cli.sender", "Audit the sending domain's DNS (SPF, DKIM, DMARC, rDNS)."),
    "events": (
        "maildoctor.cli.events",
        "Delivery records: ingest logs and ESP events, show one address.",
    ),
}


class _ClosedOutput(io.RawIOBase):
    """What a closed stdout (``>&-``) writes to: the first write fails as on a closed
    descriptor (the command says so and exits 4); later ones, the buffer's last flush
    at exit included, are dropped instead of failing again."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if not self.failed:
            self.failed = True
            raise OSError(errno.EBADF, "stdout is closed")
        return len(data)


def standard_streams() -> None:
    """Give a command started with stdin, stdout or stderr closed (``<&-``, ``>&-``,
    a daemon's spawn) usable streams, instead of the ``None`` Python leaves there.

    Descriptors 0-2 get /dev/null, so that no file the command opens (a SQLite store)
    becomes "stdout" for a child or a stray write. A closed stdin reads as empty
    ("stdin is empty"); a closed stdout fails on the first write (one line, exit 4).
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one
    if sys.stdin is None:
        empty = io.FileIO(os.devnull)
        empty.name = "<stdin>"  # named as stdin is ("Reading stdin ..."), not /dev/null
        sys.stdin = io.TextIOWrapper(io.BufferedReader(empty), encoding="utf-8")
    if sys.stdout is None:
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(_ClosedOutput()), encoding="utf-8")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when it is invoked, and reports
    what a subcommand raised of the exception family (:data:`EXIT_STATUS`), and output
    that could not be written (a full disk, a closed stdout) as what it is."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        standard_streams()
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        from maildoctor.cli.options import WRITE_ERRNOS, write_failure

        try:
            try:
                return super().invoke(ctx)
            finally:  # what stdout still holds is written now, where a failure is caught
                sys.stdout.flush()
        except MaildoctorError as e:
            raise Failed.of(e) from e
        except KeyboardInterrupt:
            # click says "Aborted!" and exits 1, which `check` and `diagnose` use for
            # "risky": a CI job would read an interrupted run as a verdict.
            click.echo(f"Interrupted: stopped before the end; {INTERRUPTED_SAYS}", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except OSError as e:
            if e.errno not in WRITE_ERRNOS:
                raise  # EPIPE (`| head -1`) is click's: a quiet exit
            raise Failed.of(write_failure(e, e.filename)) from e

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        attr = "command" if cmd_name != "templates" else "templates_command"
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help text comes from the table so that `--help` imports nothing.
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="maildoctor")
def main() -> None:
    """maildoctor: "the mail didn't arrive: why, and what should the customer do?"

    For Lentrance support agents, template developers and CI.
    """
