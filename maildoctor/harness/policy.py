"""Recipient policy: what a carrier's filters would do with one message (pure).

A :class:`Profile` is one recipient's filter settings (the kinds named in
``maildoctor.carriers``: refuse_pc, refuse_url, spoofing, receive_list,
deny_list). :class:`MessageFacts` are what those filters look at, computed
from the envelope and the parsed message. :func:`decide` applies the rules in
the carrier's order and returns a :class:`Decision`: the outcome, the rule
that made it, and the SMTP reply a real server would send.
What the filters look at (:class:`MessageFacts`) lives in ``message_facts``.
A spoofing filter never decides on an authentication it could not check
(``temperror``): the mail goes on to the next rule, and when it is delivered
the decision's rule is ``spoofing_unchecked``, which says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from maildoctor.carriers import CARRIERS, Carrier
from maildoctor.harness.message_facts import MessageFacts, address_domain

__all__ = [
    "DEFAULT_REJECT_REPLY",
    "RULES",
    "Decision",
    "MessageFacts",
    "Outcome",
    "Profile",
    "UnsupportedSetting",
    "decide",
    "scenario_profiles",
]


class Outcome(StrEnum):
    """What happened to the message for one recipient (contract values)."""

    DELIVERED = "delivered"
    JUNK = "junk"
    FILTERED = "filtered"
    REJECTED = "rejected"


#: Rule names a decision can carry (besides ``fault:<name>`` from fault injection).
#: ``spoofing_unchecked``: delivered, but the spoofing filter could not check the
#: authentication (temperror), so the mail passed it unexamined.
RULES = (
    "default",
    "spoofing_unchecked",
    "receive_list",
    "spoofing",
    "refuse_url",
    "deny_list",
    "receive_only",
    "refuse_pc",
)

#: The reply of a filter rejection when the profile names none (RFC 3463 5.7.1: refused by policy).
DEFAULT_REJECT_REPLY: tuple[int, str] = (550, "5.7.1 Message refused by the recipient's filter")

OK_REPLY: tuple[int, str] = (250, "2.0.0 OK: queued")

# The usual rule order: the receive list (docomo's 受信リスト, au's 「必ず受信」) takes
# priority over every other filter. Carriers that differ say so in data/carriers.json
# (``filter_order``), as they say which filters are on by default (``defaults_on``).
_ALLOW_FIRST = ("receive_list", "spoofing", "refuse_url", "deny_list", "receive_only", "refuse_pc")


class UnsupportedSetting(ValueError):
    """A profile asked for a filter setting the carrier does not have."""


@dataclass(frozen=True, kw_only=True)
class Profile:
    """One recipient's mail filter settings, as the harness simulates them."""

    name: str = "open"
    """A label shown with decisions (e.g. ``docomo`` or ``docomo+refuse_url``)."""
    carrier: str | None = None
    """The carrier id whose behaviour is simulated, or None for a plain mailbox."""
    refuse_pc: bool = False
    """Refuse mail that does not come from a mobile phone (PC / internet mail)."""
    refuse_url: bool = False
    """Refuse mail whose body holds a URL."""
    spoofing: bool = False
    """Refuse mail whose header From cannot be authenticated (なりすまし拒否)."""
    receive_list: tuple[str, ...] = ()
    """Allowed senders: domains (suffix match, as carriers do) or full addresses."""
    receive_only: bool = False
    """Accept only senders on the receive list (SoftBank 受信許可リストからのみ許可)."""
    deny_list: tuple[str, ...] = ()
    """Refused senders: domains (suffix match) or full addresses."""
    filtered_outcome: Outcome = Outcome.REJECTED
    """What happens to mail a rule catches: junk (docomo), rejected (au), filtered."""
    reject_reply: tuple[int, str] = DEFAULT_REJECT_REPLY
    """The SMTP reply of a rejection (au: ``550 User unknown``)."""
    rule_order: tuple[str, ...] = _ALLOW_FIRST
    """The order in which rules are checked; the first that matches decides."""
    trusted_authserv_ids: tuple[str, ...] = ()
    """Verifiers whose Authentication-Results this mailbox trusts besides the harness's
    own (RFC 8601 5: those of its own domain). ``diagnose`` names its simulated one, so
    that a verifying harness's spoofing filters also try the sender authenticated."""
    setting_names: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    """Rule kind -> the carrier's own name for the setting (shown in the UI)."""

    @classmethod
    def open(cls) -> Profile:
        """A mailbox with no filters: every message is delivered."""
        return cls()

    @classmethod
    def for_carrier(
        cls,
        carrier: str | Carrier,
        *,
        defaults: bool = True,
        refuse_pc: bool | None = None,
        refuse_url: bool | None = None,
        spoofing: bool | None = None,
        receive_list: Iterable[str] = (),
        receive_only: bool = False,
        deny_list: Iterable[str] = (),
    ) -> Profile:
        """A carrier mailbox: the carrier's defaults, with the given settings changed.

        ``Profile.for_carrier("docomo", refuse_url=True)`` is a docomo mailbox that
        refuses mail with URLs (docomo files it as junk). Raises
        :class:`UnsupportedSetting` for a setting the carrier does not offer.
        """
        c = carrier if isinstance(carrier, Carrier) else _carrier(carrier)
        on = set(c.defaults_on) if defaults else set()
        asked = {"refuse_pc": refuse_pc, "refuse_url": refuse_url, "spoofing": spoofing}
        for kind, value in asked.items():
            if value is True:
                on.add(kind)
            elif value is False:
                on.discard(kind)
        receive = tuple(s.lower() for s in receive_list)
        deny = tuple(s.lower() for s in deny_list)
        wanted = set(on) | ({"receive_list"} if receive or receive_only else set())
        wanted |= {"deny_list"} if deny else set()
        for kind in sorted(wanted):
            if c.setting(kind) is None:
                raise UnsupportedSetting(
                    f"{c.name_en} has no {kind.replace('_', ' ')} setting; "
                    f"its settings are: {', '.join(s.kind for s in c.settings)}."
                )
        label = "+".join([c.id, *sorted(wanted - set(c.defaults_on))])
        return cls(
            name=label,
            carrier=c.id,
            refuse_pc="refuse_pc" in on,
            refuse_url="refuse_url" in on,
            spoofing="spoofing" in on,
            receive_list=receive,
            receive_only=receive_only,
            deny_list=deny,
            filtered_outcome=Outcome(c.filtered_outcome),
            reject_reply=c.reject_reply or DEFAULT_REJECT_REPLY,
            rule_order=c.filter_order or _ALLOW_FIRST,
            setting_names={s.kind: s.name_ja for s in c.settings},
        )

    def with_settings(self, **changes: object) -> Profile:
        """A copy with some fields changed (``profile.with_settings(refuse_url=True)``)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "carrier": self.carrier,
            "refuse_pc": self.refuse_pc,
            "refuse_url": self.refuse_url,
            "spoofing": self.spoofing,
            "receive_list": list(self.receive_list),
            "receive_only": self.receive_only,
            "deny_list": list(self.deny_list),
            "filtered_outcome": str(self.filtered_outcome),
            "reject_reply": list(self.reject_reply),
        }


def _carrier(carrier_id: str) -> Carrier:
    try:
        return CARRIERS[carrier_id]
    except KeyError:
        raise UnsupportedSetting(
            f"Unknown carrier {carrier_id!r}; known carriers are: {', '.join(CARRIERS)}."
        ) from None


def scenario_profiles(carrier: str | Carrier) -> dict[str, Profile]:
    """The delivery-trial scenarios for one carrier, skipping settings it lacks.

    Keys: ``defaults``, ``refuse_pc``, ``refuse_url``, ``spoofing``,
    ``receive_list`` (refusing PC mail but with lentrance.com on the receive list).
    """
    from maildoctor.carriers import SENDER_DOMAIN

    c = carrier if isinstance(carrier, Carrier) else _carrier(carrier)
    out = {"defaults": Profile.for_carrier(c)}
    for kind in ("refuse_pc", "refuse_url", "spoofing"):
        if c.setting(kind) is not None:
            out[kind] = Profile.for_carrier(c, **{kind: True})  # type: ignore[arg-type]
    if c.setting("receive_list") is not None:
        refuse_pc = True if c.setting("refuse_pc") is not None else None
        out["receive_list"] = Profile.for_carrier(
            c, refuse_pc=refuse_pc, receive_list=[SENDER_DOMAIN]
        )
    return out


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What the simulated mailbox did with a message, and why."""

    outcome: Outcome
    """delivered, junk, filtered or rejected."""
    rule: str
    """The rule that decided: a filter kind, ``default``, or ``fault:<name>``."""
    reply_code: int
    """The SMTP reply code a real server sends for this outcome."""
    reply_text: str
    """The text of that reply (au's filter rejections read ``User unknown``)."""
    rule_name: str = ""
    """The carrier's own name for the setting, when there is one."""

    @property
    def reply(self) -> str:
        return f"{self.reply_code} {self.reply_text}"

    def to_dict(self) -> dict[str, object]:
        return {
            "outcome": str(self.outcome),
            "rule": self.rule,
            "rule_name": self.rule_name,
            "reply": self.reply,
            "reply_code": self.reply_code,
            "reply_text": self.reply_text,
        }


