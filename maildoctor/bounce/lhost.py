"""Plain-text bounces (qmail, Exim, Sendmail, Gmail, au...): finding the failed
recipients and the words next to each in the human-readable text, after the
layouts ``Sisimai::Lhost::*`` read."""

from __future__ import annotations

import re

from maildoctor.bounce.message import ADDR_RE, NOT_RECIPIENT, clean, codes, lacks, smtp_command
from maildoctor.bounce.model import BounceRecipient

_NOT_A_RECIPIENT_BEFORE = re.compile(r"(message-id|id|from|by|envelope-from|sender)[:=\s<]*$")
_HELPDESK_BEFORE = re.compile(r"contact[:\s<]*$")


def find_candidates(text: str, exclude: set[str]) -> list[str]:
    """The addresses a text bounce names as failed, in order of appearance."""
    seen: list[str] = []
    quoted_to: list[str] = []
    helpdesk: set[str] = set()
    for m in ADDR_RE.finditer(text):
        addr = m.group(0).strip(".").lower()
        if addr in exclude or NOT_RECIPIENT.match(addr) or addr in seen or addr in helpdesk:
            continue
        if "/" in addr.split("@", 1)[0]:
            continue  # a file path that ends in an address (a delivery program's words)
        # "Message-ID"-like tokens and host names with no dot are not mailboxes
        if "." not in addr.split("@", 1)[1]:
            continue
        before = text[max(0, m.start() - 40) : m.start()].lower()
        if _NOT_A_RECIPIENT_BEFORE.search(before):
            continue
        if _HELPDESK_BEFORE.search(before):
            helpdesk.add(addr)  # "please contact <support@isp>": the ISP's help desk, every mention
            continue
        # Only the first address of a line names a recipient; later ones on the
        # same line are the server quoting something ("a@x <b@y>: malformed address").
        line = text[text.rfind("\n", 0, m.start()) + 1 : m.start()]
        if ADDR_RE.search(line):
            continue
        if re.fullmatch(r"\s*To:\s*<?", line, re.I):
            quoted_to.append(addr)  # the original's To header, quoted ("Your message To: ...")
            continue
        seen.append(addr)
    return seen or quoted_to


def find_segments(text: str, recipients: list[str]) -> dict[str, str]:
    """Split ``text`` into the part that follows each recipient's first mention."""
    lower = text.lower()
    positions = []
    for r in recipients:
        i = lower.find(r)
        if i >= 0:
            positions.append((i, r))
    positions.sort()
    out: dict[str, str] = {}
    for n, (i, r) in enumerate(positions):
        end = positions[n + 1][0] if n + 1 < len(positions) else len(text)
        if n + 1 == len(positions) and len(positions) > 1:
            # The last one runs to the end, unless another recipient comes up again
            # there (the notice repeated, in another language): that ends it.
            again = [lower.find(o, i + len(r)) for _, o in positions if o != r]
            end = min([a for a in again if a >= 0] or [end])
        # the line holding the address may carry the reason too ("<a@b>: 550 ...")
        line_start = text.rfind("\n", 0, i) + 1
        seg = text[line_start:end]
        if _SENDMAIL_LINE.match(seg):
            # A Sendmail transcript: "554 <addr>... words" is this recipient's own line,
            # and the "<<< " reply just before it is what the server said to it
            # (Sisimai::Lhost::Sendmail and V5sendmail read it so).
            seg = seg.split("\n", 1)[0]
            before = text[:line_start].rstrip("\n").rsplit("\n", 1)[-1]
            if before.startswith("<<< "):
                seg = before + "\n" + seg
        out[r] = seg
    return out


_SENDMAIL_LINE = re.compile(r"[245]\d\d <[^>\s]+@[^>\s]+>\.\.\. ")

