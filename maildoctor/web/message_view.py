"""A stored or rendered message as the JSON the pages show: headers, parts, bodies, lint.

Pure functions over bytes and ``email`` objects; no HTTP here.
"""

from __future__ import annotations

from email import policy as email_policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any

from maildoctor.findings import Lang
from maildoctor.harness.smtp import headers_only
from maildoctor.mail.decode import body_text, decode_bytes, decode_header


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


def lint_json(msg: EmailMessage, lang: Lang = "en") -> list[dict[str, Any]] | None:
    """The message's lint findings, their words in ``lang`` (the page's language)."""
    try:
        from maildoctor.mail.lint import lint_message
    except ImportError:
        return None
    try:
        findings = [f.worded(lang) for f in lint_message(msg)]
    except Exception as e:  # a lint bug must not hide the message
        return [{"code": "lint_failed", "severity": "info", "message": str(e), "fix": ""}]
    out = []
    for f in findings:
        data = f.to_dict()
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


def message_detail(
    stored: Any, authserv_id: str = "maildoctor.harness", lang: Lang = "en"
) -> dict[str, Any]:
    """The ``GET /api/messages/{id}`` object for a stored message (lint words in ``lang``)."""
    msg = BytesParser(policy=email_policy.default).parsebytes(stored.raw)
    # raw_items gives each occurrence of a header as sent; decode each one ourselves
    # (the email package's own decoding refuses CP932's ① in a Shift_JIS word).
    headers = [[name, decode_header(value)] for name, value in msg.raw_items()]
    assert isinstance(msg, EmailMessage)
    return {
        **stored.summary(),
        "subject": decode_header(stored.subject),
        "from": decode_header(stored.from_header),
        "headers": headers,
        "text": body_text(msg, "plain"),
        "html": body_text(msg, "html") is not None,
        "parts": _parts(msg),
        "transcript": list(stored.transcript),
        "lint": lint_json(msg, lang),
        "raw_text": decode_bytes(stored.raw, "utf-8"),
        "authentication": authentication(stored.raw, authserv_id),
    }


def html_of(raw: bytes) -> str:
    msg = BytesParser(policy=email_policy.default).parsebytes(raw)
    return body_text(msg, "html") or ""
