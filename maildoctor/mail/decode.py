"""One decoder for mail text, headers and bodies alike, with the Japanese fallbacks.

Japanese mail declares charsets that mean more than Python's codecs of the same name:
``Shift_JIS`` mail is in practice Windows-31J (CP932: NEC specials such as ①, ㈱ and
IBM extensions such as 髙), and ``ISO-2022-JP`` mail carries the same characters in
JIS rows 13 and 89-92 (what Microsoft calls CP50220 / ISO-2022-JP-MS). Python's
``shift_jis`` and ``iso2022_jp`` codecs refuse those, so a Subject
``=?Shift_JIS?B?...?=`` stayed a raw MIME word while the body decoded. Every page and
the API decode through :func:`decode_bytes` and :func:`decode_header` here.
"""

from __future__ import annotations

import re
from email.header import decode_header as _split_words
from email.message import Message

__all__ = [
    "MAX_SEARCH_TEXT",
    "body_text",
    "decode_bytes",
    "decode_header",
    "has_attachment",
    "searchable_text",
]

#: Python codec names for the charsets Japanese mail declares.
_CODEC = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "cp932": "cp932",
    "iso-2022-jp": "cp50220",
    "csiso2022jp": "cp50220",
    "iso-2022-jp-ms": "cp50220",
    "cp50220": "cp50220",
    "cp50221": "cp50220",
    "euc-jp": "euc_jis_2004",
    "x-euc-jp": "euc_jis_2004",
}
#: Tried in order when the declared charset is missing or wrong.
_FALLBACKS = ("utf-8", "cp50220", "cp932", "euc_jis_2004")

#: Characters of one message kept for searching its text (a bound, not a guess).
MAX_SEARCH_TEXT = 200_000

_ESC = re.compile(rb"\x1b(\(B|\(J|\(I|\$@|\$B|\$\(D|\$\(Q|\$\(O)")


def _jis_to_sjis(pairs: bytes) -> bytes:
    """JIS X 0208 byte pairs (0x21-0x7E each) as Shift_JIS bytes, so that CP932 reads
    rows 13 and 89-92 (the NEC and IBM extensions) as Windows does."""
    out = bytearray()
    for i in range(0, len(pairs) - 1, 2):
        j1, j2 = pairs[i], pairs[i + 1]
        s1 = ((j1 - 0x21) >> 1) + 0x81
        if s1 > 0x9F:
            s1 += 0x40
        s2 = (j2 + 0x1F + (j2 >= 0x60)) if j1 & 1 else j2 + 0x7E
        out += bytes((s1, s2))
    return bytes(out)


def _decode_cp50220(data: bytes) -> str:
    """ISO-2022-JP with Microsoft's extensions (CP50220), strict: raises on anything else."""
    if b"\x1b" not in data and b"\x0e" not in data:
        if max(data, default=0) > 0x7F:
            raise UnicodeDecodeError("cp50220", data, 0, 1, "8-bit byte in 7-bit ISO-2022-JP")
        return data.decode("ascii")
    out: list[str] = []
    mode = b"(B"
    pos = 0
    for m in [*_ESC.finditer(data), None]:
        end = m.start() if m else len(data)
        chunk = data[pos:end]
        if chunk:
            if mode in (b"$@", b"$B"):
                text = chunk.replace(b"\r", b"").replace(b"\n", b"")
                if len(text) % 2 or any(not 0x21 <= b <= 0x7E for b in text):
                    raise UnicodeDecodeError("cp50220", data, pos, end, "bad JIS X 0208 pair")
                out.append(_jis_to_sjis(text).decode("cp932"))
            elif mode == b"(I":
                out.append(bytes(b | 0x80 for b in chunk).decode("cp932"))
            elif mode.startswith(b"$("):  # JIS X 0212/0213: Python's own codec knows them
                out.append((b"\x1b" + mode + chunk + b"\x1b(B").decode("iso2022_jp_2004"))
            else:
                out.append(_shift_out(chunk, data, pos))
        if m is None:
            break
        mode = m.group(1)
        pos = m.end()
    return "".join(out)


