"""The desk's diagnosis: check the address, run the trial in the serve harness, store it.

The trial delivers into the harness this app serves, so every evidence link of a
diagnosis opens the very message in the harness view. Trials run one at a time
(each one sets a profile for its recipient; the SMTP client reads the outcome on its
own connection), and a recipient's own profile, if ``--profiles`` gave one, is put
back after.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from maildoctor.address.report import VERDICT_LABELS, dns_note
from maildoctor.diagnose.diagnosis import TrialFailed, diagnose
from maildoctor.diagnose.history import History
from maildoctor.diagnose.paste import Paste
from maildoctor.diagnose.reply import advice_items, ticket_subject
from maildoctor.diagnose.report import (
    receive_list_note,
    spoofing_notes,
    trial_lesson,
    trial_rows,
)
from maildoctor.diagnose.results import DiagnoseResult
from maildoctor.findings import Lang, Severity, Verdict
from maildoctor.tickets import Ticket
from maildoctor.web.config import WebConfig
from maildoctor.web.events import events_db
from maildoctor.web.history import permalink
from maildoctor.web.messages import connect_host
from maildoctor.words import words

if TYPE_CHECKING:
    from maildoctor.address.check import CheckResult
    from maildoctor.harness.policy import Profile
    from maildoctor.harness.server import Harness
    from maildoctor.harness.store import Store

__all__ = ["DESK_ZONE", "SENDER_AUTH_TTL", "DeskService", "Team", "TrialFailed", "message_url"]

#: Seconds lentrance.com's published SPF/DKIM/DMARC is reused across diagnoses.
SENDER_AUTH_TTL = 600.0
#: The zone of the desk's sentences when the request names none (the page sends the
#: browser's own): the agents are in Japan.
DESK_ZONE = ZoneInfo("Asia/Tokyo")


@dataclass(frozen=True, kw_only=True)
class Team:
    """Who diagnosed and for which ticket, kept in the history and searchable."""

    agent: str = ""
    ticket_id: str = ""
    replace: int | None = None
    """The history id this diagnosis redoes (the same one in the other language)."""


def message_url(message_id: int) -> str:
    """The harness view's deep link to one stored message."""
    return f"/messages/{message_id}"


@dataclass
class _TrialTarget:
    """What :func:`run_trial` needs of a harness, over the serve harness."""

    harness: Harness
    saved: dict[str, Profile | None]

    @property
    def smtp_address(self) -> tuple[str, int]:
        host, port = self.harness.smtp_address
        return connect_host(host), port

    @property
    def store(self) -> Store:
        assert self.harness.store is not None
        return self.harness.store

    def set_profile(self, pattern: str, profile: Profile) -> None:
        if pattern not in self.saved:
            self.saved[pattern] = self.harness.profiles.entries().get(pattern)
        self.harness.set_profile(pattern, profile)

    def clear_profiles(self) -> None:
        """Put back what the recipients had (not clear the whole book: it is the server's)."""
        for pattern, previous in self.saved.items():
            if previous is None:
                self.harness.profiles.remove(pattern)
            else:
                self.harness.set_profile(pattern, previous)
        self.saved.clear()


