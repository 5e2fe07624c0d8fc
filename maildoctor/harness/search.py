"""Function forms of :meth:`Store.search` and :meth:`Store.delete` (the web list's search
and delete button call these; ``asyncio.to_thread`` takes them as they are)."""

from __future__ import annotations

from maildoctor.harness.records import StoredMessage
from maildoctor.harness.store import Store

__all__ = ["delete_message", "search_messages"]


def search_messages(
    store: Store, query: str, *, limit: int = 100, offset: int = 0
) -> tuple[list[StoredMessage], int]:
    """See :meth:`Store.search`."""
    return store.search(query, limit=limit, offset=offset)


def delete_message(store: Store, message_id: int) -> bool:
    """See :meth:`Store.delete`."""
    return store.delete(message_id)
