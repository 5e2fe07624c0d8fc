"""The preview's JSON twin, its event stream and the ``preview`` command (no browser)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main
from maildoctor.mail.preview import dark_html, phone_view, preview
from maildoctor.web.app import run_in_thread
from tests.previewproc import running_preview

REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO_TEMPLATES, tmp_path / "templates"))


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_phone_view_marks_what_iso_2022_jp_cannot_carry() -> None:
    segments, garbled = phone_view("番号①と髙橋ｶﾅ")
    assert garbled == ["①", "髙", "ｶ", "ﾅ"]
    assert "".join(s["text"] for s in segments) == "番号〓と〓橋〓〓"
    assert segments[1] == {"text": "〓", "ok": False, "char": "①", "code": "U+2460"}


@pytest.mark.parametrize(
    ("html", "dark"),
    [
        ("<style>@media (prefers-color-scheme: dark){p{color:#fff}}</style>", "@media all{"),
        ("<style>@media (prefers-color-scheme:light){p{color:#000}}</style>", "@media not all{"),
    ],
)
def test_dark_html_turns_the_media_queries(html: str, dark: str) -> None:
    assert dark in dark_html(html)
    assert "color-scheme:dark" not in dark_html(html)  # the mail did not declare dark support
    declared = '<head><meta name="color-scheme" content="light dark">' + html
    assert dark_html(declared).startswith("<head><style>:root{color-scheme:dark}</style>")


def test_preview_of_a_template_and_its_json(folder: Path) -> None:
    with running_preview(folder) as base:
        status, listing = get(base + "/api/preview")
        assert status == 200 and listing["error"] is None
        assert [t["name"] for t in listing["templates"]][:2] == [
            "password_reset", "provisional_registration",
        ]  # fmt: skip
        status, one = get(base + "/api/preview/provisional_registration?variant=sso")
        assert status == 200 and one["ok"]
        assert one["subject"] == "[Lentrance]仮登録完了のお知らせ"
        assert "Google" in one["text"] and one["raw"].startswith("From: Lentrance")
        assert one["iso2022jp"]["raw"].count("=?iso-2022-jp?b?") >= 1
        assert one["iso2022jp"]["garbled"] == [] and one["lint"] == []
        assert one["clients"]["families"]
        assert get(base + "/api/preview/nope")[0] == 404
        assert get(base + "/api/preview/a%00b")[0] == 404  # a NUL names no file (was a 500)
        assert get(base + "/api/preview/a%00b/html?variant=%01")[0] == 404
        status, err = get(base + "/api/preview/password_reset?variant=nope")
        assert status == 404 and "no variant 'nope'" in err["error"]


def test_a_broken_template_toml_is_said_and_recovers(folder: Path) -> None:
    toml = folder / "password_reset" / "template.toml"
    good = toml.read_text("utf-8")
    with running_preview(folder) as base:
        toml.write_text("subject = \n", "utf-8")
        status, listing = get(base + "/api/preview")
        assert status == 200 and "is not valid UTF-8 TOML" in listing["error"]
        toml.write_text(good, "utf-8")
        assert get(base + "/api/preview")[1]["error"] is None


def test_a_runtime_error_names_its_line(folder: Path) -> None:
    html = folder / "password_reset" / "body.html.j2"
    html.write_text(html.read_text("utf-8").replace("{{ reset_url }}", "{{ reset_url.nope() }}", 1))
    result = preview("password_reset", folder)
    assert result.error is not None
    assert result.error.file == "password_reset/body.html.j2"
    assert result.error.line is not None
    assert "reset_url.nope()" in dict(result.error.excerpt)[result.error.line]


def test_the_event_stream_says_change_when_a_file_is_saved(folder: Path) -> None:
    with running_preview(folder) as base:
        with urllib.request.urlopen(base + "/api/preview/events", timeout=10) as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            assert stream.readline() == b"retry: 1000\n"
            assert stream.readline() == b"event: hello\n"
            stream.readline(), stream.readline()
            (folder / "password_reset" / "body.txt.j2").write_text("x\n", "utf-8")
            assert stream.readline() == b"event: change\n"
            data = json.loads(stream.readline().removeprefix(b"data: "))
        assert data == {"version": 1, "changed": ["password_reset/body.txt.j2"]}


def test_serve_has_the_preview_beside_the_templates_tab(tmp_path: Path) -> None:
    with run_in_thread(tmp_path / "h.sqlite3", http_port=0, templates_dir=REPO_TEMPLATES) as h:
        status, listing = get(f"{h.http_url}/api/preview")
        assert status == 200 and len(listing["templates"]) == 4
        with urllib.request.urlopen(f"{h.http_url}/", timeout=10) as r:
            assert b'href="/preview"' in r.read()
        with urllib.request.urlopen(f"{h.http_url}/preview", timeout=10) as r:
            assert "テンプレートプレビュー" in r.read().decode()


def test_the_preview_command_serves_and_stops(folder: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "maildoctor", "preview", "--port", "0", "--templates", str(folder)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        if line.startswith("Templates: "):  # which folder, and why (template discovery)
            line = proc.stderr.readline()
        assert line.startswith(f"Previewing {folder} at http://127.0.0.1:")
        url = line.split(" at ", 1)[1].split()[0]
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200
        status, listing = get(url.replace("/preview", "/api/preview"))
        assert status == 200 and listing["templates_dir"] == str(folder)
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--context", "missing.json"], "Cannot read the context file 'missing.json'"),
        (["--var", "novalue"], "--var 'novalue' is not of the form KEY=VALUE"),
    ],
)
def test_preview_bad_input_is_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["preview", "--port", "0", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_the_preview_api_answers_every_error_in_json(folder: Path) -> None:
    """The preview server's API speaks the harness's error voice (web/errors.json_errors):
    a route it lacks and a wrong method are one-line JSON, never aiohttp's plain text."""
    with running_preview(folder) as base:
        status, body = get(f"{base}/api/preview-nothing-here")
        assert status == 404 and set(body) == {"error"} and "\n" not in body["error"]
        request = urllib.request.Request(f"{base}/api/preview", data=b"{}", method="POST")
        try:
            urllib.request.urlopen(request, timeout=10)
            raise AssertionError("POST was accepted")
        except urllib.error.HTTPError as e:
            assert e.code == 405 and set(json.loads(e.read())) == {"error"}