#: Layouts that say why once, in a block of its own away from the recipient lines; the
#: block is then every named recipient's reason. Marker pairs from the Lhost modules.
_ERROR_BLOCKS = re.compile(
    r"^(?:Error message below:"  # Sisimai::Lhost::ApacheJames, until "Message details:"
    r"|-{3,}server message"  # Sisimai::Lhost::mFILTER, until "-------SMTP command"
    r"|[ \t]*Technical details:"  # Sisimai::Lhost::X3
    r"|-{3,} Failure Reasons +-{3,})[ \t]*\n"  # Sisimai::Lhost::Notes: reason, then address
    r"(?P<words>.*?)(?=^Message details:|^-{3,}(?!server)|^={10,}|\Z)",
    re.M | re.S,
)
#: m-FILTER names the command alone on the line after its marker
_MFILTER_COMMAND = re.compile(r"^-{3,}SMTP command[ \t]*\n\s*([A-Z]{4})\b", re.M)


def error_block(text: str) -> str:
    """The reason a layout gives once for all recipients, ``""`` when it has none."""
    m = _ERROR_BLOCKS.search(text)
    if not m or not m.group("words").strip():
        return ""
    words = m.group("words").strip()
    cmd = _MFILTER_COMMAND.search(text)
    return f"{words}\nSMTP command: {cmd.group(1)}" if cmd else words


def mta_of(headers: str, text: str, subject: str, sender: str) -> str:
    """The MTA that wrote the bounce, from its header block (``Name: value`` lines),
    its explanation, subject and sender."""
    from maildoctor.bounce.patterns import detect_mta

    # An MTA introduces itself in the first lines of its explanation.
    return detect_mta(headers=headers, subject=subject, sender=sender, text=text[:3000])


_QUOTED_REPLY = re.compile(
    r"(?:The error that the other server returned was:|Remote host said:"
    r"|The response (?:from the remote server )?was:)\s*(.+)",
    re.I | re.S,
)


_HOST_NAMED = re.compile(
    r"(?:host|talking to|from|by)\s+\[?([A-Za-z0-9][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)+)"
)
_BRACKETED_HOST = re.compile(r"\[([A-Za-z0-9][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)+\.[A-Za-z]{2,})\]")


def recipient_from_text(recipient: str, segment: str, action: str = "failed") -> BounceRecipient:
    # When the bounce quotes the remote server ("The error that the other server
    # returned was: ..."), those are the server's words; the rest is boilerplate.
    quoted = (
        None
        if lacks(segment, "the error that", "remote host said", "the response")
        else _QUOTED_REPLY.search(segment)
    )
    words = quoted.group(1) if quoted else segment
    if quoted and quoted.group(0).lower().startswith("remote host said"):
        # qmail-remote says first what happened ("Connected to 192.0.2.1 but sender
        # was rejected."), then quotes the server: both are the diagnosis (Sisimai::Lhost::qmail).
        words = segment[segment.find("\n") + 1 :] if "\n" in segment else segment
    m = ADDR_RE.search(recipient)
    addr = m.group(0).lower() if m else ""
    status, reply = codes(words)
    host = _HOST_NAMED.search(segment)
    return BounceRecipient(
        recipient=addr,
        action=action,
        status=status,
        reply_code=reply,
        diagnostic=clean(words)[:2000],
        remote_mta=host.group(1).rstrip(".").lower() if host else _named_server(words),
        command=smtp_command(segment),
    )


def _named_server(words: str) -> str:
    """The refusing server when its reply ends by naming it ("... [X.prod.outlook.com]")."""
    found = _BRACKETED_HOST.findall(words)
    return found[-1].lower() if found else ""


FAILURE_WORDS = re.compile(
    r"undeliver|could not be delivered"
    r"|delivery (?:status notification|has failed|failed|to the following)"
    r"|returned mail|mail delivery (?:failed|system|subsystem)|failure notice|not be delivered"
    r"|permanent(?:ly)? (?:error|fatal|failure)|delivery failure|rejected|bounce|non[- ]?delivery"
    r"|mail system error|mail failure|malformed|did not reach|had delivery errors"
    r"|unable to deliver|trouble delivering|error sending your mail"
    r"|エラー|届きませんでした|送信できませんでした|配信",
    re.I,
)


#: the same words, matched on an ASCII text lowered (no case folding: several times faster)
_FAILURE_LOWER = re.compile(FAILURE_WORDS.pattern)


def looks_like_failure(subject: str, text: str) -> bool:
    if FAILURE_WORDS.search(subject):
        return True
    start = text[:5000]
    if start.isascii():
        return bool(_FAILURE_LOWER.search(start.lower()))
    return bool(FAILURE_WORDS.search(start))
