"""Formatting a diagnosis: text for the terminal, markdown for a ticket, JSON for machines.

Pure functions from :class:`~maildoctor.diagnose.diagnosis.DiagnoseResult` to strings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from maildoctor.address import report
from maildoctor.address.syntax import display
from maildoctor.advice import advice_text
from maildoctor.carriers import SENDER_DOMAIN
from maildoctor.diagnose import spoofing
from maildoctor.diagnose.delivery import delivery_lines
from maildoctor.diagnose.results import DiagnoseResult, ScenarioResult, web_command
from maildoctor.findings import Lang
from maildoctor.harness.defaults import DEFAULT_HTTP
from maildoctor.tickets import DEFAULT_TICKET, ticket
from maildoctor.words import display_width, words


def _words(lang: Lang) -> dict[str, str]:
    return words("diagnose_report", lang)


def outcome_labels(lang: Lang) -> dict[str, str]:
    """What each trial outcome means to the customer (delivered, junk, ..., unknown)."""
    return words("outcome", lang)


def _reply(r: ScenarioResult) -> str:
    """The last SMTP reply, cut after its first clause (``250 2.0.0 OK``, ``550 User unknown``)."""
    return r.smtp_replies[-1].split(":")[0]


def trial_rows(result: DiagnoseResult, lang: Lang) -> list[tuple[str, str, str, str]]:
    """(settings, outcome, deciding rule, SMTP reply) per scenario.

    When the address itself is in doubt (a likely typo), each outcome says first that
    it holds only for a mailbox that exists: the trial shows what a setting does to
    mail that reaches the mailbox, not that this address receives it.
    """
    labels = outcome_labels(lang)
    doubt = _words(lang)["if_address_right"] if result.address_in_doubt else "{outcome}"
    return [
        (r.scenario.label, doubt.format(outcome=labels[r.outcome]), r.rule, _reply(r))
        if r.spoofing is None
        else (
            r.scenario.label,
            doubt.format(outcome=spoofing.outcome_cell(r.spoofing, r.outcome, labels, lang)),
            r.rule,
            spoofing.reply_cell(r.spoofing),
        )
        for r in result.trial.results
    ]


def receive_list_note(result: DiagnoseResult, row: ScenarioResult, lang: Lang) -> str | None:
    """What the receive-list retry of one row showed, in a few words (None: not retried).

    An unknown retry (the spoofing filter decides it) is its own state, never "does not help".
    """
    if row.receive_list_retry is None:
        return None
    key = {True: "rescued", False: "not_rescued", None: "rescue_unknown"}
    return _words(lang)[key[row.rescued_by_receive_list]]


def spoofing_notes(result: DiagnoseResult, lang: Lang) -> list[str]:
    """What decides the rows the spoofing filter decides, and which way lentrance.com
    goes today (one sentence, or none when no row depends on it)."""
    checks = [r.spoofing for r in result.trial.results if r.spoofing is not None]
    if not checks:
        return []
    carrier = result.check.carrier
    setting = carrier.setting("spoofing") if carrier is not None else None
    name = setting.name(lang) if setting is not None else "spoofing filter"
    return [spoofing.note(checks[0], name, outcome_labels(lang), lang)]


def trial_lesson(result: DiagnoseResult, lang: Lang) -> str:
    """Which settings stop the mail, and which of them the receive list was seen to fix.

    A doubtful address is said first; an unknown outcome, or an unknown receive-list
    retry, is said to be unknown (never counted as blocked or as not fixed).
    """
    words = _words(lang)

    def names(rows: Sequence[ScenarioResult]) -> str:
        return words["list_sep"].join(r.scenario.label for r in rows)

    results = result.trial.results
    lines = []
    if result.address_in_doubt:
        suggestion = result.check.suggestion
        if suggestion:
            lines.append(words["lesson_address_doubt"].format(suggestion=suggestion))
        else:
            lines.append(words["lesson_address_doubt_plain"])
    blocked = [r for r in results if not r.arrives and r.outcome != "unknown"]
    unknown = [r for r in results if r.outcome == "unknown"]
    if not blocked:
        if not unknown:
            lines.append(words["lesson_pass"])
        else:
            lines.append(words["lesson_pass_unknown"].format(names=names(unknown)))
        return words["sentence_sep"].join(lines)
    lines.append(words["lesson_block"].format(names=names(blocked)))
    if unknown:
        lines.append(words["lesson_unknown"].format(names=names(unknown)))
    carrier = result.check.carrier
    allow = carrier.setting("receive_list") if carrier is not None else None
    if allow is not None:
        setting = allow.name(lang)
        by_state = {
            "lesson_rescued": [r for r in blocked if r.rescued_by_receive_list is True],
            "lesson_not_rescued": [r for r in blocked if r.rescued_by_receive_list is False],
            "lesson_rescue_unknown": [r for r in blocked if r.receive_list_retry == "unknown"],
        }
        for key, rows in by_state.items():
            if rows:
                text = words[key].format(setting=setting, sender=SENDER_DOMAIN, names=names(rows))
                lines.append(text)
    return words["sentence_sep"].join(lines)


def _table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    width = display_width
    cols = [max(width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    out = []
    for row in [header, *rows]:
        cells = [cell + " " * (cols[i] - width(cell)) for i, cell in enumerate(row)]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def format_text(result: DiagnoseResult, lang: Lang = "ja") -> str:
    """The one-screen report for a support agent."""
    words = _words(lang)
    check, trial = result.check, result.trial
    address = display(check.address)
    lines = [f"{words['title']}: {address}", "", words["address"]]
    if result.ticket != DEFAULT_TICKET:
        lines[2:2] = [f"{words['ticket']}: {ticket(result.ticket).name(lang)}", ""]
    if result.delivery is not None:  # the record first: evidence before inference
        lines[2:2] = delivery_lines(result.delivery, lang)
    lines += ["  " + line for line in report.format_text(check, lang, advice=False).splitlines()]
    lines += ["", f"{words['trial']}: {trial.template} → {trial.recipient or address}"]
    if trial.ran:
        header = (words["setting"], words["outcome"], words["rule"], words["smtp"])
        lines += _table(trial_rows(result, lang), header)
        lines += [f"  {line}" for line in spoofing_notes(result, lang)]
        lines.append(f"  {trial_lesson(result, lang)}")
    else:
        lines.append(f"  {words['skipped']}: {trial.skipped_reason}")
    lines += ["", words["todo"]]
    for number, advice_id in enumerate(result.advice, 1):
        title, body = advice_text(advice_id, lang, check.carrier, subject=trial.subject)
        lines.append(f"  {number}. {title}")
        lines += [f"     {line}" for line in body.splitlines() if line.strip()]
    lines += ["", words["reply"], "  " + "-" * 60]
    lines += [f"  {line}" if line else "" for line in result.reply_draft.rstrip().splitlines()]
    lines += ["  " + "-" * 60]
    if trial.ran:
        lines += ["", words["evidence"], f"  Message-ID: {trial.message_id}"]
        ids = ", ".join(str(r.stored_id) for r in trial.results if r.stored_id is not None)
        lines.append(f"  {words['db']}: {trial.db} (id {ids})")
        lines.append(f"  {words['open']}: {web_command(trial)}")
        lines.append(f"  {words['links']}:")
        lines += [f"    {r.scenario.label}: {url}" for r, url in message_links(trial.results)]
    return "\n".join(lines) + "\n"


#: Where ``maildoctor serve`` shows one stored message (its default address).
MESSAGE_URL = f"http://{DEFAULT_HTTP}/messages/{{id}}"


def message_links(results: Sequence[ScenarioResult]) -> list[tuple[ScenarioResult, str]]:
    """Each stored trial message with its link in the harness view."""
    return [(r, MESSAGE_URL.format(id=r.stored_id)) for r in results if r.stored_id is not None]


def format_markdown(result: DiagnoseResult, lang: Lang = "ja") -> str:
    """The same report as markdown, ready to paste into a ticket system."""
    words = _words(lang)
    check, trial = result.check, result.trial
    verdict = report.VERDICT_LABELS[lang][check.verdict]
    lines = [f"## {words['title']}: `{display(check.address)}`", ""]
    if result.ticket != DEFAULT_TICKET:
        lines += [f"**{words['ticket']}**: {ticket(result.ticket).name(lang)}", ""]
    if result.delivery is not None:
        lines += delivery_lines(result.delivery, lang, markdown=True)
    lines += [f"### {words['address']}", ""]
    lines.append(f"- **{words['verdict']}**: {verdict} (`{check.verdict}`)")
    if check.suggestion:
        lines.append(f"- **{words['suggestion']}**: `{check.suggestion}`")
    if check.carrier is not None:
        lines.append(f"- **{words['carrier']}**: {check.carrier.name(lang)} (`{check.carrier.id}`)")
    if check.mx:
        lines.append(f"- **MX**: {', '.join(f'`{h}`' for h in check.mx)}")
    if note := report.dns_note(check, lang):
        lines.append(f"- {note}")
    lines += [f"- `{f.code}` ({f.severity}): {f.message}" for f in check.findings]
    lines += ["", f"### {words['trial']}", ""]
    if trial.ran:
        lines.append(f"`{trial.template}` → `{trial.recipient}`")
        lines += [
            "",
            f"| {words['setting']} | {words['outcome']} | {words['rule']} | {words['smtp']} |",
        ]
        lines.append("| --- | --- | --- | --- |")
        lines += [f"| {a} | {b} | {c} | `{d}` |" for a, b, c, d in trial_rows(result, lang)]
        lines += ["", *spoofing_notes(result, lang), trial_lesson(result, lang)]
    else:
        lines.append(f"{words['skipped']}: {trial.skipped_reason}")
    lines += ["", f"### {words['todo']}", ""]
    for number, advice_id in enumerate(result.advice, 1):
        title, body = advice_text(advice_id, lang, check.carrier, subject=trial.subject)
        lines.append(f"{number}. **{title}**  ")
        lines += [f"   {line}  " for line in body.splitlines() if line.strip()]
    lines += ["", f"### {words['reply']}", "", "```text", result.reply_draft.rstrip(), "```"]
    if trial.ran:
        lines += ["", f"### {words['evidence']}", "", f"- Message-ID: `{trial.message_id}`"]
        lines.append(f"- {words['open']}: `{web_command(trial)}`")
        lines += [f"- {r.scenario.label}: <{url}>" for r, url in message_links(trial.results)]
    return "\n".join(lines) + "\n"


def format_json(result: DiagnoseResult) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"


def format_jsonl(result: DiagnoseResult) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False) + "\n"
