"""The ``Authentication-Results`` header (RFC 8601): writing ours, removing forged
copies of ours, putting it on the stored copy, and reading any verifier's."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only types: reading and stripping headers needs no DNS libraries
    from maildoctor.sender.dkim_check import DkimResult
    from maildoctor.sender.dmarc_check import DmarcResult
    from maildoctor.sender.spf_check import SpfResult

__all__ = [
    "authentication_results",
    "authserv_id_of",
    "parse_authentication_results",
    "remove_authentication_results",
    "stamp_authentication_results",
]


def _ptext(value: str) -> str:
    """An RFC 8601 pvalue: quoted when it holds characters a token cannot."""
    if value and re.fullmatch(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.@]+", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment(text: str) -> str:
    """``text`` as an RFC 8601 comment that every reader can parse: on one line, with no
    parenthesis, backslash or ``;`` (readers split the results at ``;`` first)."""
    text = " ".join(text.split())
    for bad, good in (("(", "["), (")", "]"), ("\\", "/"), (";", ",")):
        text = text.replace(bad, good)
    return f"({text})"


def _resinfo(method: str, result: str, comment: str, props: dict[str, str]) -> str:
    """One ``method=result (comment) ptype.property=value ...`` (RFC 8601 2.2), leaving
    out an empty comment and the properties without a value."""
    words = [f"{method}={result}"]
    if comment:
        words.append(_comment(comment))
    words += [f"{prop}={_ptext(value)}" for prop, value in props.items() if value]
    return " ".join(words)


def authentication_results(
    authserv_id: str,
    *,
    dkim: DkimResult | None = None,
    spf: SpfResult | None = None,
    dmarc: DmarcResult | None = None,
) -> str:
    """The value of an ``Authentication-Results`` header (RFC 8601) for these results.

    ``authserv_id`` names the verifier (the harness's host name). With no result
    at all the value is ``authserv-id; none``.
    """
    parts = [authserv_id]
    if dkim is not None:
        reason = dkim.reason if dkim.result != "pass" else ""
        props = {"header.d": dkim.domain, "header.s": dkim.selector, "header.b": dkim.signature_b}
        parts.append(_resinfo("dkim", dkim.result, reason, props))
    if spf is not None:
        props = {"smtp.mailfrom": spf.mail_from, "smtp.helo": spf.helo}
        parts.append(_resinfo("spf", spf.result, "", props))
    if dmarc is not None:
        policy = f"p={dmarc.policy}" if dmarc.policy else ""
        parts.append(_resinfo("dmarc", dmarc.result, policy, {"header.from": dmarc.domain}))
    if len(parts) == 1:
        parts.append("none")
    return "; ".join(parts)


_AR_FIELD = re.compile(rb"(?im)^authentication-results[ \t]*:((?:.*)(?:\r?\n[ \t].*)*)\r?\n")
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def _header_end(raw: bytes) -> int:
    """Index of the blank line ending the header section (len(raw) when there is none)."""
    if raw.startswith((b"\r\n", b"\n")):
        return 0
    ends = [i + n for i, n in ((raw.find(b"\r\n\r\n"), 2), (raw.find(b"\n\n"), 1)) if i >= 0]
    return min(ends) if ends else len(raw)


def authserv_id_of(value: str) -> str:
    """The authserv-id of an ``Authentication-Results`` value (RFC 8601 2.2), lower case."""
    return _COMMENT.sub(" ", value).split(";", 1)[0].strip().split(" ", 1)[0].lower()


def remove_authentication_results(raw: bytes, authserv_id: str) -> bytes:
    """``raw`` without the ``Authentication-Results`` fields that claim ``authserv_id``.

    RFC 8601 section 5: a receiver removes such fields arriving from outside before
    adding its own, or a sender could forge the verdict. Others' fields are kept.
    """
    end = _header_end(raw)
    head = raw[:end]
    if b"authentication-results" not in head.lower():
        return raw
    wanted = authserv_id.lower()

    def keep(m: re.Match[bytes]) -> bytes:
        value = m.group(1).decode("utf-8", "replace")
        return b"" if authserv_id_of(value) == wanted else m.group(0)

    return _AR_FIELD.sub(keep, head) + raw[end:]


def stamp_authentication_results(raw: bytes, value: str) -> bytes:
    """``raw`` with ``Authentication-Results: value`` as its first header field.

    Folded after each ``;`` (RFC 5322 2.2.3) with the message's own line ending.
    """
    eol = b"\n" if raw and b"\r\n" not in raw[: _header_end(raw) + 2] else b"\r\n"
    guarded = _QUOTED.sub(lambda m: m.group(0).replace(";", "\x00"), value)
    folded = (";" + eol.decode() + "\t").join(p.strip() for p in guarded.split("; "))
    folded = folded.replace("\x00", ";")
    return b"Authentication-Results: " + folded.encode("utf-8") + eol + raw


def parse_authentication_results(value: str) -> tuple[str, dict[str, dict[str, str]]]:
    """``(authserv-id, {method: {"result": word, "reason": comment, ptype.property: value}})``.

    Reads what :func:`authentication_results` writes, and the common forms other
    verifiers write (RFC 8601 2.2); the first result of each method counts.
    """
    unquoted = _QUOTED.sub(lambda m: m.group(0).replace(";", "\x00"), value)
    parts = unquoted.split(";")
    authserv = authserv_id_of(parts[0])
    methods: dict[str, dict[str, str]] = {}
    for part in parts[1:]:
        part = part.replace("\x00", ";")
        comments = [c[1:-1].strip() for c in _COMMENT.findall(part)]
        text = _COMMENT.sub(" ", part).strip()
        m = re.match(r"([A-Za-z0-9-]+)(?:/\d+)?\s*=\s*([A-Za-z]+)\s*(.*)$", text, re.S)
        if not m or m.group(1).lower() in methods:
            continue
        info = {"result": m.group(2).lower(), "reason": "; ".join(comments)}
        for prop in re.finditer(
            r'([A-Za-z0-9-]+\.[A-Za-z0-9.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|\S+)', m.group(3)
        ):
            info[prop.group(1).lower()] = prop.group(2).strip('"')
        methods[m.group(1).lower()] = info
    return authserv, methods
