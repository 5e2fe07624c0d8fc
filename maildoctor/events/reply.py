"""A receiving server's reply, read by the bounce explainer's classifier.

A log line ``said: 550 5.7.1 ... (in reply to RCPT TO command)`` and a DSN with the
same words must get the same reason, hard/soft and advice: both go through
:func:`maildoctor.bounce.classify`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from maildoctor.bounce import BounceRecipient, ParsedBounce, classify
from maildoctor.bounce.message import codes, smtp_command

__all__ = ["Reading", "read_reply"]

# Postfix: "host mx.example.jp[192.0.2.1] said: 550 ... (in reply to RCPT TO command)"
_HOST_SAID = re.compile(r"^host (\S+?)(?:\[[^\]]*\])? said: ", re.I)


@dataclass(frozen=True)
class Reading:
    """What the classifier made of one reply."""

    reason: str
    hard: bool
    status: str
    """RFC 3463 status found in the words (or given)."""
    advice: tuple[str, ...]


def read_reply(
    reply: str, recipient: str, *, status: str = "", remote: str = "", failed: bool = True
) -> Reading:
    """Classify ``reply`` for ``recipient`` as a failed (or delayed) delivery.

    ``status`` is the RFC 3463 code when the source gives it apart from the words.
    The reading depends on the recipient's domain, never its local part, so one
    server's reply to many mailboxes is classified once.
    """
    local, at, domain = recipient.rpartition("@")
    if at and local:
        reply = reply.replace(recipient, "\0")
        recipient = f"\0@{domain}"
    return _read(reply, recipient, status, remote, failed)


@functools.lru_cache(maxsize=8192)
def _read(reply: str, recipient: str, status: str, remote: str, failed: bool) -> Reading:
    words = reply
    said = _HOST_SAID.match(reply)
    if said:
        remote = remote or said.group(1)
        words = reply[said.end() :]
    found_status, reply_code = codes(words)
    status = status or found_status
    bounce = ParsedBounce(
        kind="dsn",
        mta="",
        reporting_mta="",
        subject="",
        sender="",
        text="",
        original_to=recipient,
        date=None,
        recipients=(
            BounceRecipient(
                recipient=recipient,
                action="failed" if failed else "delayed",
                status=status,
                reply_code=reply_code,
                diagnostic=words,
                remote_mta=remote,
                command=smtp_command(words),
                diagnostic_type="SMTP",
            ),
        ),
    )
    e = classify(bounce)[0]
    return Reading(reason=e.reason, hard=e.hard_bounce, status=status, advice=e.advice)
