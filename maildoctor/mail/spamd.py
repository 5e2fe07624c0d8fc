"""``--spamd HOST:PORT``: score a rendered message with a real SpamAssassin spamd.

Speaks the SPAMC/1.5 protocol's REPORT command itself (a request header, the
message, one response: ``Spam: True ; 6.1 / 5.0`` and SpamAssassin's report
table, one rule per row with its points). That is some fifty lines over one
blocking socket, which is what the synchronous CLI needs; aiospamc would add an
asyncio client and a dependency for the same two calls, and leaves the report's
rule table to its caller to parse all the same.

The message is sent as it would be (bytes); the answer is bounded
(:data:`MAX_RESPONSE`) and the whole exchange has a time budget.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from maildoctor.mail.lint_rules import LintFinding, lint_finding

__all__ = ["MAX_RESPONSE", "SpamRule", "SpamScore", "SpamdError", "parse_address", "score"]

MAX_RESPONSE = 1024 * 1024
_STATUS = re.compile(rb"^SPAMD/(\d+\.\d+) (\d+) (.*)$")
_SPAM = re.compile(r"^\s*(True|False|Yes|No)\s*;\s*(-?\d+(?:\.\d+)?)\s*/\s*(-?\d+(?:\.\d+)?)", re.I)
_ROW = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*)$")


class SpamdError(Exception):
    """spamd could not be asked, or answered with an error: the check did not run."""


@dataclass(frozen=True, kw_only=True)
class SpamRule:
    """One SpamAssassin rule that fired."""

    name: str
    points: float
    description: str


@dataclass(frozen=True, kw_only=True)
class SpamScore:
    """spamd's verdict on one message."""

    score: float
    required: float
    is_spam: bool
    rules: tuple[SpamRule, ...] = field(default_factory=tuple)
    server: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ran": True,
            "server": self.server,
            "score": self.score,
            "required": self.required,
            "is_spam": self.is_spam,
            "rules": [
                {"name": r.name, "points": r.points, "description": r.description}
                for r in self.rules
            ],
        }

    def findings(self) -> list[LintFinding]:
        """``spam_score`` when spamd calls the message spam, naming the rules by points."""
        if not self.is_spam:
            return []
        ranked = sorted(self.rules, key=lambda r: -r.points)
        rules = ", ".join(f"{r.name} {r.points:+.1f}" for r in ranked if r.points > 0)
        return [
            lint_finding(
                "spam_score",
                score=f"{self.score:.1f}",
                required=f"{self.required:.1f}",
                rules=rules,
            )
        ]


def parse_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:783`` for IPv6) as a (host, port) pair; ValueError if not."""
    host, colon, port = value.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT (for example 127.0.0.1:783)")
    return host.strip("[]"), int(port)


def parse_report(text: str) -> tuple[SpamRule, ...]:
    """The rows of SpamAssassin's report table (continuation lines join their row)."""
    rules: list[SpamRule] = []
    in_table = False
    for line in text.splitlines():
        if line.startswith("----"):
            in_table = True
            continue
        if not in_table:
            continue
        if m := _ROW.match(line):
            rules.append(
                SpamRule(name=m.group(2), points=float(m.group(1)), description=m.group(3).strip())
            )
        elif rules and line.startswith(" " * 8) and line.strip():
            last = rules[-1]
            rules[-1] = SpamRule(
                name=last.name, points=last.points, description=f"{last.description} {line.strip()}"
            )
        elif not line.strip():
            in_table = False
    return tuple(rules)


def _read_all(sock: socket.socket, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_RESPONSE:
            raise SpamdError(f"spamd answered more than {MAX_RESPONSE} bytes")
        chunks.append(chunk)


def score(raw: bytes, host: str, port: int, *, timeout: float = 30.0) -> SpamScore:
    """Ask spamd at host:port to score ``raw``; :class:`SpamdError` when it cannot."""
    server = f"{host}:{port}"
    request = (
        b"REPORT SPAMC/1.5\r\n"
        + f"Content-length: {len(raw)}\r\n".encode()
        + b"User: maildoctor\r\n\r\n"
        + raw
    )
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
            answer = _read_all(sock, deadline)
    except TimeoutError as e:
        raise SpamdError(f"spamd at {server} did not answer within {timeout:g} s") from e
    except OSError as e:
        raise SpamdError(f"spamd at {server} could not be reached: {e.strerror or e}") from e
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = _STATUS.match(lines[0]) if lines else None
    if status is None:
        raise SpamdError(f"{server} did not answer as spamd does ({answer[:40]!r})")
    if status.group(2) != b"0":
        said = status.group(3).decode("ascii", "replace")
        raise SpamdError(
            f"spamd at {server} refused the message: {status.group(2).decode()} {said}"
        )
    headers = {}
    for line in lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    verdict = _SPAM.match(headers.get("spam", ""))
    if verdict is None:
        raise SpamdError(f"spamd at {server} gave no score (no Spam: header)")
    return SpamScore(
        score=float(verdict.group(2)),
        required=float(verdict.group(3)),
        is_spam=verdict.group(1).lower() in ("true", "yes"),
        rules=parse_report(body.decode("utf-8", "replace")),
        server=server,
    )
