"""Malformed bounce-like inputs: one clear line on stderr, exit 1, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from maildoctor.cli import main

DATA = Path(__file__).parent / "data" / "bounces"

_HEAD = (
    b"From: MAILER-DAEMON@example.jp\nTo: info@lentrance.com\n"
    b"Subject: Undelivered Mail Returned to Sender\n"
)


def _ses(notification: object) -> bytes:
    """An SNS-delivered SES notification with ``notification`` as its JSON body."""
    return _HEAD + b"\n" + json.dumps(notification).encode() + b"\n"


_BOUNCE = {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "a@example.jp"}]}

MALFORMED = [
    pytest.param(
        _HEAD + b"Date: Mon, 1 Jan 99999999999 00:00:00 +0000\n\nUndeliverable: a@example.jp\n",
        id="date-year-overflow",
    ),
    pytest.param(
        _HEAD + b"Date: Mon, 99 Jan 2020 00:00:00 +0000\n\nUndeliverable\n",
        id="date-day-out-of-range",
    ),
    pytest.param(
        _HEAD + b"Date: Mon, 1 Jan 2020 10:00:00 +9999\n\nUndeliverable\n",
        id="date-offset-out-of-range",
    ),
    pytest.param(
        _ses({"notificationType": "Bounce", "mail": "x", "bounce": _BOUNCE}), id="ses-mail-str"
    ),
    pytest.param(
        _ses({"notificationType": "Bounce", "bounce": {"bouncedRecipients": ["a@b"]}}),
        id="ses-recipient-str",
    ),
    pytest.param(_ses({"notificationType": "Bounce", "bounce": [1]}), id="ses-bounce-list"),
    pytest.param(
        _ses({"notificationType": "Bounce", "mail": {"destination": [1]}, "bounce": [1]}),
        id="ses-destination-int",
    ),
    pytest.param(
        _ses({"notificationType": "Bounce", "mail": {"destination": "x"}, "bounce": _BOUNCE}),
        id="ses-destination-str",
    ),
    pytest.param(
        _ses({"notificationType": "Complaint", "complaint": {"complainedRecipients": [3]}}),
        id="ses-complaint-int",
    ),
    pytest.param(_ses({"notificationType": "Complaint", "complaint": "x"}), id="ses-complaint-str"),
    pytest.param(_ses({"notificationType": "Delivery", "delivery": 5}), id="ses-delivery-int"),
    pytest.param(
        _ses({"notificationType": "Bounce", "bounce": {"bouncedRecipients": {"a": 1}}}),
        id="ses-recipients-dict",
    ),
]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["bounce", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_input_is_one_clear_line(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "bad.eml"
    path.write_bytes(raw)
    code, out, err = _run("--lang", "en", str(path))
    assert "Traceback" not in out + err
    if code == 0:  # a readable bounce despite the bad field (e.g. an unreadable Date)
        assert err == ""
        return
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"{path}: ")


def test_unreadable_date_is_no_date() -> None:
    from maildoctor.bounce.parse import parse_bounce

    raw = (
        _HEAD
        + b"Date: Mon, 1 Jan 99999999999 00:00:00 +0000\n\n550 5.1.1 <a@example.jp>: unknown\n"
    )
    assert parse_bounce(raw).date is None


@pytest.mark.parametrize(
    "notification",
    [
        pytest.param({"notificationType": "Bounce", "mail": "x", "bounce": _BOUNCE}, id="mail-str"),
        pytest.param(
            {
                "notificationType": "Bounce",
                "mail": {"destination": [1, "b@x.jp"]},
                "bounce": _BOUNCE,
            },
            id="destination-mixed",
        ),
    ],
)
def test_ses_odd_mail_still_reports_the_recipient(notification: dict[str, object]) -> None:
    from maildoctor.bounce.parse import parse_bounce

    parsed = parse_bounce(_ses(notification))
    assert [r.recipient for r in parsed.recipients] == ["a@example.jp"]


def test_parser_crash_is_reported_and_other_files_continue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Last line of defence: a parser bug on one file is one line, not a traceback."""
    import maildoctor.cli.bounce as cli_bounce
    from maildoctor.bounce import Explanation
    from maildoctor.bounce import explain as real_explain

    boom = tmp_path / "boom.eml"
    boom.write_bytes(b"BOOM")

    def explain(raw: bytes) -> tuple[Explanation, ...]:
        if raw == b"BOOM":
            raise RecursionError("too deep")
        return real_explain(raw)

    monkeypatch.setattr(cli_bounce, "explain", explain)
    code, out, err = _run("--lang", "en", str(boom), str(DATA / "sendmail-01.eml"))
    assert code == 1
    assert err == f"{boom}: the file could not be parsed (RecursionError).\n"
    assert "Reason: unknown recipient [userunknown]" in out
