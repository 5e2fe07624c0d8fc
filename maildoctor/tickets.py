"""Support ticket types: what the customer says, and which FAQ answer and reply fit it.

The types are data (``data/tickets.toml``, a contract in DESIGN.md "Ticket types");
this module only looks them up. ``diagnose --ticket``, ``check --reply --ticket`` and
the desk's ``"ticket"`` all go through :func:`ticket`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from maildoctor.errors import BadInput
from maildoctor.findings import Lang

__all__ = [
    "CONTRACT_SUBJECTS",
    "DEFAULT_TICKET",
    "TICKETS",
    "Ticket",
    "UnknownTicket",
    "ticket",
    "ticket_ids",
]

DEFAULT_TICKET = "not_arrived"


class UnknownTicket(BadInput, ValueError):
    """A ticket type that is not in the table; the message lists the known ones."""


@dataclass(frozen=True, kw_only=True)
class Ticket:
    """One kind of support ticket."""

    id: str
    """The contract's id (``not_arrived``, ``already_registered``...)."""
    label: dict[str, str]
    """Short name for a menu, by language."""
    says: dict[str, str]
    """What the customer says, by language."""
    template: str
    """The notification mail the ticket is about: the one the delivery trial sends
    (a key of :data:`CONTRACT_SUBJECTS`)."""
    variant: str | None
    """That template's variant (``sso`` for sign-up with another service's ID)."""
    reply: str
    """The reply draft's template, relative to the templates folder."""
    advice: tuple[str, ...]
    """The FAQ's answer to this ticket: advice ids, in the order the reply gives them."""
    mailbox_advice: bool
    """Whether mailbox advice (spam folder, domain settings) always follows; otherwise
    only when the check or the trial saw something in the way of the mail."""
    cues: tuple[str, ...] = ()
    """Words of a customer's message that point to this type (both languages), for the
    paste reader to pre-select it."""

    def name(self, lang: Lang) -> str:
        return self.label[lang]


def _data(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("maildoctor").joinpath("data", name).read_text("utf-8"))


#: The contract's notification mails and their exact subjects (``data/subjects.toml``).
CONTRACT_SUBJECTS: dict[str, str] = _data("subjects.toml")


@cache
def _table() -> dict[str, Ticket]:
    return {
        ticket_id: Ticket(
            id=ticket_id,
            label={"ja": row["label_ja"], "en": row["label_en"]},
            says={"ja": row["says_ja"], "en": row["says_en"]},
            template=row["template"],
            variant=row.get("variant"),
            reply=row["reply"],
            advice=tuple(row["advice"]),
            mailbox_advice=bool(row["mailbox_advice"]),
            cues=(*row.get("cues_ja", ()), *row.get("cues_en", ())),
        )
        for ticket_id, row in _data("tickets.toml").items()
    }


TICKETS: dict[str, Ticket] = _table()
"""Every ticket type by id, in the table's order (the default first)."""


def ticket_ids() -> tuple[str, ...]:
    return tuple(TICKETS)


def ticket(ticket_id: str | None) -> Ticket:
    """The ticket type of that id (None or empty: the default), else :class:`UnknownTicket`."""
    key = (ticket_id or DEFAULT_TICKET).strip()
    try:
        return TICKETS[key]
    except KeyError:
        known = ", ".join(TICKETS)
        raise UnknownTicket(f"Unknown ticket type {key!r}; use one of: {known}.") from None
