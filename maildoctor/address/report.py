"""Formatting check results: text for a person, JSON/JSONL/CSV for scripts, a reply draft.

Pure functions that return strings (STYLE 10); the CLI prints them. The reply
draft is rendered from ``templates/replies/check.txt.j2`` (Jinja2, through
:mod:`maildoctor.mail.templating`), so support can edit its wording without code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from maildoctor.address.check import CheckResult
from maildoctor.address.syntax import display
from maildoctor.advice import DEFAULT_SUBJECT, advice_for, advice_text
from maildoctor.findings import Lang, Severity, Verdict
from maildoctor.spreadsheet import csv_line
from maildoctor.words import Surface, for_surface, words

__all__ = [
    "CSV_FIELDS",
    "REPLY_TEMPLATE",
    "csv_header",
    "format_csv_row",
    "format_json",
    "format_json_object",
    "format_jsonl",
    "format_reply",
    "format_text",
    "json_array_end",
    "json_array_part",
    "reply_context",
]

#: What each verdict and severity is called, by language (data/words.toml).
VERDICT_LABELS: dict[Lang, dict[Verdict, str]] = {
    lang: {Verdict(k): v for k, v in words("verdict", lang).items()} for lang in ("ja", "en")
}
SEVERITY_LABELS: dict[Lang, dict[Severity, str]] = {
    lang: {Severity(k): v for k, v in words("severity", lang).items()} for lang in ("ja", "en")
}


def _words(lang: Lang) -> dict[str, str]:
    return words("check_report", lang)


#: The reply draft's template, relative to the templates folder.
REPLY_TEMPLATE = "replies/check.txt.j2"

#: Advice meant for the support agent, never put in a reply to the customer.
_AGENT_ONLY_ADVICE = frozenset({"dns_unknown"})
#: Advice the reply replaces with its own paragraph when it names the corrected address.
_REREGISTER_ADVICE = frozenset({"reregister", "reregister_halfwidth"})
#: Findings that put a corrected address to the customer ("did you mean ...?").
_SUGGESTING = frozenset({"typo_suspected", "extra_at_sign"})
#: What the reply always covers when nothing specific was found (the FAQ's first checks).
_DEFAULT_REPLY_ADVICE = ("check_spam_folder", "allow_sender_domain")


def dns_note(result: CheckResult, lang: Lang = "ja", surface: Surface = "cli") -> str | None:
    """Said plainly when DNS was not asked about a parseable address, and why, in the
    words of the ``surface`` showing it (the CLI names ``--offline``; the desk has no flag)."""
    if not result.dns_skipped:
        return None
    return for_surface(_words(lang), result.dns_skipped, surface)


def format_text(result: CheckResult, lang: Lang = "ja", *, advice: bool = True) -> str:
    """One result for a person: verdict first, then each finding and what to do.

    ``advice=False`` leaves out "what to do" (``diagnose`` orders the advice itself).
    """
    words = _words(lang)
    lines = [
        display(result.address),
        f"  {words['verdict']}: {VERDICT_LABELS[lang][result.verdict]}",
    ]
    if result.suggestion:
        lines.append(f"  {words['suggestion']}: {result.suggestion}")
    if result.carrier is not None:
        lines.append(f"  {words['carrier']}: {result.carrier.name(lang)} ({result.carrier.id})")
    if result.mx:
        # For input that cannot be written as typed, DNS was asked about the address meant.
        of = f" ({result.dns_domain})" if result.normalized is None and result.dns_domain else ""
        lines.append(f"  {words['mx']}{of}: {', '.join(result.mx)}")
    if note := dns_note(result, lang):
        lines.append(f"  {note}")
    if not result.findings:
        lines.append(f"  {words['no_findings']}")
    for finding in result.findings:
        label = SEVERITY_LABELS[lang][finding.severity]
        lines.append(f"  [{label}] {finding.code}: {finding.message}")
    advice_ids = advice_for([f.advice for f in result.findings]) if advice else []
    if advice_ids:
        lines.append(f"  {words['todo']}:")
        for number, advice_id in enumerate(advice_ids, 1):
            title, body = advice_text(advice_id, lang, result.carrier)
            lines.append(f"    {number}. {title}")
            lines.extend(f"       {line}" for line in body.splitlines() if line.strip())
    return "\n".join(lines) + "\n"


def _with_columns(result: CheckResult, columns: Mapping[str, str] | None) -> dict[str, Any]:
    """The contract's object, plus ``columns``: the input row's other columns (check --file)."""
    data = result.to_dict()
    if columns is not None:
        data["columns"] = dict(columns)
    return data


#: The encoders of ``--format json`` and ``jsonl`` (``json.dumps`` with these options),
#: made once: json.dumps makes a new one for every call that passes options.
_JSON = json.JSONEncoder(ensure_ascii=False, indent=2)
_JSONL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def format_json(
    results: list[CheckResult],
    columns: Sequence[Mapping[str, str]] | None = None,
    *,
    array: bool | None = None,
) -> str:
    """One object for one address, an array for several or when ``array`` (a --file
    input is always an array); indented, UTF-8. The array is written as
    :func:`json_array_part` writes it item by item, so a streamed array is the same."""
    rows = [format_json_object(r, columns[i] if columns else None) for i, r in enumerate(results)]
    one = len(rows) == 1 if array is None else not array
    if one:
        return rows[0]
    return "".join(json_array_part(row, first=i == 0) for i, row in enumerate(rows)) + (
        json_array_end(bool(rows))
    )


def format_json_object(result: CheckResult, columns: Mapping[str, str] | None = None) -> str:
    """One result as an indented JSON object (what ``--format json`` prints for one address)."""
    return _JSON.encode(_with_columns(result, columns)) + "\n"


def json_array_part(object_text: str, *, first: bool) -> str:
    """An object's indented JSON text (:func:`format_json_object`) as the next item of
    an indented array: what ``json.dumps(list, indent=2)`` writes for it, so a list of
    any length streams out one result at a time. End with :func:`json_array_end`."""
    item = object_text.rstrip("\n").replace("\n", "\n  ")
    return ("[\n  " if first else ",\n  ") + item


def json_array_end(any_item: bool) -> str:
    """The end of an array begun with :func:`json_array_part` (``[]`` when it had none)."""
    return "\n]\n" if any_item else "[]\n"


def format_jsonl(result: CheckResult, columns: Mapping[str, str] | None = None) -> str:
    """One result as one line of JSON."""
    return _JSONL.encode(_with_columns(result, columns)) + "\n"


CSV_FIELDS = (
    "address",
    "normalized",
    "verdict",
    "codes",
    "suggestion",
    "carrier",
    "mx",
    "messages",
)


def csv_header(extra: Sequence[str] = ()) -> str:
    """The CSV header: the result fields, then the input's other columns (check --file)."""
    return _csv_line((*CSV_FIELDS, *extra))


