"""``maildoctor preview``'s server in a thread of the test process, on a free port."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def running_preview(
    folder: Path,
    overrides: Mapping[str, Any] | None = None,
    display: Callable[[str], Any] | None = None,
) -> Iterator[str]:
    """The preview of ``folder`` served on 127.0.0.1; yields its base URL."""
    from maildoctor.web.preview import start

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server, port = asyncio.run_coroutine_threadsafe(
        start(folder, host="127.0.0.1", port=0, overrides=overrides, display=display), loop
    ).result(10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(server.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
