"""A small, lenient MIME reader for bounces: headers, parts and decoded payloads.

The standard library's parser builds a full object tree of every message, the
returned original included, and costs a third of a bounce's reading time. A
bounce needs much less: its headers, its parts split at their boundaries, each
leaf's decoded bytes, and only the headers of the returned original. This reader
does that lazily (a part's body is split only when asked for) in one linear pass
per level, keeping the standard parser's ``compat32`` readings that the bounce
code relies on: header values as written (folded lines kept), the first of
repeated headers, ``text/plain`` for a missing or malformed Content-Type, the
body of a multipart whose boundary never appears kept as text, and a
``message/*`` part (not ``message/delivery-status``) holding one message.
Never raises on broken input.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from collections.abc import Iterator
from itertools import pairwise

__all__ = ["MimePart", "parse_mime"]

#: the header lines at the start of a text: up to a blank line or a line that is none of them
_HEAD_BLOCK = re.compile(r"(?:(?:From |[\041-\071\073-\176]*:|[\t ])[^\n]*(?:\n|\Z))*")
#: one header and its continuation lines (compat32: the value keeps its folded lines)
_HEADER = re.compile(r"^(?!From )([\041-\071\073-\176]*):[ \t]*([^\n]*(?:\n[\t ][^\n]*)*)", re.M)
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


class MimePart:
    """One message or part: what ``email.message.Message`` (compat32) answers, read lazily."""

    __slots__ = ("_body", "_ctype", "_default", "_first", "_payload", "_raw_headers")

    def __init__(self, text: str, default_type: str = "text/plain") -> None:
        self._raw_headers, self._body = _split_head(text)
        # the first of repeated headers: the last written into the dict wins
        self._first = {name.lower(): value for name, value in reversed(self._raw_headers)}
        self._default = default_type
        self._payload: list[MimePart] | str | None = None
        self._ctype = ""

    # --- headers ----------------------------------------------------------
    def get(self, name: str, failobj: str | None = None) -> str | None:
        """The first ``name`` header's value as written (folded lines kept), else ``failobj``."""
        return self._first.get(name.lower(), failobj)

    def items(self) -> list[tuple[str, str]]:
        return list(self._raw_headers)

    def header_block(self) -> str:
        """The headers as ``Name: value`` lines (folded values as written)."""
        return "\n".join(map(": ".join, self._raw_headers))

    def keys(self) -> list[str]:
        return [name for name, _ in self._raw_headers]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    # --- content type -----------------------------------------------------
    def get_content_type(self) -> str:
        if not self._ctype:  # asked many times per part: read once
            value = self._first.get("content-type")
            if value is None:
                self._ctype = self._default
            else:
                ctype = value.split(";", 1)[0].strip().lower()
                self._ctype = ctype if ctype.count("/") == 1 else "text/plain"
        return self._ctype

    def get_param(self, name: str) -> str | None:
        value = self.get("content-type")
        if value is None:
            return None
        key = name.lower()
        for m in _PARAM.finditer(value.replace("\r", " ").replace("\n", " ")):
            if m.group(1).lower().rstrip("*") == key:
                v = m.group(2).strip()
                if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
                    v = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
                return v
        return None

    def get_content_charset(self) -> str | None:
        charset = self.get_param("charset")
        if charset is None:
            return None
        if "'" in charset and self.get_param("charset*") is not None:
            charset = charset.split("'", 1)[0]  # RFC 2231: charset'language'value
        return charset.lower() or None

    # --- payload ----------------------------------------------------------
    def _structure(self) -> list[MimePart] | str:
        if self._payload is None:
            self._payload = _read_payload(self)
        return self._payload

    def is_multipart(self) -> bool:
        return isinstance(self._structure(), list)

    def get_payload(self, decode: bool = False) -> list[MimePart] | str | bytes | None:
        """The parts (a multipart or ``message/*``), the body as text, or (``decode``)
        the leaf's bytes with its transfer encoding undone (None for a multipart)."""
        payload = self._structure()
        if not decode:
            return payload
        if isinstance(payload, list):
            return None
        try:
            raw = payload.encode("ascii", "surrogateescape")
        except UnicodeError:
            raw = payload.encode("raw-unicode-escape")
        cte = (self.get("content-transfer-encoding") or "").strip().lower()
        if cte == "quoted-printable":
            return quopri.decodestring(raw)
        if cte == "base64":
            return _b64(raw)
        return raw


def _b64(raw: bytes) -> bytes:
    data = b"".join(raw.split())
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        try:
            return binascii.a2b_base64(data)
        except (binascii.Error, ValueError):
            return raw


