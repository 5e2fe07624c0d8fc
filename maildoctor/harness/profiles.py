"""Which profile each recipient gets: built-in carrier profiles and a TOML file.

Without any configuration a recipient at a carrier domain gets that carrier's
default filters (``Profile.for_carrier``) and everyone else an open mailbox.
A profiles file overrides that per address or per domain::

    ["taro@docomo.ne.jp"]        # one address
    refuse_url = true

    ["ezweb.ne.jp"]              # a domain and its subdomains
    refuse_pc = true
    receive_list = ["lentrance.com"]

    ["example.org"]
    carrier = "softbank"         # simulate a carrier for any domain
    outcome = "rejected"         # override what happens to caught mail
    reply = "550 5.7.1 Go away"

    ["*"]                        # everyone else
    deny_list = ["spam.example"]

The most specific entry wins: address, then the longest domain, then ``*``.
A ``*`` table adds its keys to each recipient's built-in profile (a SoftBank
address keeps SoftBank's filters and gains the deny list; a carrier without such a
setting, Y!mobile has no deny list, keeps its own); it replaces them only
when it says so, with ``carrier = "none"`` (an open mailbox plus its keys) or
another carrier id.
"""

from __future__ import annotations

import functools
import threading
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maildoctor.carriers import CARRIERS, carrier_for_domain
from maildoctor.errors import BadInput
from maildoctor.harness.policy import Outcome, Profile, UnsupportedSetting

__all__ = ["ProfileBook", "ProfileError", "load_profiles", "parse_profile"]

_KEYS = {
    "carrier",
    "defaults",
    "refuse_pc",
    "refuse_url",
    "spoofing",
    "receive_list",
    "receive_only",
    "deny_list",
    "outcome",
    "reply",
}

#: Table keys that are a carrier's mailbox setting, and the setting each one needs.
_SETTINGS = {
    "refuse_pc": "refuse_pc",
    "refuse_url": "refuse_url",
    "spoofing": "spoofing",
    "receive_list": "receive_list",
    "receive_only": "receive_list",
    "deny_list": "deny_list",
}


class ProfileError(BadInput, ValueError):
    """A profiles file or profile table could not be understood."""


