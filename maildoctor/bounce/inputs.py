"""Where bounces come from in bulk: files, folders (recursively, Maildir included),
mbox files and standard input, each message yielded on its own so that one bad
message never stops the run."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import IO

from maildoctor.bounce.message import iter_messages

__all__ = ["Message", "expand", "messages"]


@dataclass(frozen=True, kw_only=True)
class Message:
    """One message to explain, or why its file could not be read."""

    name: str
    """The file (``path#3`` for the third message of an mbox, ``-`` for stdin)."""
    raw: bytes = b""
    error: str = ""
    """Why the file could not be read (``""`` when it was)."""


def expand(sources: tuple[str, ...]) -> list[str]:
    """Every file the sources name: folders walked recursively in a stable order.

    Dot files and a Maildir's ``tmp`` folder (messages still being written) are skipped.
    """
    out: list[str] = []
    for source in sources:
        if source == "-" or not os.path.isdir(source):
            out.append(source)
            continue
        for root, dirs, files in os.walk(source):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "tmp")
            out.extend(os.path.join(root, f) for f in sorted(files) if not f.startswith("."))
    return out


def messages(files: list[str]) -> Iterator[tuple[int, Message]]:
    """(index of the file in ``files``, message) for every message of every file.

    An mbox is split while it is read, message by message: memory holds a message or
    two (the first is held until a second says the file has several), never the file.
    """
    for index, name in enumerate(files):
        try:
            handle: IO[bytes] = sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115
        except OSError as e:
            yield index, Message(name=name, error=e.strerror or str(e))
            continue
        with nullcontext(handle) if name == "-" else handle:
            try:
                held = b""
                n = 0
                for raw in iter_messages(handle):
                    n += 1
                    if n == 1:
                        held = raw
                        continue
                    if n == 2:
                        yield index, Message(name=f"{name}#1", raw=held)
                        held = b""
                    yield index, Message(name=f"{name}#{n}", raw=raw)
                if n == 1:
                    yield index, Message(name=name, raw=held)
            except OSError as e:
                yield index, Message(name=name, error=e.strerror or str(e))
