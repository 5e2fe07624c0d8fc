"""What a support agent pastes, read: the customer's address, name, ticket type, the mail.

Agents paste what the customer wrote, not an address: Japanese prose with no
spaces around the address (「登録したアドレスはtaro@docomo.ne.jpです。」), an
address in 「」 or （）, IME slips inside it (``taro@gmail、com``), several
addresses, a forwarded mail or a help-desk export with its headers, or the text of
a bounce. :func:`read_paste` is the one reader: the CLI (``diagnose "<text>"`` or
``-``) and the desk (``POST /api/diagnose {"text": ...}``) diagnose the address it
chose and show its :meth:`Paste.to_dict` as ``intake``.

What it decides, and from what (the words are data: ``data/paste.toml`` and the
ticket types' ``cues_*`` in ``data/tickets.toml``):

- ``kind``: ``bounce`` when the text carries an SMTP reply or status code and the
  bounce explainer (:mod:`maildoctor.bounce`) finds a failed recipient in it;
  ``forwarded`` when header lines (From/To/Subject/Date, Outlook's 差出人/宛先/件名)
  are there; ``address`` when the whole text is one address; else ``prose``.
- the address: a bounce's recipient; in a forwarded mail the party that is not
  Lentrance (the sender of a customer's mail, or the recipient of a Lentrance mail
  the customer forwarded); in prose the one the words beside it point to
  (「登録した」「現在の」 against 「以前の」「会社の」), else the first. Every
  address found stays a candidate, with the reason for the choice.
- the name: a header's display name, a form's お名前 field, a self-introduction
  (「山田太郎です」「山田と申します」, "My name is ...") or a signature line; the
  salutation uses the family name (「山田様」) when it can tell it, else 「お客様」.
- the ticket type: the type whose cue words the text uses (a specific type before
  "the mail did not arrive"); ``ticket_type_guessed`` is False when no word
  pointed anywhere and the default was taken.

Every scan is linear in the text (the address scanner, ``str.find`` for words,
regular expressions without nested repeats), so the largest paste the desk
accepts is read in well under a second.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from email.header import decode_header, make_header
from email.utils import parseaddr
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maildoctor.address.intake import scan_addresses
from maildoctor.address.repair import repair
from maildoctor.findings import Lang
from maildoctor.tickets import DEFAULT_TICKET, TICKETS

if TYPE_CHECKING:
    from maildoctor.diagnose.results import DiagnoseResult

__all__ = [
    "MAX_PASTE",
    "Candidate",
    "MailHeaders",
    "Paste",
    "answer",
    "intake_lines",
    "read_paste",
    "salutation",
]

#: The longest text read, in characters: a long forwarded thread or bounce fits.
MAX_PASTE = 100_000


@cache
def _words() -> dict[str, Any]:
    text = resources.files("maildoctor").joinpath("data", "paste.toml").read_text("utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """An address found in the paste."""

    address: str
    """As written (IME slips and all: the check reports them)."""
    normalized: str
    """With the slips undone (:func:`maildoctor.address.repair.repair`)."""
    ours: bool = False
    """One of Lentrance's own addresses (support, no-reply): never the customer's."""

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "normalized": self.normalized, "ours": self.ours}


@dataclass(frozen=True, kw_only=True)
class MailHeaders:
    """The headers of the mail the paste holds (forwarded or exported)."""

    from_: str = ""
    to: str = ""
    subject: str = ""
    date: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"from": self.from_, "to": self.to, "subject": self.subject, "date": self.date}


@dataclass(frozen=True, kw_only=True)
class Paste:
    """What :func:`read_paste` read; :meth:`to_dict` is the API's ``intake`` object."""

    kind: str
    """``address``, ``prose``, ``forwarded`` or ``bounce``."""
    address: str | None
    """The customer's address as written, the one to diagnose; None when none was found."""
    candidates: tuple[Candidate, ...]
    reason: str
    """Why that address: a key of ``[reasons]`` in ``data/paste.toml``."""
    cue: str = ""
    """The words that decided it, for the reasons that quote them."""
    name: str | None = None
    """The customer's name as written."""
    family_name: str | None = None
    """The part of :attr:`name` the salutation uses."""
    ticket_type: str = DEFAULT_TICKET
    ticket_type_guessed: bool = False
    ticket_cues: tuple[str, ...] = ()
    """The cue words found for :attr:`ticket_type`."""
    mail: MailHeaders | None = None
    bounce: tuple[Any, ...] = field(default=())
    """The bounce explainer's :class:`~maildoctor.bounce.Explanation` per failed recipient."""

    def chosen_because(self, lang: Lang) -> str:
        return str(_words()["reasons"][f"{self.reason}_{lang}"]).format(cue=self.cue)

    def salutation(self, lang: Lang) -> str:
        return salutation(self.family_name, lang)

    def to_dict(self, lang: Lang) -> dict[str, Any]:
        """The ``intake`` object of ``POST /api/diagnose`` and ``diagnose --format json``."""
        from maildoctor.bounce.report import explanation_dict

        return {
            "kind": self.kind,
            "address": self.address,
            "candidates": [c.to_dict() for c in self.candidates],
            "chosen_because": self.chosen_because(lang),
            "name": self.name,
            "salutation": self.salutation(lang),
            "ticket_type": self.ticket_type,
            "ticket_type_guessed": self.ticket_type_guessed,
            "ticket_cues": list(self.ticket_cues),
            "mail": self.mail.to_dict() if self.mail else None,
            "bounce": [explanation_dict(e, lang) for e in self.bounce] if self.bounce else None,
        }