class ProfileBook:
    """Recipient pattern -> profile, safe to change while the server runs."""

    def __init__(self, entries: Mapping[str, Profile] | None = None) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, Profile] = {}
        self._added: dict[str | None, Profile] | None = None
        """Built-in profile plus a ``*`` table, by carrier id (see :meth:`add_to_builtin`)."""
        for pattern, profile in (entries or {}).items():
            self.set(pattern, profile)

    def add_to_builtin(self, table: Mapping[str, Any]) -> None:
        """Give everyone without an entry their built-in profile plus ``table``'s keys
        (a ``*`` table that names no carrier). A carrier gets only the settings its
        mailboxes offer (Y!mobile has no deny list); built now, so errors show at load."""
        built: dict[str | None, Profile] = {None: parse_profile("*", {"carrier": "none", **table})}
        for carrier in CARRIERS.values():
            offered = {
                k: v
                for k, v in table.items()
                if k not in _SETTINGS or carrier.setting(_SETTINGS[k]) is not None
            }
            built[carrier.id] = parse_profile("*", {"carrier": carrier.id, **offered})
        with self._lock:
            self._added = built

    def set(self, pattern: str, profile: Profile) -> None:
        """Give ``pattern`` (an address, a domain, or ``*``) this profile."""
        with self._lock:
            self._entries[pattern.strip().lower().lstrip("@")] = profile

    def remove(self, pattern: str) -> None:
        with self._lock:
            self._entries.pop(pattern.strip().lower().lstrip("@"), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._added = None

    def entries(self) -> dict[str, Profile]:
        with self._lock:
            return dict(self._entries)

    def lookup(self, recipient: str) -> Profile:
        """The profile for ``recipient``: the most specific entry, else the built-in one."""
        address = recipient.strip().lower()
        domain = address.rpartition("@")[2].rstrip(".")
        with self._lock:
            if address in self._entries:
                return self._entries[address]
            labels = domain.split(".")
            for i in range(len(labels)):
                found = self._entries.get(".".join(labels[i:]))
                if found is not None:
                    return found
            if "*" in self._entries:
                return self._entries["*"]
            added = self._added
        if added is None:
            return _builtin(domain)
        carrier = carrier_for_domain(domain) if domain else None
        return added[carrier.id if carrier else None]


@functools.lru_cache(maxsize=1024)
def _builtin(domain: str) -> Profile:
    """The built-in profile of a domain: its carrier's defaults, or an open mailbox."""
    carrier = carrier_for_domain(domain) if domain else None
    return Profile.for_carrier(carrier) if carrier else Profile.open()


def parse_profile(pattern: str, table: Mapping[str, Any]) -> Profile:
    """One profile from a TOML table (see the module docstring for its keys)."""
    unknown = set(table) - _KEYS
    if unknown:
        raise ProfileError(
            f"Profile {pattern!r} has unknown keys {', '.join(sorted(unknown))}; "
            f"known keys are: {', '.join(sorted(_KEYS))}."
        )
    domain = pattern.rpartition("@")[2].lower()
    carrier_id = table.get("carrier")
    if carrier_id is None and domain != "*":
        found = carrier_for_domain(domain)
        carrier_id = found.id if found else None
    settings: dict[str, Any] = {
        k: table[k] for k in ("refuse_pc", "refuse_url", "spoofing", "receive_only") if k in table
    }
    for key, value in settings.items():
        if not isinstance(value, bool):
            raise ProfileError(f"Profile {pattern!r}: {key} must be true or false, not {value!r}.")
    defaults = table.get("defaults", True)
    if not isinstance(defaults, bool):
        raise ProfileError(
            f"Profile {pattern!r}: defaults must be true or false, not {defaults!r}."
        )
    lists: dict[str, Any] = {}
    for key in ("receive_list", "deny_list"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ProfileError(
                f"Profile {pattern!r}: {key} must be a list of domains or addresses."
            )
        lists[key] = tuple(v.lower() for v in value)
    try:
        if carrier_id and carrier_id != "none":
            profile = Profile.for_carrier(
                str(carrier_id),
                defaults=defaults,
                **settings,
                **lists,
            )
        else:
            profile = Profile(
                name=pattern,
                **settings,
                **lists,
            )
    except UnsupportedSetting as e:
        raise ProfileError(f"Profile {pattern!r}: {e}") from None
    changes: dict[str, Any] = {"name": f"{pattern} ({profile.name})"}
    if "outcome" in table:
        try:
            changes["filtered_outcome"] = Outcome(table["outcome"])
        except ValueError:
            raise ProfileError(
                f"Profile {pattern!r}: outcome must be one of "
                f"{', '.join(o.value for o in Outcome)}, not {table['outcome']!r}."
            ) from None
    if "reply" in table:
        changes["reject_reply"] = parse_reply(str(table["reply"]), where=f"Profile {pattern!r}")
    return profile.with_settings(**changes)


def _dotted(pattern: str, table: Mapping[str, Any]) -> str:
    """The dotted name TOML split into nested tables (``pattern`` itself when none)."""
    inner = [(k, v) for k, v in table.items() if isinstance(v, dict)]
    if not inner:
        return pattern
    key, value = inner[0]
    return _dotted(f"{pattern}.{key}", value)


def parse_reply(text: str, *, where: str) -> tuple[int, str]:
    """``"550 5.7.1 text"`` -> (550, "5.7.1 text")."""
    code, _, rest = text.strip().partition(" ")
    if not (code.isdigit() and len(code) == 3 and code[0] in "2345"):
        raise ProfileError(f"{where}: a reply must start with a 3-digit SMTP code, not {text!r}.")
    return int(code), rest.strip() or "Refused"


def load_profiles(path: Path) -> ProfileBook:
    """Read a profiles TOML file into a book; errors name the file and the entry."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as e:
        raise ProfileError(f"Cannot read the profiles file {path}: {e.strerror}.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ProfileError(f"The profiles file {path} is not valid TOML: {e}.") from None
    book = ProfileBook()
    for pattern, table in data.items():
        if not isinstance(table, dict):
            raise ProfileError(
                f'In {path}, {pattern!r} must be a table such as ["{pattern}"], not a value.'
            )
        dotted = _dotted(pattern, table)
        if dotted != pattern:
            # TOML reads [lentrance.com] as table "lentrance" holding table "com".
            raise ProfileError(
                f"In {path}, [{dotted}] was read as nested tables (TOML splits bare keys "
                f'at dots): quote it, ["{dotted}"].'
            )
        if pattern == "*" and "carrier" not in table:
            book.add_to_builtin(table)
        else:
            book.set(pattern, parse_profile(pattern, table))
    return book
