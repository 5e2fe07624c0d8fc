"""The probe's verdict: deliverable, undeliverable, catch-all or unknown, from the
server's RCPT replies read through the bounce classifier (the same reasons a bounce
of that reply would get), and the receivers that are never asked
(``data/probe.toml``, each with its source)."""

from __future__ import annotations

import asyncio
import secrets
import socket
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from maildoctor.bounce import BounceRecipient, ParsedBounce, classify
from maildoctor.findings import Lang
from maildoctor.probe.limiter import ProbeLimiter
from maildoctor.probe.session import UNRESOLVED, Conversation, Reply, converse

__all__ = ["ProbeResult", "ProbeSettings", "format_probe_text", "judge", "probe_address"]

Outcome = Literal["deliverable", "undeliverable", "catch_all", "unknown"]

#: Bounce reasons (Sisimai's) that are about the mailbox itself; any other refusal
#: (blocked, policy, spam, rate limits...) is about the sender or the connection.
MAILBOX_REASONS = frozenset({"userunknown", "hasmoved", "suspend", "mailboxfull", "hostunknown"})


@cache
def _data() -> dict[str, Any]:
    return tomllib.loads(
        resources.files("maildoctor").joinpath("data/probe.toml").read_text("utf-8")
    )


@dataclass(frozen=True, kw_only=True)
class ProbeSettings:
    """How the probe introduces itself and where it goes."""

    mail_from: str = ""
    """The MAIL FROM address (``""``: the null sender, as MTAs' own address checks use)."""
    helo: str = field(default_factory=socket.getfqdn)
    """The EHLO name."""
    host: tuple[str, int] | None = None
    """Ask this server instead of the domain's MX (``--probe-host HOST:PORT``)."""
    port: int = 25
    timeout: float = float(_data()["limits"]["timeout"])
    random_local: Callable[[], str] = field(default=lambda: f"md-probe-{secrets.token_hex(6)}")
    """The random local part of the catch-all check."""

    @staticmethod
    def limiter() -> ProbeLimiter:
        """A limiter with the data file's limits (one per run, made inside its event loop)."""
        limits = _data()["limits"]
        return ProbeLimiter(
            min_interval=float(limits["min_interval"]),
            per_host=int(limits["per_host"]),
            total=int(limits["total"]),
        )


@dataclass(frozen=True, kw_only=True)
class ProbeResult:
    """What the probe found for one address."""

    address: str
    outcome: Outcome
    reason: str
    """``accepted``, ``catch_all``, ``rejected``, ``temporary``, ``tls_required``,
    ``port_blocked``, ``session_refused``, ``refused_not_mailbox``, ``no_mx``,
    ``unprobed``, ``not_ascii``..."""
    text: str
    """The reason, in the report's language."""
    host: str = ""
    """``host:port`` connected to (``""``: no connection was made)."""
    reply: str = ""
    """The server's reply to RCPT TO the address (or the reply that ended the session)."""
    random_reply: str = ""
    """Its reply to RCPT TO the random address."""
    bounce_reason: str = ""
    """The bounce classifier's reason for a refusal (``userunknown``...)."""
    source: str = ""
    """For a receiver that is not probed: the page that says why."""

    @property
    def probed(self) -> bool:
        return bool(self.host)

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "outcome": self.outcome,
            "reason": self.reason,
            "text": self.text,
            "probed": self.probed,
            "host": self.host or None,
            "reply": self.reply or None,
            "random_reply": self.random_reply or None,
            "bounce_reason": self.bounce_reason or None,
            "source": self.source or None,
        }


def _reason_text(reason: str, lang: Lang, **values: str) -> str:
    return str(_data()["reason"][f"{reason}_{lang}"]).format(**values)


def _unprobed(domain: str) -> dict[str, Any] | None:
    domain = domain.lower()
    for row in _data()["unprobed"]:
        for pattern in row["domains"]:
            if domain == pattern or (pattern.startswith("*.") and domain.endswith(pattern[1:])):
                return dict(row)
    return None


def _bounce_reason(address: str, reply: Reply, host: str) -> str:
    """The bounce classifier's reason for an RCPT refusal (as if it came in a DSN)."""
    status = next(
        (w for w in reply.text.split()[:2] if w[:2] in ("4.", "5.") and w.count(".") == 2), ""
    )
    recipient = BounceRecipient(
        recipient=address.lower(),
        action="failed",
        status=status,
        reply_code=str(reply.code),
        diagnostic=str(reply),
        remote_mta=host.rpartition(":")[0],
        command="RCPT",
        diagnostic_type="smtp",
    )
    bounce = ParsedBounce(
        kind="dsn", mta="", reporting_mta="", subject="", sender="", text="",
        original_to="", date=None, recipients=(recipient,),
    )  # fmt: skip
    return classify(bounce)[0].reason


def _tls_refusal(reply: Reply) -> bool:
    return reply.code == 530 or ("STARTTLS" in reply.text.upper() and reply.code >= 500)