def format_csv_row(result: CheckResult, extra: Sequence[str] = ()) -> str:
    """One result as a CSV row (codes, MX hosts and messages joined with spaces / " | "),
    then the values of the input's other columns."""
    return _csv_line(
        (
            result.address,
            result.normalized or "",
            str(result.verdict),
            " ".join(result.codes),
            result.suggestion or "",
            result.carrier.id if result.carrier else "",
            " ".join(result.mx),
            " | ".join(f.message for f in result.findings),
            *extra,
        )
    )


def _csv_line(values: Iterable[str]) -> str:
    return csv_line(values)


def reply_context(result: CheckResult, *, subject: str = DEFAULT_SUBJECT) -> dict[str, Any]:
    """What the reply template gets: the address, the fix, exactly the advice needed, and
    the subject of the mail the ticket is about."""
    codes = set(result.codes)
    advice_ids = [
        a for a in advice_for([f.advice for f in result.findings]) if a not in _AGENT_ONLY_ADVICE
    ]
    # A repair whose domain takes no mail either is not offered to the customer.
    suggestion = None if _doubtful(result) else result.suggestion
    if suggestion or "syntax_invalid" in codes:
        # The draft's opening paragraph already asks to register again: not twice.
        advice_ids = [a for a in advice_ids if a not in _REREGISTER_ADVICE]
    if not advice_ids and result.verdict in (Verdict.OK, Verdict.UNKNOWN):
        advice_ids = list(_DEFAULT_REPLY_ADVICE)
    advice = []
    for advice_id in advice_ids:
        title, body = advice_text(advice_id, "ja", result.carrier, subject=subject)
        advice.append({"id": advice_id, "title": title, "body": body})
    return {
        "address": display(result.address),
        "suggestion": suggestion,
        "fullwidth": "fullwidth_input" in codes
        or ("syntax_invalid" in codes and suggestion is not None and not codes & _SUGGESTING),
        "typo": bool(codes & _SUGGESTING),
        "invalid": "syntax_invalid" in codes and suggestion is None,
        "legacy": "legacy_carrier_address" in codes,
        "carrier": (
            {"id": result.carrier.id, "name": result.carrier.name_ja} if result.carrier else None
        ),
        "advice": advice,
        "verdict": str(result.verdict),
        "subject": subject,
    }


def _doubtful(result: CheckResult) -> bool:
    return any(
        f.code in _SUGGESTING and f.evidence.get("likelihood") == "doubtful"
        for f in result.findings
    )


def format_reply(
    result: CheckResult,
    templates_dir: Path | None = None,
    *,
    advice_order: Sequence[str] = (),
    subject: str = DEFAULT_SUBJECT,
) -> str:
    """The Japanese reply draft to the customer for one result.

    ``advice_order`` puts those advice ids first, in that order (``diagnose``
    knows from its delivery trial which advice is most likely to help).
    """
    context = reply_context(result, subject=subject)
    rank = {advice_id: i for i, advice_id in enumerate(advice_order)}
    context["advice"].sort(key=lambda item: rank.get(item["id"], len(rank)))
    return _render(REPLY_TEMPLATE, context, templates_dir)


def _render(name: str, context: dict[str, Any], templates_dir: Path | None) -> str:
    # The one place that touches Jinja2: the shared, cached environment.
    from maildoctor.mail.templating import environment
    from maildoctor.mail.templating import templates_dir as resolve_dir

    env = environment(resolve_dir(templates_dir))
    return env.get_template(name).render(**context)