def salutation(family_name: str | None, lang: Lang) -> str:
    """「山田様」 / "Dear Yamada," for a name, else 「お客様」 / "Dear customer,"."""
    words = _words()["salutation"]
    if family_name:
        return str(words[f"named_{lang}"]).format(name=family_name)
    return str(words[f"default_{lang}"])


def answer(
    paste: Paste, diagnosis: DiagnoseResult, lang: Lang, templates_dir: Path | None = None
) -> DiagnoseResult:
    """The diagnosis of the paste's address, answered as the paste asks: the draft greets
    the customer by name (「山田様」) and, for a pasted bounce, answers from the bounce
    (:func:`maildoctor.bounce.report.format_reply`, the ``bounce --reply`` draft); the
    ``intake`` object goes with the result.

    The hook between the paste reader and whatever diagnosed the address: the CLI
    and the desk call it on the diagnosis they got, and change nothing else.
    """
    draft = diagnosis.reply_draft
    advice = diagnosis.advice
    if paste.bounce:
        from maildoctor.bounce.report import format_reply
        from maildoctor.diagnose.delivery import after_bounce

        draft = format_reply(paste.bounce[0], templates_dir, lang)
        advice = tuple(after_bounce(paste.bounce[0].advice, advice))
    default = salutation(None, lang)
    if draft.startswith(default + "\n"):
        draft = paste.salutation(lang) + draft[len(default) :]
    return replace(diagnosis, reply_draft=draft, advice=advice, intake=paste.to_dict(lang))


def intake_lines(paste: Paste, lang: Lang, ticket: str | None = None) -> str:
    """What was read in the paste, for the text and markdown reports (before the report).

    ``ticket``: the type diagnosed (the agent's choice), when not the paste's guess.
    """
    words = _words()["report"]
    used = ticket or paste.ticket_type
    ticket_label = TICKETS[used].name(lang)
    guessed = ""
    if used == paste.ticket_type and paste.ticket_type_guessed:
        guessed = words[f"guessed_{lang}"]
    lines = [
        str(words[f"address_{lang}"]).format(
            address=paste.address, because=paste.chosen_because(lang)
        ),
        str(words[f"salutation_{lang}"]).format(salutation=paste.salutation(lang)),
        str(words[f"ticket_{lang}"]).format(ticket=ticket_label, guessed=guessed),
    ]
    others = [c.address for c in paste.candidates if c.address != paste.address]
    if others:
        lines.append(str(words[f"others_{lang}"]).format(others=", ".join(others)))
    if paste.bounce:
        from maildoctor.bounce.report import summary

        e = paste.bounce[0]
        lines.append(
            str(words[f"bounce_{lang}"]).format(summary=summary(e.reason, lang, e.carrier))
        )
    return "\n".join(lines) + "\n\n"