def judge(address: str, talk: Conversation, lang: Lang = "ja") -> ProbeResult:
    """The verdict for one conversation (pure apart from the classifier's tables)."""
    base: dict[str, Any] = {"address": address, "host": talk.host}
    if talk.stage == "connect" and talk.error:  # no connection: nothing was asked
        reason = "host_unresolved" if talk.error.startswith(UNRESOLVED) else "port_blocked"
        text = _reason_text(reason, lang, detail=f"{talk.host}: {talk.error}")
        return ProbeResult(address=address, outcome="unknown", reason=reason, text=text)
    if talk.stage in ("starttls", "network") and talk.error:
        reason = "tls_required" if talk.stage == "starttls" else "session_refused"
        text = _reason_text(reason, lang, detail=talk.error)
        return ProbeResult(outcome="unknown", reason=reason, text=text, **base)
    if talk.refusal is not None:
        reason = "tls_required" if _tls_refusal(talk.refusal) else "session_refused"
        text = _reason_text(reason, lang, detail=str(talk.refusal))
        return ProbeResult(
            outcome="unknown", reason=reason, text=text, reply=str(talk.refusal), **base
        )
    mine = talk.rcpt[0]
    other = talk.rcpt[1] if len(talk.rcpt) > 1 else None
    base.update(reply=str(mine), random_reply=str(other) if other else "")
    if _tls_refusal(mine):
        return ProbeResult(
            outcome="unknown",
            reason="tls_required",
            text=_reason_text("tls_required", lang),
            **base,
        )
    if 400 <= mine.code < 500:
        return ProbeResult(
            outcome="unknown", reason="temporary", text=_reason_text("temporary", lang), **base
        )
    if mine.code >= 500:
        why = _bounce_reason(address, mine, talk.host)
        if why in MAILBOX_REASONS:
            text = _reason_text("rejected", lang, bounce_reason=why)
            return ProbeResult(
                outcome="undeliverable", reason="rejected", text=text, bounce_reason=why, **base
            )
        text = _reason_text("refused_not_mailbox", lang, bounce_reason=why)
        return ProbeResult(
            outcome="unknown", reason="refused_not_mailbox", text=text, bounce_reason=why, **base
        )
    if other is not None and 200 <= other.code < 300:
        return ProbeResult(
            outcome="catch_all", reason="catch_all", text=_reason_text("catch_all", lang), **base
        )
    if other is not None and other.code >= 500 and not _tls_refusal(other):
        return ProbeResult(
            outcome="deliverable", reason="accepted", text=_reason_text("accepted", lang), **base
        )
    text = _reason_text("accepted_random_unclear", lang)
    return ProbeResult(outcome="deliverable", reason="accepted_random_unclear", text=text, **base)


async def probe_address(
    address: str,
    mx: Sequence[str],
    *,
    settings: ProbeSettings,
    limiter: ProbeLimiter,
    lang: Lang = "ja",
) -> ProbeResult:
    """Probe ``address`` at the first of its ``mx`` hosts (or ``settings.host``).

    Receivers listed in ``data/probe.toml`` are not asked; a domain with no known MX is
    not asked; a non-ASCII address is not asked (it would need SMTPUTF8).
    """
    domain = address.rpartition("@")[2].lower()
    row = _unprobed(domain)
    if row is not None:
        text = _reason_text("unprobed", lang, why=row[f"why_{lang}"], source=row["source"])
        return ProbeResult(
            address=address, outcome="unknown", reason="unprobed", text=text, source=row["source"]
        )
    if not address.isascii():
        return ProbeResult(
            address=address,
            outcome="unknown",
            reason="not_ascii",
            text=_reason_text("not_ascii", lang),
        )
    target = settings.host or ((mx[0].rstrip("."), settings.port) if mx else None)
    if target is None:
        return ProbeResult(
            address=address, outcome="unknown", reason="no_mx", text=_reason_text("no_mx", lang)
        )
    host, port = target
    recipients = [address, f"{settings.random_local()}@{domain}"]
    async with limiter.slot(host):
        talk = await asyncio.to_thread(
            converse, host, port, helo=settings.helo, mail_from=settings.mail_from,
            recipients=recipients, timeout=settings.timeout,
        )  # fmt: skip
    return judge(address, talk, lang)


def format_probe_text(result: ProbeResult, lang: Lang) -> str:
    """The probe's lines for a text report: the verdict, the replies, and whether a
    connection was made (always said, either way)."""
    words = _data()["words"]
    outcome = _data()["outcome"][f"{result.outcome}_{lang}"]
    lines = [f"{words[f'title_{lang}']}: {outcome}", f"  {result.text}"]
    if result.reply:
        lines.append(f"  RCPT TO ({words[f'address_{lang}']}): {result.reply}")
    if result.random_reply:
        lines.append(f"  RCPT TO ({words[f'random_{lang}']}): {result.random_reply}")
    made = (
        words[f"made_{lang}"].format(host=result.host)
        if result.probed
        else words[f"not_made_{lang}"]
    )
    lines.append(f"  {made}")
    return "\n".join(lines) + "\n"
