"""Fault injection: make the harness misbehave the way real servers do.

A fault fires at one SMTP stage (``connect``, ``helo``, ``mail``, ``rcpt``,
``data`` — the reply to the DATA command — or ``after_data``, the reply to the
message) with a reply code, a probability, a delay, or a dropped connection.
Randomness comes from one ``random.Random(seed)`` so a run is repeatable.

The ``--faults`` SPEC is a ``;``-separated list of items; each item is a
preset name or ``STAGE=CODE TEXT`` (or a bare ``STAGE``), then ``,``-separated
options::

    greylist                         450 once per recipient, then accept
    user_unknown,to=taro@docomo.ne.jp
    rcpt=452 4.2.2 Mailbox full,p=0.5
    after_data=451 4.3.0 Try later,times=2
    connect,drop,p=0.1
    mail,delay=2

Options: ``p=`` probability (0..1), ``delay=`` seconds before the reply,
``drop`` (close the connection without a reply), ``times=`` fire at most N
times per recipient (per connection before RCPT), ``to=`` only for this
recipient address or domain.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from maildoctor.errors import BadInput

__all__ = ["PRESETS", "Fault", "FaultError", "FaultPlan", "Stage", "parse_faults"]


class Stage(StrEnum):
    """Where in the SMTP conversation a fault fires."""

    CONNECT = "connect"
    HELO = "helo"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    AFTER_DATA = "after_data"


class FaultError(BadInput, ValueError):
    """A fault SPEC could not be understood."""


@dataclass(frozen=True, kw_only=True)
class Fault:
    """One injected misbehaviour."""

    name: str
    """A label recorded as the decision rule ``fault:<name>``."""
    stage: Stage
    """The SMTP stage it fires at."""
    code: int | None = None
    """The reply code sent instead of the normal reply; None for delay-only faults."""
    text: str = ""
    """The reply text."""
    probability: float = 1.0
    """Chance that it fires each time its stage is reached."""
    delay: float = 0.0
    """Seconds to wait before replying (or before dropping)."""
    drop: bool = False
    """Close the connection without replying."""
    times: int | None = None
    """Fire at most this many times per recipient (greylisting: once)."""
    to: str | None = None
    """Only for this recipient address, or domain and its subdomains."""

    @property
    def reply(self) -> str | None:
        return f"{self.code} {self.text}".rstrip() if self.code is not None else None

    def applies_to(self, recipient: str | None) -> bool:
        if self.to is None:
            return True
        if recipient is None:
            return False
        rcpt = recipient.lower()
        target = self.to.lower().lstrip("@")
        if "@" in target:
            return rcpt == target
        domain = rcpt.rpartition("@")[2]
        return domain == target or domain.endswith("." + target)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "stage": str(self.stage),
            "reply": self.reply,
            "probability": self.probability,
            "delay": self.delay,
            "drop": self.drop,
            "times": self.times,
            "to": self.to,
        }


#: Named faults for the common ways a real server says "not now" or "no".
PRESETS: dict[str, Fault] = {
    "greylist": Fault(
        name="greylist",
        stage=Stage.RCPT,
        code=450,
        text="4.2.0 Greylisted, please try again later",
        times=1,
    ),
    "mailbox_full": Fault(
        name="mailbox_full", stage=Stage.RCPT, code=552, text="5.2.2 Mailbox full"
    ),
    "user_unknown": Fault(
        name="user_unknown", stage=Stage.RCPT, code=550, text="5.1.1 User unknown"
    ),
    "rate_limit": Fault(
        name="rate_limit",
        stage=Stage.CONNECT,
        code=421,
        text="4.7.0 Too many connections, slow down",
    ),
}


class FaultPlan:
    """The faults in force and their random state; safe to replace while running."""

    def __init__(self, faults: Iterable[Fault] = (), *, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = tuple(faults)
        self._seed = seed
        self._random = random.Random(seed)
        self._fired: dict[tuple[int, str], int] = {}
        """Firings per (fault, recipient): kept, so that greylisting lets the retry in."""
        self._per_connection: dict[str, dict[int, int]] = {}
        """Firings per connection key and fault, dropped when the connection ends."""

    @property
    def faults(self) -> tuple[Fault, ...]:
        return self._faults

    def set(self, faults: Iterable[Fault], *, seed: int | None = None) -> None:
        """Replace the faults (and reset counters and the random state)."""
        with self._lock:
            self._faults = tuple(faults)
            self._seed = seed if seed is not None else self._seed
            self._random = random.Random(self._seed)
            self._fired.clear()
            self._per_connection.clear()

    def forget(self, key: str) -> None:
        """The connection ``key`` has ended: drop its counters (a long serve stays small)."""
        with self._lock:
            self._per_connection.pop(key, None)

    def pick(self, stage: Stage, *, recipient: str | None = None, key: str = "") -> Fault | None:
        """The fault that fires now at ``stage``, if any (first matching wins).

        ``key`` identifies what ``times`` counts per: the recipient for RCPT and
        later stages, the connection before that.
        """
        if not self._faults:
            return None
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.stage is not stage or not fault.applies_to(recipient):
                    continue
                if recipient:
                    counts: dict[Any, int] = self._fired
                    counter: Any = (index, recipient.lower())
                else:
                    counts = self._per_connection.get(key, {})
                    counter = index
                if fault.times is not None and counts.get(counter, 0) >= fault.times:
                    continue
                if fault.probability < 1.0 and self._random.random() >= fault.probability:
                    continue
                if fault.times is not None:  # only a limit needs counting
                    if not recipient:
                        counts = self._per_connection.setdefault(key, counts)
                    counts[counter] = counts.get(counter, 0) + 1
                return fault
        return None


#: Numeric options: the Fault field each sets, its type and its allowed range.
_NUMBERS: dict[str, tuple[str, type[float] | type[int], float, float]] = {
    "p": ("probability", float, 0.0, 1.0),
    "probability": ("probability", float, 0.0, 1.0),
    "delay": ("delay", float, 0.0, math.inf),
    "times": ("times", int, 1, math.inf),
}


def _parse_option(fault: Fault, option: str, item: str) -> Fault:
    key, eq, value = option.partition("=")
    key = key.strip().lower()
    try:
        if key == "drop" and not eq:
            return replace(fault, drop=True)
        if key in _NUMBERS:
            name, kind, low, high = _NUMBERS[key]
            number = kind(value)
            # isfinite: NaN and infinity (a delay that never ends) are bad values too.
            if not (math.isfinite(number) and low <= number <= high):
                raise ValueError
            changes: dict[str, Any] = {name: number}
            return replace(fault, **changes)
        if key == "to" and value.strip():
            return replace(fault, to=value.strip())
    except ValueError:
        raise FaultError(f"Fault {item!r}: {option!r} has a bad value.") from None
    raise FaultError(
        f"Fault {item!r}: unknown option {option!r}; options are p=, delay=, drop, times=, to=."
    )


def _parse_item(item: str) -> Fault:
    head, *options = [part.strip() for part in item.split(",")]
    name, eq, reply = head.partition("=")
    name = name.strip().lower()
    if name in PRESETS and not eq:
        fault = PRESETS[name]
    else:
        try:
            stage = Stage(name)
        except ValueError:
            raise FaultError(
                f"Unknown fault {name!r}: use a preset ({', '.join(PRESETS)}) or a stage "
                f"({', '.join(s.value for s in Stage)}), e.g. 'rcpt=550 5.1.1 User unknown'."
            ) from None
        fault = Fault(name=stage.value, stage=stage)
        if eq:
            code, _, text = reply.strip().partition(" ")
            if not (len(code) == 3 and code.isdigit() and code[0] in "2345"):
                raise FaultError(f"Fault {item!r}: the reply must start with a 3-digit SMTP code.")
            fault = replace(fault, code=int(code), text=text.strip())
    for option in options:
        if option:
            fault = _parse_option(fault, option, item)
    if fault.code is None and not fault.drop and fault.delay == 0:
        raise FaultError(f"Fault {item!r} does nothing: give a reply code, drop, or delay=.")
    return fault


def parse_faults(spec: str) -> list[Fault]:
    """Parse a ``--faults`` SPEC (see the module docstring) into faults."""
    return [_parse_item(item) for item in spec.split(";") if item.strip()]