def read_paste(text: str) -> Paste:
    """Read what an agent pasted (at most :data:`MAX_PASTE` characters are read)."""
    text = text[:MAX_PASTE].replace("\r\n", "\n").replace("\r", "\n").strip()
    candidates = _candidates(text)
    if not candidates and _AT_TOKEN.fullmatch(text):
        # One word with an at sign the scanner does not take (``taro@gmail``,
        # ``@docomo.ne.jp``): the address the agent means, for the check to judge.
        candidates = (Candidate(address=text, normalized=repair(text) or text.lower()),)
    if not candidates:
        # Prose with an address whose ending was left out (「taro@gmailです」): the
        # check's typo matcher finishes it.
        candidates = _candidates(text, labels=1)
    mail, mail_parties = _headers(text)
    ticket_type, cues = _ticket_type(_own_words(text, mail))
    base = Paste(
        kind="prose",
        address=None,
        candidates=candidates,
        reason="none",
        ticket_type=ticket_type,
        ticket_type_guessed=bool(cues),
        ticket_cues=cues,
        mail=mail,
    )
    bounce = _bounce(text)
    if bounce:
        recipient = bounce[0].recipient
        found = next((c for c in candidates if c.normalized == recipient.lower()), None)
        if found is None:
            found = Candidate(address=recipient, normalized=recipient.lower())
            candidates = (found, *candidates)
        return replace(
            base,
            kind="bounce",
            address=found.address,
            candidates=candidates,
            reason="bounce",
            bounce=bounce,
        )
    name, family = _name(text, mail_parties)
    base = replace(base, name=name, family_name=family)
    if mail is not None:
        for role, (_display, address) in mail_parties.items():
            found = next((c for c in candidates if c.normalized == address), None)
            if found is not None and not found.ours:
                return replace(
                    base, kind="forwarded", address=found.address, reason=f"header_{role}"
                )
    kind = "address" if len(candidates) == 1 and _is_bare(text) else "prose"
    chosen, reason, cue = _choose(text, candidates)
    return replace(
        base,
        kind="forwarded" if mail is not None else kind,
        address=chosen,
        reason=reason,
        cue=cue,
    )


# -- addresses -----------------------------------------------------------------


def _on_id_header(text: str, start: int, names: tuple[str, ...]) -> bool:
    """Whether the word at ``start`` sits on a Message-ID-like header line (a bounce
    quotes the original's headers: its ids look like addresses but are none)."""
    line = text[text.rfind("\n", 0, start) + 1 : start]
    name, colon, _ = line.partition(":")
    return bool(colon) and name.strip().lower() in names


def _candidates(text: str, labels: int = 2) -> tuple[Candidate, ...]:
    ours = tuple(_words()["address"]["ours"])
    system = frozenset(_words()["address"]["system"])
    ids = tuple(_words()["address"]["id_headers"])
    out: dict[str, Candidate] = {}
    for found in scan_addresses(text, slips=True, labels=labels):
        if _on_id_header(text, found.start, ids):
            continue
        normalized = repair(found.text) or found.text.lower()
        if normalized.partition("@")[0].lower() in system:
            continue
        domain = normalized.rpartition("@")[2]
        mine = any(domain == d or domain.endswith("." + d) for d in ours)
        out.setdefault(normalized, Candidate(address=found.text, normalized=normalized, ours=mine))
    return tuple(out.values())


