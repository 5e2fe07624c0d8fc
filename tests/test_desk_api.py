"""The desk's JSON twins and access rules over real HTTP (DNS from the loopback server,
trial mail over real SMTP into the same harness, history in a real SQLite file)."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maildoctor.harness.server import HarnessThread
from maildoctor.web.access import hash_password, verify_password
from maildoctor.web.app import run_in_thread
from maildoctor.web.config import WebConfig
from maildoctor.words import page_words


@pytest.fixture
def desk(tmp_path: Path, nameserver: str) -> Iterator[HarnessThread]:
    config = WebConfig(nameservers=(nameserver,), dns_timeout=2.0, history_max=50)
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        yield h


def call(
    h: HarnessThread,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    opener: Any = None,
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(
        f"{h.http_url}{path}", data=body, method=method, headers=headers or {}
    )
    open_ = (opener or urllib.request.build_opener(_NoRedirect)).open
    try:
        with open_(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, dict(e.headers), e.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post_json(h: HarnessThread, path: str, data: Any, **kw: Any) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    status, _, body = call(h, "POST", path, json.dumps(data).encode(), headers, **kw)
    return status, json.loads(body)


def test_diagnose_a_docomo_address(desk: HarnessThread) -> None:
    status, data = post_json(desk, "/api/diagnose", {"address": "taro@docomo.ne.jp"})
    assert status == 200, data
    assert data["ticket"] == "not_arrived"
    assert data["check"]["verdict"] == "risky"
    assert data["check"]["mx"] == ["mfsmax.docomo.ne.jp"]  # DNS asked, from the loopback zone
    assert data["advice"][:3] == ["check_spam_folder", "allow_sender_domain", "carrier_settings"]
    assert data["advice_details"][0]["title"] == "迷惑メールフォルダを確認する"
    assert "受信リスト設定" in data["reply_draft"]
    rows = {r["scenario"]: r for r in data["trial_rows"]}
    assert rows["refuse_url"]["outcome"] == "junk"
    assert rows["refuse_url"]["outcome_label"] == "迷惑メールフォルダに入る"
    # Each evidence link opens that very trial message in this harness.
    for row in data["trial_rows"]:
        assert row["evidence_url"] == f"/messages/{row['stored_id']}"
        status, _, body = call(desk, "GET", f"/api/messages/{row['stored_id']}")
        assert status == 200
        message = json.loads(body)
        assert message["rcpt_tos"] == ["taro@docomo.ne.jp"]
        # A spoofing row whose authentication is unknown links the unauthenticated trial.
        auth = row["authentication"]
        expected = auth["if_not_authenticated"] if row["outcome"] == "unknown" else row["outcome"]
        assert message["decisions"][0]["outcome"] == expected
        status, headers, _ = call(desk, "GET", row["evidence_url"])
        assert status == 200 and headers["Content-Type"].startswith("text/html")
    # The history has it, with a permalink.
    status, _, body = call(desk, "GET", f"/api/diagnoses/{data['history_id']}")
    assert status == 200
    entry = json.loads(body)
    assert entry["address"] == "taro@docomo.ne.jp"
    assert entry["draft"] == data["reply_draft"]
    assert entry["advice"] == data["advice"]
    assert entry["result"]["trial_rows"] == data["trial_rows"]
    assert entry["permalink"] == data["permalink"] == f"/desk/history/{data['history_id']}"


def test_the_servers_own_profiles_survive_a_diagnosis(tmp_path: Path, nameserver: str) -> None:
    from maildoctor.harness.policy import Profile

    mine = Profile.for_carrier("docomo", refuse_url=True)
    config = WebConfig(nameservers=(nameserver,))
    with run_in_thread(
        tmp_path / "h.sqlite3", web_config=config, profiles={"taro@docomo.ne.jp": mine}
    ) as h:
        status, _ = post_json(h, "/api/diagnose", {"address": "taro@docomo.ne.jp"})
        assert status == 200
        assert h.harness.profiles.entries() == {"taro@docomo.ne.jp": mine}


@pytest.mark.parametrize(
    ("ticket", "first"),
    [
        ("already_registered", "already_registered"),
        ("reregister_after_withdrawal", "withdrawn_reregister"),
        ("login_trouble", "login_check_input"),
        ("customer_number", "customer_number_where"),
        ("sso_registration", "sso_login"),
    ],
)
def test_each_ticket_type_and_english(desk: HarnessThread, ticket: str, first: str) -> None:
    status, data = post_json(
        desk, "/api/diagnose", {"address": "hanako@gmail.com", "ticket": ticket, "lang": "en"}
    )
    assert status == 200, data
    assert data["ticket"] == ticket
    assert data["advice"][0] == first
    assert data["reply_draft"].startswith("Dear customer,")

    assert data["check"]["findings"] == [] and data["check"]["verdict"] == "ok"


def test_the_advice_names_the_tickets_own_mail(desk: HarnessThread) -> None:
    status, data = post_json(
        desk, "/api/diagnose", {"address": "taro@docomo.ne.jp", "ticket": "login_trouble"}
    )
    assert status == 200
    spam = next(a for a in data["advice_details"] if a["id"] == "check_spam_folder")
    assert "「[Lentrance]パスワード再設定のお知らせ」" in spam["body"]
    assert "仮登録完了" not in json.dumps(data["advice_details"], ensure_ascii=False)
    assert data["trial"]["template"] == "password_reset"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b'{"address": ""}', "application/json", 400, "The address is empty"),
        (b'{"address": "   "}', "application/json", 400, "The address is empty"),
        (b"{}", "application/json", 400, '"address"'),
        (b'{"address": 5}', "application/json", 400, '"address"'),
        (
            b'{"address": "a@b.jp", "ticket": "refund"}',
            "application/json",
            400,
            "Unknown ticket type 'refund'",
        ),
        (b'{"address": "a@b.jp", "ticket": 3}', "application/json", 400, "ticket type id"),
        (b'{"address": "a@b.jp", "lang": "fr"}', "application/json", 400, '"lang"'),
        (b'["a@b.jp"]', "application/json", 400, "must be a JSON object"),
        (b"address=a@b.jp", "application/x-www-form-urlencoded", 415, "application/json"),
        (b'{"address": "a@b.jp"}', "text/plain", 415, "application/json"),
        (b"\xff\xfe", "application/json", 400, "not valid JSON"),
        (b"{", "application/json", 400, "not valid JSON"),
        (b'{"address": "\\ud800@b.jp"}', "application/json", 400, "lone surrogate"),
    ],
    ids=[
        "empty",
        "blank",
        "missing",
        "not-string",
        "unknown-ticket",
        "ticket-not-string",
        "bad-lang",
        "array",
        "form",
        "text-plain",
        "not-utf8",
        "broken-json",
        "surrogate",
    ],
)
def test_bad_input_is_a_json_error(
    desk: HarnessThread, body: bytes, content_type: str, status: int, error: str
) -> None:
    got, headers, raw = call(desk, "POST", "/api/diagnose", body, {"Content-Type": content_type})
    assert got == status
    assert headers["Content-Type"].startswith("application/json")
    assert error in json.loads(raw)["error"]


def test_a_10_mb_body_is_413_not_500(desk: HarnessThread) -> None:
    big = b'{"address": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    for path in ("/api/diagnose", "/api/addresses"):
        status, _, raw = call(desk, "POST", path, big, {"Content-Type": "application/json"})
        assert status == 413
        assert "larger than" in json.loads(raw)["error"]


def test_json_nested_too_deeply_is_400_not_500(desk: HarnessThread) -> None:
    deep = b"[" * 50_000
    for path in ("/api/diagnose", "/api/addresses"):
        status, _, raw = call(desk, "POST", path, deep, {"Content-Type": "application/json"})
        assert status == 400, path
        assert "nested too deeply" in json.loads(raw)["error"]


def test_unknown_api_paths_and_methods_are_json(desk: HarnessThread) -> None:
    for method, path, status in [
        ("GET", "/api/nothing", 404),
        ("GET", "/api/diagnose", 405),
        ("GET", "/api/diagnoses/abc", 400),
        ("GET", "/api/diagnoses/999", 404),
        ("GET", "/api/diagnoses?limit=x", 400),
        # Beyond SQLite's INTEGER: a 400, not an OverflowError's 500.
        ("GET", "/api/diagnoses/99999999999999999999", 400),
        ("GET", "/api/diagnoses?offset=99999999999999999999", 400),
    ]:
        got, _, raw = call(desk, method, path)
        assert got == status, path
        assert "error" in json.loads(raw)


def test_history_search_newest_first(desk: HarnessThread) -> None:
    for address in ("taro@docomo.ne.jp", "hanako@au.com", "jiro@docomo.ne.jp"):
        assert post_json(desk, "/api/diagnose", {"address": address})[0] == 200
    status, headers, raw = call(desk, "GET", "/api/diagnoses?q=DOCOMO")
    assert status == 200
    items = json.loads(raw)
    assert [i["address"] for i in items] == ["jiro@docomo.ne.jp", "taro@docomo.ne.jp"]
    assert headers["X-Total-Count"] == "2"
    assert items[0]["verdict"] == "risky" and items[0]["ticket"] == "not_arrived"
    assert items[0]["permalink"] == f"/desk/history/{items[0]['id']}"
    status, _, raw = call(desk, "GET", "/api/diagnoses")
    assert len(json.loads(raw)) == 3


def test_addresses_from_ticket_text_and_a_cp932_csv(desk: HarnessThread) -> None:
    status, data = post_json(
        desk,
        "/api/addresses?mode=text",
        {"text": "お世話になります。taro@docomo.ne.jpで登録しました。"},
    )
    assert status == 200 and data["rows"] == [{"address": "taro@docomo.ne.jp"}]
    csv_text = "名前,メールアドレス\r\n山田太郎,taro@docomo.ne.jp\r\n佐藤花子,hanako@ａｕ.com\r\n"
    status, _, raw = call(
        desk, "POST", "/api/addresses", csv_text.encode("cp932"), {"Content-Type": "text/csv"}
    )
    data = json.loads(raw)
    assert status == 200, data
    assert data["encoding"] == "cp932"
    assert data["rows"] == [
        {"address": "taro@docomo.ne.jp", "名前": "山田太郎"},
        {"address": "hanako@ａｕ.com", "名前": "佐藤花子"},
    ]
    status, _, raw = call(
        desk, "POST", "/api/addresses", b"\x81\x20\xff", {"Content-Type": "text/csv"}
    )
    assert status == 400 and "neither UTF-8 nor Shift_JIS" in json.loads(raw)["error"]
    status, _, raw = call(desk, "POST", "/api/addresses", b"x", {"Content-Type": "image/png"})
    assert status == 415


def test_message_search_and_delete_one(desk: HarnessThread) -> None:
    post_json(desk, "/api/diagnose", {"address": "taro@docomo.ne.jp"})
    post_json(desk, "/api/diagnose", {"address": "hanako@gmail.com"})
    status, headers, raw = call(desk, "GET", "/api/messages?q=refuse_url")
    found = json.loads(raw)
    # The rule that decided, or the profile that has the setting on (a receive-list retry).
    assert found and all("refuse_url" in json.dumps(m["decisions"]) for m in found)
    assert any(d["rule"] == "refuse_url" for m in found for d in m["decisions"])
    assert int(headers["X-Total-Count"]) == len(found)
    status, _, raw = call(desk, "GET", "/api/messages?q=hanako%40gmail.com")
    assert {tuple(m["rcpt_tos"]) for m in json.loads(raw)} == {("hanako@gmail.com",)}
    status, _, raw = call(desk, "GET", "/api/messages?q=" + urllib.parse.quote("仮登録 junk"))
    assert all(m["subject"] == "[Lentrance]仮登録完了のお知らせ" for m in json.loads(raw))
    target = found[0]["id"]
    assert call(desk, "DELETE", f"/api/messages/{target}")[0] == 200
    assert call(desk, "GET", f"/api/messages/{target}")[0] == 404
    status, _, raw = call(desk, "DELETE", f"/api/messages/{target}")
    assert status == 404 and "no message" in json.loads(raw)["error"]
    assert call(desk, "DELETE", "/api/messages/x")[0] == 400


# -- security ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/desk",
        "/desk/history/1",
        "/messages/1",
        "/login",
        "/static/desk.js",
        "/api/messages",
        "/api/tickets",
        "/api/nothing",
    ],
)
def test_every_page_refuses_framing(desk: HarnessThread, path: str) -> None:
    _, headers, _ = call(desk, "GET", path)
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY"


def test_a_mail_is_framed_only_by_the_app_itself(desk: HarnessThread) -> None:
    _, data = post_json(desk, "/api/diagnose", {"address": "hanako@gmail.com"})
    _, headers, _ = call(desk, "GET", f"/api/messages/{data['trial_rows'][0]['stored_id']}/html")
    assert "sandbox" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]


def test_another_sites_page_cannot_post_or_delete(desk: HarnessThread) -> None:
    evil = {"Origin": "http://evil.example", "Content-Type": "application/json"}
    status, _, raw = call(desk, "POST", "/api/diagnose", b'{"address": "a@b.jp"}', evil)
    assert status == 403 and "another site" in json.loads(raw)["error"]
    assert call(desk, "DELETE", "/api/messages", headers={"Origin": "null"})[0] == 403
    assert call(desk, "DELETE", "/api/messages", headers={"Sec-Fetch-Site": "cross-site"})[0] == 403
    host = desk.http_url.removeprefix("http://")
    same = {"Origin": f"http://{host}", "Content-Type": "application/json"}
    assert call(desk, "POST", "/api/diagnose", b'{"address": "a@gmail.com"}', same)[0] == 200


def test_password_is_kept_hashed() -> None:
    stored = hash_password("s3cret desk")
    assert "s3cret" not in stored and stored.startswith("scrypt$")
    assert verify_password("s3cret desk", stored)
    assert not verify_password("s3cret desk ", stored)
    assert not verify_password("x", "not-a-hash")


@pytest.fixture
def remote(tmp_path: Path, nameserver: str) -> Iterator[HarnessThread]:
    config = WebConfig(
        allow_remote=True,
        password_hash=hash_password("correct horse"),
        nameservers=(nameserver,),
        public_paths=frozenset({"/api/tickets"}),
    )
    with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
        yield h


def test_allow_remote_requires_the_login(remote: HarnessThread) -> None:
    status, headers, raw = call(remote, "GET", "/api/diagnoses")
    assert status == 401 and "Log in" in json.loads(raw)["error"]
    assert "Bearer" in headers["WWW-Authenticate"]
    status, _, _ = call(
        remote, "POST", "/api/diagnose", b"{}", {"Content-Type": "application/json"}
    )
    assert status == 401
    status, headers, _ = call(remote, "GET", "/desk")
    assert status == 303
    assert urllib.parse.unquote(headers["Location"]) == "/login?next=/desk"
    for path in ("/", "/messages/1", "/api/messages", "/api/messages/1/raw", "/api/events"):
        assert call(remote, "GET", path)[0] in (401, 303), path
    # The public-path hook (what --public-check uses) is open; the login page too.
    assert call(remote, "GET", "/api/tickets")[0] == 200
    assert call(remote, "GET", "/login")[0] == 200
    # A script logs in with the password as a bearer token.
    bearer = {"Authorization": "Bearer correct horse", "Content-Type": "application/json"}
    status, _, raw = call(remote, "POST", "/api/diagnose", b'{"address": "a@gmail.com"}', bearer)
    assert status == 200, raw
    bad = {"Authorization": "Bearer wrong"}
    assert call(remote, "GET", "/api/diagnoses", headers=bad)[0] == 401


def test_browser_login_session_and_csrf(remote: HarnessThread) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, raw = call(
        remote, "POST", "/login", b"password=nope&next=%2Fdesk", form, opener=opener
    )
    assert status == 401 and "パスワードが違います" in raw.decode()
    assert not list(jar)
    status, headers, _ = call(
        remote,
        "POST",
        "/login",
        b"password=correct+horse&next=//evil.example/",
        form,
        opener=opener,
    )
    assert status == 303 and headers["Location"] == "/desk"  # no open redirect
    # A tab (or newline) that URL parsers drop cannot turn "/\t/evil" into "//evil".
    for sneaky in (b"/%09/evil.example/", b"/%0a/evil.example/", b"/%0d%0a/evil.example/"):
        status, headers, _ = call(
            remote, "POST", "/login", b"password=correct+horse&next=" + sneaky, form
        )
        assert status == 303 and headers["Location"] == "/desk", sneaky
    cookies = {c.name: c for c in jar}
    assert cookies["maildoctor_session"].has_nonstandard_attr("HttpOnly")
    csrf = cookies["maildoctor_csrf"].value
    assert call(remote, "GET", "/api/diagnoses", opener=opener)[0] == 200
    assert call(remote, "GET", "/desk", opener=opener)[0] == 200
    body = b'{"address": "a@gmail.com"}'
    json_ct = {"Content-Type": "application/json"}
    status, _, raw = call(remote, "POST", "/api/diagnose", body, json_ct, opener=opener)
    assert status == 403 and "X-CSRF-Token" in json.loads(raw)["error"]
    wrong = {**json_ct, "X-CSRF-Token": "guess"}
    assert call(remote, "POST", "/api/diagnose", body, wrong, opener=opener)[0] == 403
    right = {**json_ct, "X-CSRF-Token": csrf}
    assert call(remote, "POST", "/api/diagnose", body, right, opener=opener)[0] == 200
    assert (
        call(remote, "DELETE", "/api/messages", headers={"X-CSRF-Token": csrf}, opener=opener)[0]
        == 200
    )
    status, _, _ = call(remote, "POST", "/logout", b"", {"X-CSRF-Token": csrf}, opener=opener)
    assert status == 303
    assert call(remote, "GET", "/api/diagnoses", opener=opener)[0] == 401


def test_allow_remote_without_a_password_serves_other_machines_nothing_private(
    tmp_path: Path,
) -> None:
    """No login is possible, so only this machine gets the desk; a peer's address decides
    (set from a test-only header: tests only talk to 127.0.0.1)."""
    import asyncio

    from aiohttp import web

    from maildoctor.harness.server import Harness, HarnessConfig
    from maildoctor.web.app import make_app

    @web.middleware
    async def as_if_from(request: web.Request, handler: Any) -> web.StreamResponse:
        remote = request.headers.get("X-Test-Remote")
        response: web.StreamResponse = await handler(
            request.clone(remote=remote) if remote else request
        )
        return response

    async def run() -> dict[tuple[str, str], int]:
        harness = Harness(HarnessConfig(db=tmp_path / "h.sqlite3", http_port=None))
        await harness.start()
        app = make_app(
            harness,
            WebConfig(
                allow_remote=True, nameservers=None, public_paths=frozenset({"/api/tickets"})
            ),
        )
        app.middlewares.insert(0, as_if_from)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        seen = {}
        try:
            import aiohttp

            async with aiohttp.ClientSession() as session:
                for path in ("/desk", "/api/diagnoses", "/api/tickets"):
                    for who in ("203.0.113.9", ""):
                        headers = {"X-Test-Remote": who} if who else {}
                        async with session.get(
                            f"http://127.0.0.1:{port}{path}", headers=headers
                        ) as r:
                            seen[(path, who or "local")] = r.status
        finally:
            await runner.cleanup()
            await harness.stop()
        return seen

    seen = asyncio.run(run())
    assert seen == {
        ("/desk", "203.0.113.9"): 403,
        ("/desk", "local"): 200,
        ("/api/diagnoses", "203.0.113.9"): 403,
        ("/api/diagnoses", "local"): 200,
        ("/api/tickets", "203.0.113.9"): 200,  # a public path
        ("/api/tickets", "local"): 200,
    }


def test_a_harness_that_cannot_take_the_trial_is_503_not_a_verdict(desk: HarnessThread) -> None:
    desk.set_faults("rcpt=451 4.3.0 Could not store the message")
    status, data = post_json(desk, "/api/diagnose", {"address": "taro@docomo.ne.jp"})
    assert status == 503
    assert "temporary error" in data["error"] and "451" in data["error"]
    # No verdict was reached, so nothing went into the history.
    assert json.loads(call(desk, "GET", "/api/diagnoses")[2]) == []
    desk.set_faults("")
    assert post_json(desk, "/api/diagnose", {"address": "taro@docomo.ne.jp"})[0] == 200


# -- pasted text (issue 19: the customer's words) -------------------------------------


def test_pasted_japanese_prose_diagnoses_the_address_in_it(desk: HarnessThread) -> None:
    text = "山田太郎です。登録したアドレスはtaro@docomo.ne.jpです。仮登録メールが届きません。"
    status, data = post_json(desk, "/api/diagnose", {"text": text})
    assert status == 200, data
    assert data["check"]["address"] == "taro@docomo.ne.jp"
    assert data["check"]["verdict"] == "risky"  # not 配信不可 with an xn-- suggestion
    intake = data["intake"]
    assert intake["kind"] == "prose"
    assert intake["address"] == "taro@docomo.ne.jp"
    assert intake["name"] == "山田太郎"
    assert intake["salutation"] == "山田様"
    assert intake["ticket_type"] == "not_arrived" and intake["ticket_type_guessed"] is True
    draft = data["reply_draft"]
    assert draft.startswith("山田様\n") and "お客様\n" not in draft[:10]
    assert "仮登録メールが届きません" not in draft  # the customer's sentence is not quoted back
    assert "「taro@docomo.ne.jp」" in draft


def test_pasted_text_picks_the_ticket_type_unless_the_agent_chose(desk: HarnessThread) -> None:
    text = "お客様番号がわかりません。hanako@au.com で登録しています。"
    status, data = post_json(desk, "/api/diagnose", {"text": text})
    assert status == 200, data
    assert data["ticket"] == "customer_number"
    assert data["intake"]["ticket_type_guessed"] is True
    assert data["reply_draft"].startswith("お客様\n")  # no name given
    status, data = post_json(desk, "/api/diagnose", {"text": text, "ticket": "login_trouble"})
    assert data["ticket"] == "login_trouble"
    assert data["intake"]["ticket_type"] == "customer_number"  # what the words said


def test_an_ime_slip_and_several_addresses(desk: HarnessThread) -> None:
    text = "以前のアドレスhanako@au.comから、新しいアドレスtaro@gmail、comに変えました。"
    status, data = post_json(desk, "/api/diagnose", {"text": text, "lang": "en"})
    assert status == 200, data
    intake = data["intake"]
    assert intake["address"] == "taro@gmail、com"
    assert [c["normalized"] for c in intake["candidates"]] == ["hanako@au.com", "taro@gmail.com"]
    assert "新しい" in intake["chosen_because"]
    assert data["check"]["suggestion"] == "taro@gmail.com"
    assert intake["salutation"] == "Dear customer,"


def test_a_forwarded_mail_and_a_pasted_bounce(desk: HarnessThread) -> None:
    forwarded = (
        "届いたメールを転送します\n---------- Forwarded message ---------\n"
        "From: Lentrance <no-reply@lentrance.com>\nDate: 2026年12月1日 10:00\n"
        "Subject: [Lentrance]パスワード再設定のお知らせ\nTo: 佐藤花子 <hanako@au.com>\n"
    )
    status, data = post_json(desk, "/api/diagnose", {"text": forwarded})
    assert status == 200, data
    assert data["intake"]["kind"] == "forwarded"
    assert data["intake"]["address"] == "hanako@au.com"
    assert data["intake"]["mail"]["subject"] == "[Lentrance]パスワード再設定のお知らせ"
    assert data["intake"]["salutation"] == "佐藤様"
    bounce = (
        "This is the mail system at host mx.lentrance.com.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n\n"
        "<taro@docomo.ne.jp>: host mfsmax.docomo.ne.jp[192.0.2.11] said: 550 5.1.1\n"
        "    <taro@docomo.ne.jp>: User unknown (in reply to RCPT TO command)\n"
    )
    status, data = post_json(desk, "/api/diagnose", {"text": bounce})
    assert status == 200, data
    intake = data["intake"]
    assert intake["kind"] == "bounce"
    assert intake["address"] == "taro@docomo.ne.jp"
    assert intake["bounce"][0]["reason"] == "userunknown"
    # The draft answers from the bounce (the address does not exist any more).
    assert "配送結果を確認いたしました" in data["reply_draft"]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"text": "アドレスはわかりません"}, 422, "No email address"),
        ({"text": 5}, 400, '"text" must be a string'),
        ({"text": "  "}, 400, "The text is empty"),
        ({"text": "a" * 100_001}, 400, "more than 100000"),
        ({"text": "登録は" + "a" * 5000 + "@docomo.ne.jpです"}, 422, "more than any address"),
    ],
    ids=["no-address", "not-string", "blank", "too-long", "address-too-long"],
)
def test_bad_pasted_text_is_one_json_error(
    desk: HarnessThread, body: dict[str, Any], status: int, error: str
) -> None:
    got, data = post_json(desk, "/api/diagnose", body)
    assert got == status
    assert error in data["error"]


def test_a_diagnosis_past_the_budget_is_504_and_still_stored(tmp_path: Path) -> None:
    import socket
    import time

    # A DNS server that never answers: the check waits its timeout, longer than the budget.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        config = WebConfig(nameservers=(f"127.0.0.1:{port}",), dns_timeout=1.0, desk_budget=0.3)
        with run_in_thread(tmp_path / "h.sqlite3", web_config=config) as h:
            started = time.monotonic()
            status, data = post_json(h, "/api/diagnose", {"text": "taro@docomo.ne.jp"})
            assert status == 504
            assert time.monotonic() - started < 1.0
            assert "longer than 0.3 s" in data["error"]
            # The diagnosis goes on and lands in the history (DNS said nothing: unknown).
            deadline = time.monotonic() + 15
            entries: list[Any] = []
            while not entries and time.monotonic() < deadline:
                time.sleep(0.2)
                _, _, body = call(h, "GET", "/api/diagnoses")
                entries = json.loads(body)
            assert entries and entries[0]["address"] == "taro@docomo.ne.jp"
            assert entries[0]["verdict"] == "unknown"


def test_the_pages_words_come_from_the_data_files(desk: HarnessThread) -> None:
    """One table, two shapes: the JSON twin and the script each page loads first."""
    status, _, raw = call(desk, "GET", "/api/words/desk")
    assert status == 200
    table = json.loads(raw)
    assert table == page_words("desk")
    assert table["ja"]["run"] == "診断する" and table["en"]["run"] == "Diagnose"
    status, headers, raw = call(desk, "GET", "/words/harness.js")
    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")
    script = raw.decode()
    assert script.startswith('"use strict";\nconst WORDS = ')
    assert json.loads(script.split("const WORDS = ", 1)[1].rstrip(";\n")) == page_words("harness")
    status, _, raw = call(desk, "GET", "/api/words/nothing")
    assert status == 404
    assert json.loads(raw) == {"error": "There are no words for a page called 'nothing'."}
