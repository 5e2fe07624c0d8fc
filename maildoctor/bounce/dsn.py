"""RFC 3464 delivery status notifications: the per-recipient field blocks of a
``message/delivery-status`` part (after ``Sisimai::RFC3464``)."""

from __future__ import annotations

import re

from maildoctor.bounce.lhost import find_segments
from maildoctor.bounce.message import (
    STATUS_RE,
    clean,
    codes,
    decode_part,
    smtp_command,
    typed_value,
)
from maildoctor.bounce.mime import MimePart
from maildoctor.bounce.model import BounceRecipient
from maildoctor.bounce.vocabulary import dsn_field_reason

_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9\-]*")


def _field_blocks(text: str) -> list[dict[str, str]]:
    """RFC 3464 field blocks (``Name: value`` lines, folded, blank-line separated)."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
                current, last = {}, ""
            continue
        if line[:1] in (" ", "\t") and last:
            current[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if sep and _FIELD_NAME.fullmatch(name.strip()):
            last = name.strip().lower()
            if last in current:  # a repeated field starts a new recipient block
                blocks.append(current)
                current = {}
            current[last] = value.strip()
    if current:
        blocks.append(current)
    return blocks


def dsn_text(part: MimePart) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):  # compat32 splits delivery-status into header blocks
        chunks = []
        for block in payload:
            if isinstance(block, MimePart):
                chunks.append(block.header_block())
        return "\n\n".join(chunks)
    return decode_part(part)


def dsn_recipients(dsn: str, text: str) -> tuple[str, list[BounceRecipient]]:
    blocks = _field_blocks(dsn)
    reporting = ""
    out: list[BounceRecipient] = []
    everyone = [
        typed_value(b.get("final-recipient") or b.get("original-recipient") or "").lower()
        for b in blocks
    ]
    # The words the text part prints next to each recipient, split between them all.
    nearby = find_segments(text, [r for r in everyone if r])
    for block in blocks:
        if "reporting-mta" in block and not reporting:
            reporting = typed_value(block["reporting-mta"])
        rcpt = block.get("final-recipient") or block.get("original-recipient") or ""
        if not rcpt and "action" not in block:
            continue
        recipient = typed_value(rcpt).lower()
        kind, sep, _ = block.get("diagnostic-code", "").partition(";")
        kind = kind.strip().upper() if sep and " " not in kind.strip() else ""
        kind = "SMTP" if kind == "X-POSTFIX" else kind  # Postfix relays SMTP replies as X-Postfix
        diagnostic = (
            typed_value(block.get("diagnostic-code", "")) if block.get("diagnostic-code") else ""
        )
        status_field = block.get("status", "").strip()
        m = STATUS_RE.search(status_field)
        status = m.group(1) if m else ""
        d_status, reply = codes(diagnostic)
        # The remote server's own code (the last one quoted in Diagnostic-Code) is
        # more precise than a generic x.0.0, or than the x.4.7 "queue lifetime
        # expired" that hides the last real error.
        quoted = STATUS_RE.findall(diagnostic)
        last = quoted[-1] if quoted else ""
        if not status or (
            last and (status.endswith(".0.0") or status.endswith(".4.7")) and last != status
        ):
            status = last or d_status or status
        near = nearby.get(recipient, "") if recipient else ""
        diagnostic = _whole_reply(text, diagnostic)
        if not diagnostic and near:
            diagnostic = near
            near_status, near_reply = codes(near)
            reply = reply or near_reply
            if near_status and (not status or status.endswith(".0.0")):
                status = near_status
        out.append(
            BounceRecipient(
                recipient=recipient,
                action=block.get("action", "").strip().lower(),
                status=status,
                reply_code=reply,
                diagnostic=clean(diagnostic),
                remote_mta=typed_value(block.get("remote-mta", "")),
                command=smtp_command(diagnostic + " " + near),
                diagnostic_type=kind,
                reason_hint=dsn_field_reason(block),
            )
        )
    return reporting, out


_REPLY_LINES = re.compile(r"(?:^<<< [^\n]*\n?)+", re.M)
_CONTINUED = re.compile(r"^\d{3}[ -](?:\d\.\d{1,3}\.\d{1,3} )?")


def _whole_reply(text: str, diagnostic: str) -> str:
    """The remote server's whole multi-line reply when the DSN kept only its first line.

    Sendmail's transcript quotes each reply line after ``<<< ``; its DSN field holds
    the first one (after ``Sisimai::Lhost::Sendmail``, which reads the transcript).
    """
    head = diagnostic.strip()[:40]
    if len(head) < 10 or "<<< " not in text:
        return diagnostic
    for block in _REPLY_LINES.finditer(text):
        lines = [line[4:].strip() for line in block.group(0).splitlines()]
        if not lines or not lines[0].startswith(head):
            continue
        rest = [_CONTINUED.sub("", line) for line in lines[1:]]
        whole = " ".join([lines[0], *rest])
        return whole if len(whole) > len(diagnostic) else diagnostic
    return diagnostic