#: One word holding an at sign: no white space, no kana, kanji or Japanese punctuation
#: (Japanese prose has no spaces: 「アドレスはtaro@gmailです」 is a sentence, not a word).
_NOT_IN_WORD = "\\s\u3000-\u30ff\u4e00-\u9fff"
_AT_TOKEN = re.compile(f"[^{_NOT_IN_WORD}@\uff20]*[@\uff20][^{_NOT_IN_WORD}]*")


def _is_bare(text: str) -> bool:
    """The text is one address (maybe in brackets or with stray spaces), no prose."""
    if _AT_TOKEN.fullmatch(text):
        return True
    found = scan_addresses(text, slips=True)
    if len(found) != 1:
        return False
    rest = (text[: found[0].start] + text[found[0].end :]).strip(" \t\n\u3000<>()（）「」『』\"'")
    return rest == ""


#: Where a clause ends: the words beside an address are read up to here.
_CLAUSE_ENDS = "。．！？!?\n"
_WINDOW = 30


def _choose(text: str, candidates: tuple[Candidate, ...]) -> tuple[str | None, str, str]:
    """(address as written, reason key, cue) for prose."""
    if not candidates:
        return None, "none", ""
    theirs = [c for c in candidates if not c.ours]
    if len(candidates) == 1:
        return candidates[0].address, "only", ""
    if len(theirs) == 1:
        return theirs[0].address, "not_ours", ""
    if not theirs:
        return candidates[0].address, "first", ""
    words = _words()["address"]
    found = scan_addresses(text, slips=True)
    first: dict[str, int] = {}
    for index, span in enumerate(found):
        first.setdefault(span.text, index)
    scored: list[tuple[int, int, Candidate, str, str]] = []
    for order, candidate in enumerate(theirs):
        at = first.get(candidate.address)
        if at is None:
            scored.append((0, order, candidate, "", ""))
            continue
        span = found[at]
        floor = found[at - 1].end if at else 0
        ceiling = found[at + 1].start if at + 1 < len(found) else len(text)
        near = (_before(text, span.start, floor) + " " + _after(text, span.end, ceiling)).casefold()
        prefer = _longest_hit(near, words["prefer"])
        avoid = _longest_hit(near, words["avoid"])
        score = (1 if prefer else 0) - (2 if avoid else 0)
        scored.append((score, order, candidate, prefer, avoid))
    best = max(scored, key=lambda s: (s[0], -s[1]))
    if best[3] and best[0] > 0:
        return best[2].address, "cue", best[3]
    beaten = [s for s in scored if s is not best and s[4]]
    if beaten and best[0] > min(s[0] for s in beaten):
        return best[2].address, "others", beaten[0][4]
    return theirs[0].address, "first", ""


def _before(text: str, at: int, floor: int) -> str:
    """The words before an address: back to a clause end or the previous address."""
    start = at
    while start > floor and at - start < _WINDOW and text[start - 1] not in _CLAUSE_ENDS:
        start -= 1
    return text[start:at]


def _after(text: str, at: int, ceiling: int) -> str:
    """The words after it: to a comma or clause end, or the next address."""
    end = at
    while end < ceiling and end - at < _WINDOW and text[end] not in _CLAUSE_ENDS + "、,，":
        end += 1
    return text[at:end]


def _longest_hit(haystack: str, needles: list[str]) -> str:
    hits = [n for n in needles if _contains(haystack, n.casefold())]
    return max(hits, key=len) if hits else ""


def _contains(haystack: str, needle: str) -> bool:
    """``needle`` in ``haystack``; an ASCII word only as a whole word ("sso" not in "lesson")."""
    if not needle.isascii():
        return needle in haystack
    start = haystack.find(needle)
    while start >= 0:
        end = start + len(needle)
        left = haystack[start - 1] if start else " "
        right = haystack[end] if end < len(haystack) else " "
        if not (_ascii_word(left) or _ascii_word(right)):
            return True
        start = haystack.find(needle, start + 1)
    return False