def _split_head(text: str) -> tuple[list[tuple[str, str]], str]:
    """(headers, body): header lines up to the first blank or non-header line."""
    block = _HEAD_BLOCK.match(text)
    assert block is not None  # the pattern matches the empty string
    stop = block.end()
    head = text[:stop]
    consumed = stop
    if stop < len(text):
        eol = text.find("\n", stop)
        line = text[stop:] if eol < 0 else text[stop:eol]
        if not line.rstrip("\r"):  # a blank line ends the headers and is theirs
            consumed = len(text) if eol < 0 else eol + 1
    if "\nFrom " in head:  # a stray mbox line: the header before it goes on past it
        return _split_lines(head), text[consumed:]
    headers = _HEADER.findall(head)
    if not head.isascii():
        headers = [(_unescape(n), _unescape(v)) for n, v in headers]
    return [(n, v.rstrip("\r\n")) for n, v in headers], text[consumed:]


def _split_lines(head: str) -> list[tuple[str, str]]:
    """The header lines of ``head`` (every line a header, a continuation or a "From "
    line) read one by one."""
    lines = head.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    headers: list[tuple[str, str]] = []
    current: list[str] = []
    for line in lines:
        if line[0] in " \t":
            if current:
                current.append("\n" + line)
            continue
        if line.startswith("From "):
            continue  # an mbox envelope line (first) or a stray one: not a header
        if current:
            headers.append(_header(current))
        current = [line]
    if current:
        headers.append(_header(current))
    return headers


def _header(lines: list[str]) -> tuple[str, str]:
    """email.policy.compat32's header_source_parse: the value keeps its folded lines;
    raw 8-bit bytes in it are read as UTF-8, else Latin-1."""
    name, _, value = lines[0].partition(":")
    value = value.lstrip(" \t") + "".join(lines[1:])
    value = value.rstrip("\r\n")
    if name.isascii() and value.isascii():
        return name, value
    return _unescape(name), _unescape(value)


def _unescape(value: str) -> str:
    if value.isascii():
        return value
    try:
        data = value.encode("ascii", "surrogateescape")
    except UnicodeError:
        return value
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _read_payload(part: MimePart) -> list[MimePart] | str:
    ctype = part.get_content_type()
    body = part._body
    if ctype.startswith("multipart/"):
        boundary = part.get_param("boundary")
        if boundary:
            inner = "message/rfc822" if ctype == "multipart/digest" else "text/plain"
            parts = _split_parts(body, boundary, inner)
            if parts is not None:
                return parts
        return body
    if ctype.startswith("message/") and ctype != "message/delivery-status":
        return [MimePart(body)]
    return body


def _split_parts(body: str, boundary: str, default_type: str) -> list[MimePart] | None:
    """The parts between ``--boundary`` lines; None when the first boundary never comes."""
    marks = _boundaries(body, "--" + boundary)
    if not marks:
        return None
    parts: list[MimePart] = []
    for i, (_, end, close) in enumerate(marks):
        if close:
            break
        stop = marks[i + 1][0] if i + 1 < len(marks) else len(body)
        part = MimePart(body[end:stop], default_type)
        chain = _leaf_chain(part) if part._body else None
        if chain:
            # the line break before the next boundary (or the end) belongs to the boundary;
            # compat32 takes it from the innermost message's text, not from a multipart
            # (the inner texts are all tails of this body: stripping it strips theirs, so
            # the inner messages read to find the leaf are kept as the payloads)
            for outer, inner in pairwise(chain):
                outer._payload = [inner]
            for each in chain:
                each._body = _strip_eol(each._body)
        parts.append(part)
    return parts


def _boundaries(body: str, sep: str) -> list[tuple[int, int, bool]]:
    """(start, end, closing) of each line ``sep`` or ``sep--``, then blanks, then the line
    end (a compiled pattern per boundary would be compiled anew for every message)."""
    found: list[tuple[int, int, bool]] = []
    at = body.find(sep)
    while at >= 0:
        if at == 0 or body[at - 1] == "\n":
            k = at + len(sep)
            close = body.startswith("--", k)
            end = _line_end(body, k + 2) if close else -1
            if end < 0:
                close, end = False, _line_end(body, k)
            if end >= 0:
                found.append((at, end, close))
        at = body.find(sep, at + len(sep))
    return found


def _line_end(body: str, k: int) -> int:
    """Past ``[ \t]*`` and a line break (or the end of ``body``) from ``k``; -1 if
    anything else comes first."""
    n = len(body)
    while k < n and body[k] in " \t":
        k += 1
    if k == n:
        return n
    if body.startswith("\r\n", k):
        return k + 2
    if body[k] in "\r\n":
        return k + 1
    return -1


def _leaf_chain(part: MimePart) -> list[MimePart] | None:
    """``part`` and the messages nested in it (``message/*``) down to a leaf; None when
    the part's text does not end in a leaf's text."""
    chain = [part]
    for _ in range(8):
        ctype = part.get_content_type()
        if ctype.startswith("multipart/") or ctype == "message/delivery-status":
            return None
        if not ctype.startswith("message/"):
            return chain
        part = MimePart(part._body)
        chain.append(part)
    return None


def _strip_eol(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith(("\n", "\r")):
        return text[:-1]
    return text


def parse_mime(raw: bytes) -> MimePart:
    """Read ``raw`` as the standard parser's ``message_from_bytes`` does (bytes kept as
    surrogate escapes), lazily."""
    return MimePart(raw.decode("ascii", "surrogateescape"))
