"""HTML and CSS support from caniemail's vendored data, per client family, and in lint."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.mail.caniemail import (
    caniemail_release,
    caniemail_version,
    client_support,
    features_used,
    support_findings,
)
from maildoctor.mail.render import catalog, render_parts
from maildoctor.mail.templating import ENV_VAR

REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
#: The families the Japanese survey in docs/carriers-jp.source.md §5.1 names (Gmail,
#: Yahoo, iCloud) and Outlook for readers at work.
WATCHED = ("gmail", "apple-mail", "outlook", "yahoo")
#: What the shipped templates use that a watched family lacks, and why that is fine.
#: A new entry fails test_shipped_templates_unsupported_features_are_explained.
EXPLAINED = {
    "html-doctype": "the client drops the doctype; the mail shows the same",
    "html-body": "the client replaces <body> with its own; the styles are inlined on the tables",
    "html-role": 'role="presentation" is for screen readers; ignoring it changes nothing shown',
    "css-border-radius": "Outlook for Windows draws the button with square corners",
    "css-word-break": "the long URL may run wider on Outlook/Yahoo; it is also in the text part",
}


@pytest.fixture(autouse=True)
def _shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_the_vendored_data_keeps_its_licence_and_version() -> None:
    folder = resources.files("maildoctor") / "data" / "caniemail"
    assert "MIT License" in (folder / "LICENSE").read_text("utf-8")
    data = json.loads((folder / "caniemail.json").read_text("utf-8"))
    assert len(data["data"]) > 175  # Mailpit's "175+ tests"
    assert caniemail_version() == f"caniemail 2.0.2 (data of {data['last_update_date'][:10]})"


def test_the_datas_date_is_worded_in_the_readers_language() -> None:
    """The label was English ("(data of ...)") on Japanese pages and in Japanese lint:
    its words are data now, and every surface words it in its own language."""
    date = caniemail_release().date
    assert caniemail_version("ja") == f"caniemail 2.0.2、{date} 時点のデータ"
    report = client_support(render_parts("password_reset", to="t@docomo.ne.jp").html)
    assert report.to_dict("ja")["data_version"] == caniemail_version("ja")
    assert report.to_dict()["data_date"] == date and report.to_dict()["caniemail"] == "2.0.2"
    [finding] = [f for f in support_findings(report, ["outlook"]) if f.feature == "html-doctype"]
    assert f"(caniemail 2.0.2 (data of {date}))" in finding.message
    assert f"(caniemail 2.0.2、{date} 時点のデータ)で使えません" in finding.worded("ja").message
    args = ["lint", "password_reset", "--clients", "outlook", "--lang", "ja"]
    out = CliRunner().invoke(main, args).output
    assert "data of" not in out and f"全17系統: {report.score}、caniemail 2.0.2、{date}" in out


def test_features_are_found_in_elements_attributes_css_and_selectors() -> None:
    html = """<!DOCTYPE html><html lang="ja"><head><style>
    @media (prefers-color-scheme: dark) { .a > b:hover { color: rgb(1,2,3) } }
    </style></head><body><div style="display:flex; margin-top: 2em; width: calc(100% - 2px)
    !important; background: linear-gradient(red, blue)"><h2>x</h2><ul><li>a</li></ul>
    <img src="https://lentrance.com/a.webp" alt="" width="1" height="1">
    <a href="mailto:help@lentrance.com">mail</a></div></body></html>"""
    slugs = {f.slug for f in features_used(html)}
    assert {
        "html-doctype", "html-lang", "html-style", "css-at-media",
        "css-at-media-prefers-color-scheme", "css-selector-class", "css-selector-child",
        "css-pseudo-class-hover", "css-rgb", "html-div", "css-display-flex", "css-display",
        "css-margin", "css-unit-em", "css-width", "css-unit-calc", "css-important",
        "css-linear-gradient", "css-background", "html-h1-h6", "html-lists", "image-webp",
        "html-img", "html-width", "html-height", "html-mailto-links",
    } <= slugs  # fmt: skip
    assert "css-flex-direction" not in slugs


def test_a_family_score_counts_partial_support_half() -> None:
    # display:flex: Outlook for Windows lacks it; Apple Mail has it everywhere.
    report = client_support('<div style="display:flex">x</div>')
    by_family = {f.family: f for f in report.families}
    assert by_family["apple-mail"].score == 100
    outlook = by_family["outlook"]
    assert "css-display-flex" in outlook.unsupported
    assert outlook.platforms["windows"]["css-display-flex"] == "n"
    assert outlook.score < 100
    assert report.score == round(sum(f.score for f in report.families) / len(report.families))


def test_carrier_apps_are_reported_from_the_research_only() -> None:
    report = client_support("<p>x</p>")
    apps = {c.app: c for c in report.carriers}
    assert set(apps) >= {"docomo_mail", "au_mail", "softbank_mail"}
    assert apps["docomo_mail"].known is False  # the research has no source: no guess
    assert "HTMLメール規制" in apps["au_mail"].note_ja
    assert all(c.basis.startswith("carrier research") for c in report.carriers)
    assert all(c.sources for c in report.carriers)


@pytest.mark.parametrize(
    ("name", "variant"),
    [(n, v.name) for n, info in catalog(REPO_TEMPLATES).items() for v in info.variants],
)
def test_shipped_templates_unsupported_features_are_explained(name: str, variant: str) -> None:
    html = render_parts(name, to="taro@docomo.ne.jp", variant=variant).html
    found = support_findings(client_support(html), WATCHED)
    assert {f.feature for f in found} <= set(EXPLAINED)


def test_lint_clients_reports_and_allows_by_feature() -> None:
    runner = CliRunner()
    args = ["lint", "password_reset", "--clients", "outlook", "--format", "json"]
    doc = json.loads(runner.invoke(main, args).stdout)
    findings = doc["results"][0]["findings"]
    features = {f["feature"] for f in findings if f["code"] == "client_unsupported"}
    assert "css-border-radius" in features
    assert doc["results"][0]["clients"]["score"] > 0
    allowed = runner.invoke(main, [*args, "--allow", "client_unsupported:css-border-radius"])
    radius = [f for f in json.loads(allowed.stdout)["results"][0]["findings"]
              if f["feature"] == "css-border-radius"]  # fmt: skip
    assert [f["allowed"] for f in radius] == [True]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clients", "gmial"], "gmial is not a caniemail client family"),
        (["--allow", "client_unsupported:css-nope"], "'css-nope' in"),
    ],
)
def test_lint_clients_bad_names_are_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["lint", "password_reset", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_clients_from_the_project_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.maildoctor.lint]\nclients = ["outlook"]\nallow = ["client_unsupported:html-role"]\n',
        "utf-8",
    )
    monkeypatch.chdir(tmp_path)
    args = ["lint", "password_reset", "--templates", str(REPO_TEMPLATES), "--format", "json"]
    result = CliRunner().invoke(main, args)
    doc = json.loads(result.stdout)
    found = {f["feature"]: f["allowed"] for f in doc["results"][0]["findings"]}
    assert found["css-border-radius"] is False and found["html-role"] is True
    assert doc["results"][0]["clients"]["watched"] == ["outlook"]
    (tmp_path / "pyproject.toml").write_text('[tool.maildoctor.lint]\nclients = "outlook"\n')
    bad = CliRunner().invoke(main, args)
    assert bad.exit_code == 2 and "clients must be a list of client families" in bad.output