def _ascii_word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


# -- headers -------------------------------------------------------------------

_HEADER_LINE = re.compile(
    r"^[ \t>]*([A-Za-z][A-Za-z \-]{0,20}|[^\s:：]{1,8})[ \t]*[:：][ \t]*(.*)$"
)


def _headers(text: str) -> tuple[MailHeaders | None, dict[str, tuple[str, str]]]:
    """The first of each header field in the text, and the mail's parties.

    Returns (headers or None when fewer than two fields, one of them From or To,
    were found; {"from"|"to": (display name, normalized address)} in that order).
    """
    labels = _header_labels()
    fields: dict[str, str] = {}
    for line in text.split("\n"):
        match = _HEADER_LINE.match(line)
        if match is None:
            continue
        name = labels.get(match.group(1).strip().casefold())
        if name is not None and name not in fields and match.group(2).strip():
            fields[name] = _decode_words(match.group(2).strip())
    if len(fields) < 2 or not ({"from", "to"} & fields.keys()):
        return None, {}
    mail = MailHeaders(
        from_=fields.get("from", ""),
        to=fields.get("to", ""),
        subject=fields.get("subject", ""),
        date=fields.get("date", ""),
    )
    parties: dict[str, tuple[str, str]] = {}
    for role in ("from", "to"):
        value = fields.get(role, "")
        found = scan_addresses(value, slips=True)
        if found:
            address = repair(found[0].text) or found[0].text.lower()
            display = value[: found[0].start].strip(" \t<\"'")
            if not display:
                display = parseaddr(value)[0]
            parties[role] = (display.strip(" \"'"), address)
    return mail, parties


def _decode_words(value: str) -> str:
    """A header value with its MIME encoded-words (``=?ISO-2022-JP?B?...?=``) decoded."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeDecodeError):
        return value


def _own_words(text: str, mail: MailHeaders | None) -> str:
    """The text without its header lines: a forwarded Lentrance subject is not the
    customer saying what is wrong."""
    if mail is None:
        return text
    return "\n".join(line for line in text.split("\n") if not _is_header(line))


def _is_header(line: str) -> bool:
    match = _HEADER_LINE.match(line)
    return match is not None and match.group(1).strip().casefold() in _header_labels()


@cache
def _header_labels() -> dict[str, str]:
    """Every header label, folded, to its field (``from``, ``to``, ``subject``, ``date``)."""
    return {
        label.casefold(): name for name, names in _words()["headers"].items() for label in names
    }


# -- ticket type ---------------------------------------------------------------


def _ticket_type(text: str) -> tuple[str, tuple[str, ...]]:
    """The ticket type the words point to, and the cue words found (none: the default).

    A specific type beats "the mail did not arrive": a password-reset mail that did
    not arrive is a login ticket; among specific types, the most cues win, then the
    table's order.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    hits = {
        ticket_id: tuple(c for c in t.cues if _contains(folded, c.casefold()))
        for ticket_id, t in TICKETS.items()
    }
    specific = [
        (len(h), -i, tid) for i, (tid, h) in enumerate(hits.items()) if h and tid != DEFAULT_TICKET
    ]
    if specific:
        tid = max(specific)[2]
        return tid, hits[tid]
    return DEFAULT_TICKET, hits.get(DEFAULT_TICKET, ())


# -- name ----------------------------------------------------------------------

