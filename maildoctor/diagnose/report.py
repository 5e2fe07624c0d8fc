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
from maildoctor.diagnose.results import DiagnoseResult, ScenarioResult, web_command
from maildoctor.findings import Lang
from maildoctor.tickets import DEFAULT_TICKET, ticket

_WORDS: dict[Lang, dict[str, str]] = {
    "ja": {
        "title": "maildoctor 診断",
        "ticket": "問い合わせの種類",
        "verdict": "判定",
        "suggestion": "修正候補",
        "carrier": "キャリア",
        "address": "1. アドレスの確認",
        "trial": "2. 配信テスト",
        "todo": "3. 対処方法(可能性の高い順)",
        "reply": "4. 返信文案(チケットに貼り付けてください)",
        "evidence": "5. 証拠",
        "setting": "受信設定",
        "outcome": "結果",
        "rule": "判定したルール",
        "smtp": "SMTP応答",
        "skipped": "配信テストは行っていません",
        "unknown": "未確認",
        "db": "ハーネスのDB",
        "open": "Web UIで開く",
        "links": "各設定のメッセージ(serve の起動後に開けます)",
        "lesson_pass": "テストではどの設定でも届きました(メール自体に問題は見つかりません)。",
        "lesson_block": "届かない設定があります: {names}。",
        "lesson_unknown": "{names}で届くかどうかは上の説明のとおり不明です。",
        "lesson_pass_unknown": (
            "{names}以外の設定では届きました({names}は上の説明のとおり不明です)。"
        ),
        "lesson_rescued": "{setting}に{sender}を登録すると届きます({names})。",
        "lesson_not_rescued": (
            "{setting}に登録しても届きません({names}): その設定自体を変更してください。"
        ),
    },
    "en": {
        "title": "maildoctor diagnosis",
        "ticket": "ticket",
        "verdict": "verdict",
        "suggestion": "suggestion",
        "carrier": "carrier",
        "address": "1. The address",
        "trial": "2. Delivery trial",
        "todo": "3. What to do (most likely first)",
        "reply": "4. Reply draft to the customer (Japanese, paste into the ticket)",
        "evidence": "5. Evidence",
        "setting": "settings",
        "outcome": "outcome",
        "rule": "rule",
        "smtp": "SMTP reply",
        "skipped": "No delivery trial",
        "unknown": "unknown",
        "db": "harness database",
        "open": "open in the web UI",
        "links": "each setting's message (opens once serve runs)",
        "lesson_pass": "Every setting tried let the trial message through: the mail is fine.",
        "lesson_block": "Some settings stop it: {names}.",
        "lesson_unknown": "Whether it arrives with {names} is unknown, as explained above.",
        "lesson_pass_unknown": (
            "Every other setting let it through ({names}: unknown, as explained above)."
        ),
        "lesson_rescued": "Adding {sender} to the {setting} lets it through ({names}).",
        "lesson_not_rescued": "The {setting} does not help ({names}): change that setting itself.",
    },
}

OUTCOME_LABELS: dict[Lang, dict[str, str]] = {
    "ja": {
        "delivered": "届く(受信箱)",
        "junk": "迷惑メールフォルダに入る",
        "filtered": "届かない(破棄)",
        "rejected": "届かない(拒否)",
        "unknown": "不明",
    },
    "en": {
        "delivered": "arrives (inbox)",
        "junk": "spam folder",
        "filtered": "dropped silently",
        "rejected": "refused",
        "unknown": "unknown",
    },
}


def _reply(r: ScenarioResult) -> str:
    """The last SMTP reply, cut after its first clause (``250 2.0.0 OK``, ``550 User unknown``)."""
    return r.smtp_replies[-1].split(":")[0]


def trial_rows(result: DiagnoseResult, lang: Lang) -> list[tuple[str, str, str, str]]:
    """(settings, outcome, deciding rule, SMTP reply) per scenario."""
    labels = OUTCOME_LABELS[lang]
    return [
        (r.scenario.label, labels[r.outcome], r.rule, _reply(r))
        if r.spoofing is None
        else (
            r.scenario.label,
            spoofing.outcome_cell(r.spoofing, r.outcome, labels, lang),
            r.rule,
            spoofing.reply_cell(r.spoofing),
        )
        for r in result.trial.results
    ]