def summary(result: CheckResult, data: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """What the desk puts first: the verdict as shown and the one most likely cause.

    An "ok" without DNS (``--desk-dns off``, an address literal) is shown as unknown,
    with the sentence the CLI prints for it in the desk's words (no ``--offline`` flag
    here): nothing said the domain exists.
    The cause is the first of: our own delivery record's sentence (what happened to the
    mail, when the records settle it); for an unknown verdict, that DNS sentence or the
    finding that DNS could not be asked; the gravest finding's message; the trial's lesson; the
    first advice's title.
    """
    state = result.verdict
    note = dns_note(result, lang, "desk")
    if state is Verdict.OK and result.dns_skipped:
        state = Verdict.UNKNOWN
    grave = [f for f in result.findings if f.severity is not Severity.INFO]
    grave.sort(key=lambda f: f.severity is not Severity.ERROR)
    advice = data.get("advice_details") or []
    dns = next((f for f in result.findings if "dns_unknown" in f.advice), None)
    record = data.get("delivery") or {}
    if record.get("verdict") not in (None, "not_searched") and record.get("summary"):
        cause = record["summary"]  # evidence before inference: what happened to our mail
    elif state is Verdict.UNKNOWN and (note or dns):
        cause = note or (dns.message if dns else "")
    elif grave:
        cause = grave[0].message
    elif data.get("lesson"):
        cause = data["lesson"]
    else:
        cause = advice[0]["title"] if advice else ""
    return {
        "verdict_state": str(state),
        "verdict_label": VERDICT_LABELS[lang][state],
        "dns_note": note,
        "cause": cause,
    }


class DeskService:
    """One app's diagnoses: the DNS setup, the trial lock, the history."""

    def __init__(self, harness: Harness, config: WebConfig) -> None:
        self.harness = harness
        self.config = config
        db = config.history_db or harness.config.db.with_name("desk-history.sqlite3")
        self.history = History(Path(db), max_entries=config.history_max)
        self._trial_lock = asyncio.Lock()
        self._sender_auth: dict[str, tuple[float, Any]] = {}
        """lentrance.com's published authentication by language, with when it was asked."""

    def _probe(self) -> Any:
        """A DNS probe for one diagnosis (None: offline). Each request gets its own, so
        that a long-running server never serves a stale answer from a cache."""
        if self.config.nameservers is None:
            return None
        from maildoctor.address.dnsprobe import DEFAULT_CANARIES, DNSProbe, make_resolver

        resolver = make_resolver(self.config.nameservers, self.config.dns_timeout)
        return DNSProbe(resolver, canaries=self.config.canaries or DEFAULT_CANARIES)

    async def _published_sender_auth(self, probe: Any, lang: Lang) -> Any:
        """lentrance.com's sender audit, which decides the spoofing rows; asked again
        after :data:`SENDER_AUTH_TTL` seconds, not on every diagnosis."""
        from maildoctor.diagnose.spoofing import published_sender_auth

        cached = self._sender_auth.get(lang)
        if cached is not None and time.monotonic() - cached[0] < SENDER_AUTH_TTL:
            return cached[1]
        auth = await published_sender_auth(
            probe,
            self.config.nameservers or (),
            timeout=self.config.dns_timeout,
            lang=lang,
            surface="desk",
        )
        self._sender_auth[lang] = (time.monotonic(), auth)
        return auth

    async def diagnose(
        self,
        address: str,
        ticket: Ticket,
        lang: Lang,
        paste: Paste | None = None,
        *,
        team: Team | None = None,
        zone: tzinfo = DESK_ZONE,
    ) -> dict[str, Any]:
        """The diagnose JSON plus what the page shows, stored in the history.

        ``paste``: what the agent pasted, read (:func:`maildoctor.diagnose.paste.read_paste`);
        its ``intake`` goes with the result and the draft greets the customer by name.
        ``team``: the agent and ticket id kept with it, and the entry it redoes.
        ``zone``: the reader's time zone, for the times in the sentences.
        """
        team = team or Team()
        probe = self._probe()
        # lentrance.com's published authentication decides the spoofing rows, as in
        # `diagnose` (the same canary: untrusted DNS makes that row "unknown").
        sender_auth = await self._published_sender_auth(probe, lang)
        templates_dir = self.harness.config.templates_dir
        diagnosis = await diagnose(
            address,
            _TrialTarget(self.harness, {}),
            probe=probe,
            sender_auth=sender_auth,
            ticket=ticket,
            templates_dir=templates_dir,
            lang=lang,
            reply_lang=lang,
            events_db=events_db(self.config, self.harness),
            paste=paste,
            trial_guard=self._trial_lock,
        )
        result = diagnosis.check
        data = await asyncio.to_thread(page_data, diagnosis, ticket, lang, templates_dir, zone)
        data.update(summary(result, data, lang))
        data["agent"] = team.agent
        data["ticket_id"] = team.ticket_id
        entry_id = await asyncio.to_thread(self.history.add, data, lang=lang, replace=team.replace)
        data["history_id"] = entry_id
        data["permalink"] = permalink(entry_id)
        return data


def page_data(
    diagnosis: DiagnoseResult,
    ticket: Ticket,
    lang: Lang,
    templates_dir: Path | None,
    zone: tzinfo = DESK_ZONE,
) -> dict[str, Any]:
    """The diagnose JSON plus what the page shows of it (the report's own cells and
    sentences, the advice texts, the record's times in the reader's ``zone``):
    formatting only, run in a thread."""
    result, trial = diagnosis.check, diagnosis.trial
    data = diagnosis.to_dict()
    if diagnosis.delivery is not None:
        data["delivery"] = diagnosis.delivery.to_dict(lang, zone)
    data["web"] = None  # the CLI's "open it with serve" hint: here the links are below
    data["lang"] = lang
    data["ticket_label"] = ticket.name(lang)
    subject = ticket_subject(ticket, templates_dir)
    data["advice_details"] = advice_items(result, diagnosis.advice, lang, subject)
    # The report's own cells: a spoofing row reads "unknown (auth OK: ... / NG: ...)".
    cells = trial_rows(diagnosis, lang)
    data["trial_rows"] = [
        {
            **r.to_dict(),
            "outcome_label": cell[1],
            "receive_list_label": receive_list_note(diagnosis, r, lang),
            "evidence_url": message_url(r.stored_id) if r.stored_id is not None else None,
        }
        for r, cell in zip(trial.results, cells, strict=True)
    ]
    if trial.ran:
        sentences = [*spoofing_notes(diagnosis, lang), trial_lesson(diagnosis, lang)]
        data["lesson"] = words("diagnose_report", lang)["sentence_sep"].join(sentences)
    else:
        data["lesson"] = None
    return data
