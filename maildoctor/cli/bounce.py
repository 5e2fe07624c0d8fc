"""``maildoctor bounce FILE...``: explain bounce messages, one report per failed recipient."""

from __future__ import annotations

import json
from pathlib import Path

import click

from maildoctor.bounce import NotABounce, explain
from maildoctor.bounce.report import explanation_dict, format_text
from maildoctor.cli.options import format_option, lang_option
from maildoctor.findings import Lang

_NOT_A_BOUNCE = {
    "ja": {
        "not_an_email": (
            "{file}: メールのファイルではありません(メールヘッダーがありません)。"
            ".eml か mbox 形式のファイルを指定してください。"
        ),
        "no_failure": (
            "{file}: バウンスメールではありません(配送状態レポートも配送失敗の文面もありません)。"
        ),
        "empty": "{file}: ファイルが空です。",
        "no_recipients": "{file}: 配送失敗の通知ですが、宛先が書かれていません。",
    },
    "en": {
        "not_an_email": (
            "{file}: not an email message (it has no mail headers); give an .eml or mbox file."
        ),
        "no_failure": (
            "{file}: not a bounce (no delivery status report and no delivery-failure text)."
        ),
        "empty": "{file}: the file is empty.",
        "no_recipients": "{file}: a delivery notification that names no recipient.",
    },
}
_UNREADABLE = {
    "ja": "{file}: ファイルを読めませんでした({why})。",
    "en": "{file}: the file could not be read ({why}).",
}
_UNPARSABLE = {
    "ja": "{file}: ファイルを解析できませんでした({why})。",
    "en": "{file}: the file could not be parsed ({why}).",
}


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@format_option("text", "json", help="text for people; json: one array of recipient objects.")
@lang_option
def command(files: tuple[Path, ...], fmt: str, lang: Lang) -> None:
    """Explain bounce messages (.eml or mbox): per failed recipient, the reason, the
    status and reply codes, the remote server's words, who wrote the bounce, and the
    FAQ advice that fits.

    Exit status: 0 when every file was explained, 1 when some file was not a bounce
    or could not be read or parsed.
    """
    failed = False
    texts: list[str] = []
    records: list[dict[str, object]] = []
    for path in files:
        name = str(path)
        try:
            raw = path.read_bytes()
        except OSError as e:
            failed = True
            click.echo(_UNREADABLE[lang].format(file=name, why=e.strerror or e), err=True)
            records.append({"file": name, "error": "unreadable"})
            continue
        try:
            explanations = explain(raw)
        except NotABounce as e:
            failed = True
            table = _NOT_A_BOUNCE[lang]
            click.echo(table.get(e.code, table["no_failure"]).format(file=name), err=True)
            records.append({"file": name, "error": e.code})
            continue
        except Exception as e:  # a parser bug on one file must not end the run
            failed = True
            click.echo(_UNPARSABLE[lang].format(file=name, why=type(e).__name__), err=True)
            records.append({"file": name, "error": "unparsable"})
            continue
        if fmt == "json":
            records.extend(explanation_dict(x, lang, file=name) for x in explanations)
        else:
            texts.append(format_text(name, explanations, lang))
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    elif texts:
        click.echo("\n\n".join(texts))
    if failed:
        raise SystemExit(1)