_KANJI = "\u4e00-\u9fff\u3005\u30f6"
_KANA = "\u3041-\u3096\u30a1-\u30fa\u30fc"
#: A Japanese name: a family name in kanji (or katakana), maybe a space, maybe a given name.
_KATAKANA = "\u30a1-\u30fa\u30fc"
_JA_NAME = (
    f"[{_KANJI}]{{1,4}}(?:[ \u3000]?[{_KANJI}{_KANA}]{{1,5}})?"
    f"|[{_KATAKANA}]{{2,8}}(?:[ \u3000][{_KATAKANA}]{{1,8}})?"
)
_NAME_CHAR = re.compile(f"[{_KANJI}{_KANA} \u3000]")
_JA_NAME_RE = re.compile(f"(?:{_JA_NAME})")
_LATIN_NAME = re.compile(r"([A-Z][a-z]+(?:[ \-][A-Z][a-z]+){0,2})")


def _name(text: str, parties: dict[str, tuple[str, str]]) -> tuple[str | None, str | None]:
    """(the customer's name as written, the family name for the salutation)."""
    for display, address in parties.values():
        if display and not _ours(address) and "@" not in display:
            return display, _family(display)
    words = _words()["name"]
    sender = parties.get("from")
    if sender is not None and _ours(sender[1]):
        # A Lentrance mail the customer forwarded: their own words are above it.
        text = text[: _first_header(text)]
    for name in (_labelled(text, words), _introduced(text, words), _signature(text, words)):
        if name:
            return name, _family(name)
    return None, None


def _first_header(text: str) -> int:
    """Where the first header line starts (the text's length when none)."""
    at = 0
    for line in text.split("\n"):
        if _is_header(line):
            return at
        at += len(line) + 1
    return len(text)


def _ours(address: str) -> bool:
    domain = address.rpartition("@")[2]
    return any(domain == d or domain.endswith("." + d) for d in _words()["address"]["ours"])


#: A form field written 【お名前】山田 or [Name] Yamada.
_BRACKET_FIELD = re.compile(r"^[ \t]*[【\[]([^】\]]{1,20})[】\]][ \t]*[:：]?[ \t]*(.*)$")


def _labelled(text: str, words: dict[str, Any]) -> str | None:
    labels = {label.casefold() for label in words["labels"]}
    for line in text.split("\n"):
        match = _HEADER_LINE.match(line) or _BRACKET_FIELD.match(line)
        if match and match.group(1).strip().casefold() in labels:
            value = match.group(2).strip()
            if value and _plausible(value, words):
                return value
    return None


def _introduced(text: str, words: dict[str, Any]) -> str | None:
    """「山田太郎と申します」, 「お世話になります。山田です」, "My name is Taro Yamada"."""
    starts = [0]
    for greeting in (*words["greetings"], *words["intro_before"]):
        i = text.find(greeting)
        if 0 <= i < 200:
            j = i + len(greeting)
            while j < len(text) and text[j] in "。、,. 　\n!！":
                j += 1
            starts.append(j)
    for start in starts:
        match = _JA_NAME_RE.match(text, start)
        if match is None:
            continue
        name = match.group(0)
        rest = text[match.end() :]
        for intro in words["intro_ja"]:
            # The name may have swallowed the kana of the intro (「山田です」 → 「山田で」+「す」).
            for cut in range(len(name), 0, -1):
                if (name[cut:] + rest).startswith(intro):
                    candidate = name[:cut].strip()
                    if _plausible(candidate, words):
                        return candidate
                    break
    strong = [i for i in words["intro_ja"] if i != "です"]
    for intro in strong:
        at = text.find(intro)
        while at > 0:
            start = at
            while (
                start > 0
                and at - start < 12
                and re.match(f"[{_KANJI}{_KANA} \u3000]", text[start - 1])
            ):
                start -= 1
            match = _JA_NAME_RE.search(text, start, at)
            if match and match.end() == at and _plausible(match.group(0), words):
                return match.group(0).strip()
            at = text.find(intro, at + 1)
    folded = text.casefold()
    for intro in words["intro_en"]:
        at = folded.find(intro + " ")
        if at >= 0 and (at == 0 or not _ascii_word(folded[at - 1])):
            match = _LATIN_NAME.match(text, at + len(intro) + 1)
            if match:
                return match.group(1)
    return None


