"""A stored or rendered message as the JSON the pages show: headers, parts, bodies, lint.

Pure functions over bytes and ``email`` objects; no HTTP here.
"""

from __future__ import annotations

from email import policy as email_policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any

from maildoctor.harness.smtp import headers_only

# Python codec names for the charsets Japanese mail declares. Shift_JIS mail is in
# practice Windows-31J (NEC specials such as ①), so decode it as cp932.
_CODEC = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "csiso2022jp": "iso2022_jp_ext",
    "euc-jp": "euc_jis_2004",
}
_FALLBACKS = ("utf-8", "cp932", "euc_jis_2004", "iso2022_jp_ext")


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes of a text part as str, whatever Japanese charset it is (or claims to be)."""
    tried = []
    if charset:
        tried.append(_CODEC.get(charset.lower(), charset))
    tried += [c for c in _FALLBACKS if c not in tried]
    for codec in tried:
        try:
            return data.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode(tried[0] if tried else "utf-8", "replace")


def header_value(value: Any) -> str:
    text = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        # Raw 8-bit header bytes (not RFC 2047): guess the charset like a body's.
        return decode_text(text.encode("utf-8", "surrogateescape"), None)
    return text


def _parts(msg: Message) -> list[dict[str, Any]]:
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        out.append(
            {
                "content_type": part.get_content_type(),
                "charset": part.get_content_charset(),
                "filename": part.get_filename(),
                "transfer_encoding": part.get("Content-Transfer-Encoding"),
                "size": len(payload) if isinstance(payload, bytes) else 0,
            }
        )
    return out


def body_text(msg: Message, subtype: str) -> str | None:
    for part in msg.walk():
        if part.get_content_type() == f"text/{subtype}" and not part.get_filename():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return decode_text(payload, part.get_content_charset())
    return None


def lint_json(msg: EmailMessage) -> list[dict[str, Any]] | None:
    try:
        from maildoctor.mail.lint import lint_message
    except ImportError:
        return None
    try:
        findings = lint_message(msg)
    except Exception as e:  # a lint bug must not hide the message
        return [{"code": "lint_failed", "severity": "info", "message": str(e), "fix": ""}]
    out = []
    for f in findings:
        data = f.to_dict() if hasattr(f, "to_dict") else dict(vars(f))
        out.append({k: str(v) if k == "severity" else v for k, v in data.items()})
    return out


def authentication(raw: bytes, authserv_id: str) -> dict[str, Any] | None:
    """The harness's own verification results in a stored message, or None.

    The harness puts its ``Authentication-Results`` first when it verifies, after
    removing senders' headers that claim its id (RFC 8601 5); only a first field
    with its id counts. ``{"authserv_id", "header",
    "dkim"|"spf"|"dmarc": {"result", "reason", "header.d"...} or None}``.
    """
    from maildoctor.sender.auth import parse_authentication_results

    first = headers_only(raw[:65536]).get_all("Authentication-Results") or []
    if not first or not raw[:24].lower().startswith(b"authentication-results:"):
        return None
    value = " ".join(str(first[0]).split())
    server, methods = parse_authentication_results(value)
    if server != authserv_id.lower():
        return None
    return {
        "authserv_id": server,
        "header": value,
        **{m: methods.get(m) for m in ("dkim", "spf", "dmarc")},
    }


def message_detail(stored: Any, authserv_id: str = "maildoctor.harness") -> dict[str, Any]:
    """The ``GET /api/messages/{id}`` object for a stored message."""
    msg = BytesParser(policy=email_policy.default).parsebytes(stored.raw)
    # raw_items gives each occurrence of a header; decode each one itself.
    headers = []
    for name, value in msg.raw_items():
        try:
            parsed = email_policy.default.header_fetch_parse(name, value)
            shown = header_value(parsed)
        except Exception:
            shown = header_value(value)
        headers.append([name, shown])
    assert isinstance(msg, EmailMessage)
    return {
        **stored.summary(),
        "headers": headers,
        "text": body_text(msg, "plain"),
        "html": body_text(msg, "html") is not None,
        "parts": _parts(msg),
        "transcript": list(stored.transcript),
        "lint": lint_json(msg),
        "raw_text": decode_text(stored.raw, "utf-8"),
        "authentication": authentication(stored.raw, authserv_id),
    }


def html_of(raw: bytes) -> str:
    msg = BytesParser(policy=email_policy.default).parsebytes(raw)
    return body_text(msg, "html") or ""