def _listed(entries: tuple[str, ...], facts: MessageFacts) -> bool:
    """Carrier lists match a full address or a domain by suffix (後方一致)."""
    for sender in {facts.header_from.lower(), facts.envelope_from.lower()} - {""}:
        domain = address_domain(sender)
        for entry in entries:
            entry = entry.lstrip("@")
            if "@" in entry:
                if sender == entry:
                    return True
            elif domain == entry or domain.endswith("." + entry):
                return True
    return False


def _fires(rule: str, profile: Profile, facts: MessageFacts) -> bool:
    match rule:
        case "receive_list":
            return bool(profile.receive_list) and _listed(profile.receive_list, facts)
        case "spoofing":
            return profile.spoofing and facts.spoofed
        case "refuse_url":
            return profile.refuse_url and facts.has_url
        case "deny_list":
            return bool(profile.deny_list) and _listed(profile.deny_list, facts)
        case "receive_only":
            return profile.receive_only and not _listed(profile.receive_list, facts)
        case "refuse_pc":
            return profile.refuse_pc and not facts.from_phone
    raise ValueError(f"Unknown rule {rule!r}; rules are: {', '.join(RULES)}.")


def decide(profile: Profile, facts: MessageFacts) -> Decision:
    """The decision of ``profile``'s filters on a message with ``facts``.

    A spoofing filter that meets an unchecked authentication (temperror) passes the
    mail on without deciding; if it is then delivered, the rule says so
    (``spoofing_unchecked``) rather than ``default`` or ``receive_list``.
    """
    unchecked = False
    for rule in profile.rule_order:
        if rule == "spoofing" and profile.spoofing and facts.unchecked:
            unchecked = True
            continue
        if not _fires(rule, profile, facts):
            continue
        name = rule_name(profile, rule)
        if rule == "receive_list":
            if unchecked:
                return _unchecked(profile)
            return Decision(
                outcome=Outcome.DELIVERED,
                rule=rule,
                reply_code=OK_REPLY[0],
                reply_text=OK_REPLY[1],
                rule_name=name,
            )
        code, text = (
            profile.reject_reply if profile.filtered_outcome is Outcome.REJECTED else OK_REPLY
        )
        return Decision(
            outcome=profile.filtered_outcome,
            rule=rule,
            reply_code=code,
            reply_text=text,
            rule_name=name,
        )
    if unchecked:
        return _unchecked(profile)
    return Decision(
        outcome=Outcome.DELIVERED, rule="default", reply_code=OK_REPLY[0], reply_text=OK_REPLY[1]
    )


def _unchecked(profile: Profile) -> Decision:
    return Decision(
        outcome=Outcome.DELIVERED,
        rule="spoofing_unchecked",
        reply_code=OK_REPLY[0],
        reply_text=OK_REPLY[1],
        rule_name=rule_name(profile, "spoofing_unchecked"),
    )


def rule_name(profile: Profile, rule: str) -> str:
    """The carrier's own name for the setting behind ``rule`` (``""``: none, or no carrier)."""
    setting = {"receive_only": "receive_list", "spoofing_unchecked": "spoofing"}.get(rule, rule)
    return profile.setting_names.get(setting, "")
