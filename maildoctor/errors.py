"""The one exception family: every failure maildoctor reports is one of four kinds.

A command or a handler raises; it never picks an exit code or an HTTP status itself.
The CLI maps a kind to its exit status in one place (``maildoctor.cli.EXIT_STATUS``)
and the web app to its HTTP status in one place (``maildoctor.web.errors.HTTP_STATUS``),
so that the README's exit-status table and the API's statuses stay true by
construction. The capability packages derive their own errors from these
(``StoreError`` is a :class:`StoreFailure`, ``TrialFailed`` a :class:`CouldNotRun`).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "BadInput",
    "CouldNotRun",
    "DnsUntrusted",
    "MaildoctorError",
    "StoreFailure",
    "by_kind",
]


class MaildoctorError(Exception):
    """Something maildoctor says in one line; ``str(error)`` is that line."""


class BadInput(MaildoctorError):
    """The input cannot be used (an empty address, a file that is not text, a broken
    template): the user fixes it. Exit 2, HTTP 400."""


class CouldNotRun(MaildoctorError):
    """The job could not be done here for a reason that is not the input's (a harness
    that does not answer, a port in use). Exit 4, HTTP 503. Never a finding."""


class StoreFailure(CouldNotRun):
    """A SQLite store could not be opened, read or written (sqlite3.Error turned into
    what it means: full disk, damaged pages, read-only). Exit 4, HTTP 503."""


class DnsUntrusted(MaildoctorError):
    """DNS did not answer or failed the canary check, and the job needs it to say more
    than "unknown". Exit 3, HTTP 503."""


def by_kind(
    error: MaildoctorError, table: Mapping[type[MaildoctorError], int], default: int
) -> int:
    """``error``'s entry in a kind -> number table (an exit status, an HTTP status): its
    own class's, else the nearest of its ancestors'."""
    for kind in type(error).__mro__:
        if kind in table:
            return table[kind]
    return default