def spoofing_notes(result: DiagnoseResult, lang: Lang) -> list[str]:
    """What decides the rows the spoofing filter decides, and which way lentrance.com
    goes today (one sentence, or none when no row depends on it)."""
    checks = [r.spoofing for r in result.trial.results if r.spoofing is not None]
    if not checks:
        return []
    carrier = result.check.carrier
    setting = carrier.setting("spoofing") if carrier is not None else None
    name = setting.name(lang) if setting is not None else "spoofing filter"
    return [spoofing.note(checks[0], name, OUTCOME_LABELS[lang], lang)]


def trial_lesson(result: DiagnoseResult, lang: Lang) -> str:
    """Which settings stop the mail, and which of them the receive list was seen to fix."""
    words = _WORDS[lang]
    blocked = [r for r in result.trial.results if not r.arrives and r.outcome != "unknown"]
    unknown = [r for r in result.trial.results if r.outcome == "unknown"]
    join = "、".join if lang == "ja" else ", ".join
    if not blocked:
        if not unknown:
            return words["lesson_pass"]
        return words["lesson_pass_unknown"].format(names=join(r.scenario.label for r in unknown))
    lines = [words["lesson_block"].format(names=join(r.scenario.label for r in blocked))]
    if unknown:
        lines.append(words["lesson_unknown"].format(names=join(r.scenario.label for r in unknown)))
    carrier = result.check.carrier
    allow = carrier.setting("receive_list") if carrier is not None else None
    rescued = [r for r in blocked if r.rescued_by_receive_list]
    not_rescued = [r for r in blocked if r.rescued_by_receive_list is False]
    if allow is not None and rescued:
        lines.append(
            words["lesson_rescued"].format(
                setting=allow.name(lang),
                sender=SENDER_DOMAIN,
                names=join(r.scenario.label for r in rescued),
            )
        )
    if allow is not None and not_rescued:
        lines.append(
            words["lesson_not_rescued"].format(
                setting=allow.name(lang), names=join(r.scenario.label for r in not_rescued)
            )
        )
    return " ".join(lines) if lang == "en" else "".join(lines)


def _table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    from unicodedata import east_asian_width

    def width(text: str) -> int:
        return sum(2 if east_asian_width(ch) in "WF" else 1 for ch in text)

    cols = [max(width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    out = []
    for row in [header, *rows]:
        cells = [cell + " " * (cols[i] - width(cell)) for i, cell in enumerate(row)]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def format_text(result: DiagnoseResult, lang: Lang = "ja") -> str:
    """The one-screen report for a support agent."""
    words = _WORDS[lang]
    check, trial = result.check, result.trial
    address = display(check.address)
    lines = [f"{words['title']}: {address}", "", words["address"]]
    if result.ticket != DEFAULT_TICKET:
        lines[2:2] = [f"{words['ticket']}: {ticket(result.ticket).name(lang)}", ""]
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
MESSAGE_URL = "http://127.0.0.1:8025/messages/{id}"


def message_links(results: Sequence[ScenarioResult]) -> list[tuple[ScenarioResult, str]]:
    """Each stored trial message with its link in the harness view."""
    return [(r, MESSAGE_URL.format(id=r.stored_id)) for r in results if r.stored_id is not None]


def format_markdown(result: DiagnoseResult, lang: Lang = "ja") -> str:
    """The same report as markdown, ready to paste into a ticket system."""
    words = _WORDS[lang]
    check, trial = result.check, result.trial
    verdict = report.VERDICT_LABELS[lang][check.verdict]
    lines = [f"## {words['title']}: `{display(check.address)}`", ""]
    if result.ticket != DEFAULT_TICKET:
        lines += [f"**{words['ticket']}**: {ticket(result.ticket).name(lang)}", ""]
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
