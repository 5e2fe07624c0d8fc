"""One JSON request to a running harness's web side, as the API tests make it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from maildoctor.harness.server import HarnessThread


def call(
    h: HarnessThread, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, Any]:
    """(status, the JSON answer) of one request; an error must be JSON too."""
    req = urllib.request.Request(f"{h.http_url}{path}", data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        with e:
            assert e.headers["Content-Type"].startswith("application/json")
            return e.code, json.loads(e.read())