def _shift_out(chunk: bytes, data: bytes, pos: int) -> str:
    """ASCII, with SO/SI (0x0E/0x0F) half-width katakana as CP50221 writes them."""
    if max(chunk) > 0x7F:
        raise UnicodeDecodeError("cp50220", data, pos, pos + len(chunk), "8-bit byte")
    if b"\x0e" not in chunk:
        return chunk.decode("ascii")
    parts = []
    for i, piece in enumerate(re.split(rb"[\x0e\x0f]", chunk)):
        shifted = i % 2 == 1
        parts.append(bytes(b | 0x80 for b in piece).decode("cp932") if shifted else piece.decode())
    return "".join(parts)


def _decode_with(data: bytes, codec: str) -> str:
    if codec == "cp50220":
        return _decode_cp50220(data)
    return data.decode(codec)


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Bytes of mail text as str: the declared charset read as mail software means it,
    else the Japanese charsets in turn, else UTF-8 with replacement characters."""
    tried: list[str] = []
    if charset:
        tried.append(_CODEC.get(charset.strip().lower(), charset.strip().lower()))
    if b"\x1b$" in data:  # 7-bit JIS is valid UTF-8 too: read the escapes first
        tried.append("cp50220")
    tried += [c for c in _FALLBACKS if c not in tried]
    for codec in tried:
        try:
            return _decode_with(data, codec)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return data.decode("utf-8", "replace")


def decode_header(value: object) -> str:
    """A header field's value as text: RFC 2047 words decoded with the Japanese
    fallbacks, raw 8-bit bytes (kept by ``email`` as surrogate escapes) guessed like a
    body's, folding removed."""
    if value is None:
        return ""
    text = str(value)
    if not text or (text.isascii() and "=?" not in text):
        return " ".join(text.split()) if "\n" in text else text
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = decode_bytes(text.encode("utf-8", "surrogateescape"))
    if "=?" not in text:
        return text
    try:
        words = _split_words(text)
    except Exception:  # a malformed word: show it as sent
        return text
    out = []
    previous_encoded = False
    for chunk, charset in words:
        if isinstance(chunk, str):
            out.append(chunk)
            previous_encoded = False
            continue
        encoded = charset is not None
        piece = decode_bytes(chunk, charset) if encoded else chunk.decode("ascii", "replace")
        # decode_header drops the space between two encoded words (RFC 2047 6.2) but
        # keeps it between a word and plain text.
        if out and not encoded and previous_encoded and not piece.startswith(" "):
            piece = " " + piece
        out.append(piece)
        previous_encoded = encoded
    return re.sub(r"[ \t]*\r?\n[ \t]*", " ", "".join(out)).strip()


def body_text(msg: Message, subtype: str) -> str | None:
    """The first ``text/{subtype}`` part that is not an attachment, decoded; None without one."""
    for part in msg.walk():
        if part.get_content_type() == f"text/{subtype}" and not part.get_filename():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return decode_bytes(payload, part.get_content_charset())
    return None


def has_attachment(msg: Message) -> bool:
    """Whether a part is an attachment (a disposition, or a file name on a non-text part)."""
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = (part.get_content_disposition() or "").lower()
        if disposition == "attachment" or (part.get_filename() and disposition != "inline"):
            return True
    return False


def searchable_text(msg: Message) -> str:
    """Every text part of a message decoded and joined, at most :data:`MAX_SEARCH_TEXT`
    characters (what a search in bodies looks in)."""
    texts: list[str] = []
    size = 0
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() != "text" or part.get_filename():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        text = decode_bytes(payload[: MAX_SEARCH_TEXT * 4], part.get_content_charset())
        texts.append(text[: MAX_SEARCH_TEXT - size])
        size += len(texts[-1])
        if size >= MAX_SEARCH_TEXT:
            break
    return "\n".join(texts)