def _signature(text: str, words: dict[str, Any]) -> str | None:
    """A name that ends the message: a last line that is only a name, or the last
    clause of the last line (「…可能でしょうか。山田」「…　中村です」)."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if not lines:
        return None
    last = lines[-1]
    whole = last.strip("-— \u3000")
    if len(lines) > 1 and _JA_NAME_RE.fullmatch(whole) and _plausible(whole, words):
        return whole
    cut = max(last.rfind(c) for c in _CLAUSE_ENDS + "\u3000 ")
    if cut < 0 and len(lines) < 2:
        return None  # one line and one clause: a sentence, not a signature
    tail = last[cut + 1 :].strip("-— \u3000")
    for ending in words["sign_off"]:
        if tail.endswith(ending) and len(tail) > len(ending):
            tail = tail[: -len(ending)]
            break
    if _JA_NAME_RE.fullmatch(tail) and _plausible(tail, words):
        return tail
    return None


def _plausible(name: str, words: dict[str, Any]) -> bool:
    """Not a word of the same shape (登録, 以上...) and not an address or a sentence."""
    if "@" in name or len(name) > 30 or not name.strip():
        return False
    compact = name.replace(" ", "").replace("\u3000", "")
    if any(compact.startswith(w) for w in words["not_names"]):
        return False
    if _JA_NAME_RE.fullmatch(name):
        # Kana after a kanji family name must be a given name, not a verb's ending.
        return not any(ending in compact for ending in words["not_name_kana"])
    return bool(_LATIN_NAME.fullmatch(name)) or (name[:1].isupper() and " " in name)


def _family(name: str) -> str:
    """The family name for 「様」: the first word of a spaced Japanese name, a listed
    family name the name starts with, else the whole name (never a wrong guess)."""
    name = name.strip()
    if name.isascii():
        return name
    parts = name.replace("\u3000", " ").split()
    if len(parts) > 1:
        return parts[0]
    families = sorted(_words()["name"]["family"], key=len, reverse=True)
    for family in families:
        if name.startswith(family) and len(name) > len(family):
            return family
    return name


# -- bounce --------------------------------------------------------------------

#: An SMTP reply code or an enhanced status code: every bounce carries one.
_SMTP_CODE = re.compile(r"(?<![\d.])(?:[45]\.\d{1,3}\.\d{1,3}|[45][0-5]\d)(?![\d.])")


#: An enhanced status code (RFC 3463): ``5.1.1``.
_STATUS_CODE = re.compile(r"(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?![\d.])")
#: The explainer's reasons when nothing in the text decided one.
_UNDECIDED = frozenset({"onhold", "undefined"})


def _bounce(text: str) -> tuple[Any, ...]:
    """The bounce explainer's reading of a pasted DSN, or () when it is not one."""
    if _SMTP_CODE.search(text) is None:
        return ()
    from maildoctor.bounce import NotABounce, explain

    words = _words()["bounce"]
    has_headers = _HEADER_LINE.match(text.split("\n", 1)[0]) is not None and ":" in text[:200]
    raw = text if has_headers else f"{words['opening_from']}\n{words['opening_subject']}\n\n{text}"
    try:
        found = explain(raw.encode("utf-8"))
    except NotABounce:
        return ()
    except Exception:  # a parser bug on a paste must not stop the diagnosis
        return ()
    failed = tuple(e for e in found if e.recipient and e.kind == "bounce")
    # The explainer reads any text handed to it as a bounce; prose that merely mentions
    # an error code ("550エラーになります") leaves it undecided. A pasted DSN either
    # carries an enhanced status code (RFC 3463) or words the explainer recognised.
    if _STATUS_CODE.search(text) or any(e.reason not in _UNDECIDED for e in failed):
        return failed
    return ()
