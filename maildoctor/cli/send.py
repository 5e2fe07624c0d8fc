"""``maildoctor send``: render a notification and deliver it over SMTP."""

from __future__ import annotations

import json
import smtplib
import ssl
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

import click

from maildoctor.cli.options import (
    CouldNotRun,
    InputError,
    charset_option,
    resolve_templates,
    templates_option,
)
from maildoctor.cli.render import template_context
from maildoctor.cli.serve import parse_hostport
from maildoctor.harness.protocol import EXTENSION
from maildoctor.harness.server import is_loopback
from maildoctor.mail.render import load_template, render_message
from maildoctor.mail.templating import TemplatingError


@dataclass(frozen=True, kw_only=True)
class RecipientReply:
    """What the server said about one recipient."""

    recipient: str
    code: int
    """The RCPT reply when it refused the recipient, else the reply to DATA or the message
    (0 when the server hung up without one)."""
    text: str
    stage: str
    """``mail``, ``rcpt`` or ``data``."""
    outcome: str | None = None
    """What a maildoctor harness's simulated mailbox did (delivered, junk, filtered,
    rejected); None when the server cannot tell (any other server)."""
    rule: str | None = None
    """The harness rule that decided (``refuse_url``, ``default``...)."""

    @property
    def accepted(self) -> bool:
        """The server took the message and its mailbox did not refuse it."""
        return 200 <= self.code < 300 and self.outcome != "rejected"


@dataclass(frozen=True, kw_only=True)
class Delivered:
    """The replies of one SMTP transaction, and whether the server could say more."""

    replies: list[RecipientReply]
    harness: bool
    """The server is a maildoctor harness (EHLO said XMAILDOCTOR): outcomes are known."""


def parse_recipients(values: tuple[str, ...]) -> list[str]:
    """Each address in the --to values (``'a@x.jp, b@y.jp'`` holds two); exit 2 on junk."""
    from maildoctor.address.syntax import check_syntax

    recipients: list[str] = []
    for value in values:
        addresses = [address for _, address in getaddresses([value])]
        if not addresses:
            raise click.BadParameter(f"{value!r} holds no address.", param_hint="--to")
        for address in addresses:
            checked = check_syntax(address)
            if checked.problem is not None or not address:
                why = checked.problem.reason_en if checked.problem else "empty"
                raise click.BadParameter(
                    f"{value!r} is not a list of addresses ({address!r}: {why}).",
                    param_hint="--to",
                )
            recipients.append(address)
    return recipients


def _outcomes(smtp: smtplib.SMTP) -> dict[str, tuple[str, str]]:
    """recipient (lower case) -> (outcome, rule), from the harness's XOUTCOME reply."""
    try:
        code, text = smtp.docmd("XOUTCOME")
    except (smtplib.SMTPException, OSError):
        return {}
    if code != 250:
        return {}
    found: dict[str, tuple[str, str]] = {}
    for line in _s(text).splitlines():
        recipient, outcome, rule, *_ = [*line.split(" ", 3), "", "", ""]
        found[recipient.lower()] = (outcome, rule)
    return found


def deliver(
    msg: EmailMessage | bytes,
    *,
    host: str,
    port: int,
    mail_from: str,
    recipients: list[str],
    starttls: bool = False,
    verify: bool = True,
    user: str | None = None,
    password: str | None = None,
    timeout: float = 30.0,
) -> Delivered:
    """One SMTP transaction, keeping each recipient's reply (smtplib hides the DATA one).

    A maildoctor harness is asked afterwards what each recipient's mailbox did: one
    DATA reply cannot say that a message went to the spam folder, or that one of
    several recipients refused it.
    """
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        smtp.ehlo()
        if starttls:
            context = ssl.create_default_context()
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            smtp.starttls(context=context)
            smtp.ehlo()
        if user is not None:
            smtp.login(user, password or "")
        harness = smtp.has_extn(EXTENSION.lower())
        data = msg if isinstance(msg, bytes) else wire_bytes(msg)
        options = ["SMTPUTF8"] if smtp.has_extn("smtputf8") and not data.isascii() else []
        code, text = smtp.mail(mail_from, options)
        if code >= 400:
            return Delivered(
                replies=[
                    RecipientReply(recipient=r, code=code, text=_s(text), stage="mail")
                    for r in recipients
                ],
                harness=harness,
            )
        replies: dict[str, RecipientReply] = {}
        accepted: list[str] = []
        for rcpt in recipients:
            code, text = smtp.rcpt(rcpt)
            if 200 <= code < 300:
                accepted.append(rcpt)
                continue
            replies[rcpt] = RecipientReply(recipient=rcpt, code=code, text=_s(text), stage="rcpt")
            if code == 421:
                # The server is closing the channel (RFC 5321 3.8): nobody gets the message.
                return Delivered(
                    replies=[
                        replies.get(r)
                        or RecipientReply(recipient=r, code=code, text=_s(text), stage="rcpt")
                        for r in recipients
                    ],
                    harness=harness,
                )
        if accepted:
            try:
                code, reply = smtp.data(data)
                said = _s(reply)
            except smtplib.SMTPDataError as e:  # the DATA command itself was refused
                code, said = e.smtp_code, _s(e.smtp_error)
            except smtplib.SMTPServerDisconnected:
                code, said = 0, "the server closed the connection without a reply"
            for rcpt in accepted:
                replies[rcpt] = RecipientReply(recipient=rcpt, code=code, text=said, stage="data")
            if harness and code:
                for rcpt, (outcome, rule) in _outcomes(smtp).items():
                    for r in recipients:
                        if r.lower() == rcpt and r in replies:
                            replies[r] = replace(replies[r], outcome=outcome, rule=rule)
        else:
            smtp.rset()
        return Delivered(replies=[replies[r] for r in recipients], harness=harness)


def wire_bytes(msg: EmailMessage) -> bytes:
    """The message as sent: smtplib sends bytes as given, SMTP needs CRLF (RFC 5321 2.3.8)."""
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def sign_with_key_file(data: bytes, *, key_file: Path, selector: str, domain: str) -> bytes:
    """``data`` DKIM-signed with the PEM private key in ``key_file``.

    Raises click.BadParameter (exit 2) for a key that cannot be read or used.
    """
    from maildoctor.sender.auth import dkim_sign

    try:
        key_pem = key_file.read_bytes()
    except OSError as e:
        raise click.BadParameter(
            f"Cannot read the DKIM key {str(key_file)!r}: {e.strerror or e}.",
            param_hint="--dkim-key",
        ) from e
    if b"PRIVATE KEY-----" not in key_pem:
        raise click.BadParameter(
            f"{str(key_file)!r} is not a PEM private key (-----BEGIN PRIVATE KEY----- or "
            "-----BEGIN RSA PRIVATE KEY-----).",
            param_hint="--dkim-key",
        )
    try:
        return dkim_sign(data, selector=selector, domain=domain, key_pem=key_pem)
    except (ValueError, UnicodeError) as e:
        raise click.BadParameter(
            f"Cannot sign with {str(key_file)!r} (selector {selector!r}, domain {domain!r}): {e}",
            param_hint="--dkim-key",
        ) from e


def _s(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text


@click.command("send")
@click.argument("name")
@click.option("--to", "to", required=True, multiple=True, help="Recipient (repeatable).")
@click.option("--variant", default=None, help="Template variant (default: the first one).")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE", help="Set a variable.")
@click.option(
    "--context", "context_file", metavar="FILE", default=None, help="JSON/TOML variables."
)
@charset_option()
@click.option(
    "--from", "mail_from", default=None, help="Envelope sender (default: the From header)."
)
@click.option("--smtp", "smtp", default="127.0.0.1:1025", show_default=True, metavar="HOST:PORT")
@click.option("--starttls", is_flag=True, help="Upgrade the connection with STARTTLS.")
@click.option(
    "--verify/--no-verify",
    "verify",
    default=None,
    help="Check the server's TLS certificate (default: not on loopback, where the harness's "
    "certificate is self-signed).",
)
@click.option("--user", default=None, help="AUTH user.")
@click.option("--password", default=None, help="AUTH password.")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds.")
@click.option(
    "--dkim-key",
    "dkim_key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Sign with DKIM (rsa-sha256, relaxed/relaxed) using this PEM private key.",
)
@click.option(
    "--dkim-selector", "dkim_selector", default=None, metavar="S", help="The DKIM selector (s=)."
)
@click.option(
    "--dkim-domain",
    "dkim_domain",
    default=None,
    metavar="D",
    help="The signing domain (d=); default: the From header's domain.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@templates_option
def command(
    name: str,
    to: tuple[str, ...],
    variant: str | None,
    variables: tuple[str, ...],
    context_file: str | None,
    charset: str,
    mail_from: str | None,
    smtp: str,
    starttls: bool,
    verify: bool | None,
    user: str | None,
    password: str | None,
    timeout: float,
    dkim_key: Path | None,
    dkim_selector: str | None,
    dkim_domain: str | None,
    fmt: str,
    templates_dir: Path | None,
) -> None:
    """Render the notification NAME and deliver it over SMTP (the harness by default).

    With --dkim-key and --dkim-selector the message is DKIM-signed first.

    Prints the server's reply for each recipient and, from a maildoctor harness,
    what its simulated mailbox did (delivered, junk, filtered, rejected) and the
    rule; exits 1 when any was refused. --to 'a@x.jp, b@y.jp' sends to both.
    """
    host, port = parse_hostport(smtp, option="--smtp")
    recipients = parse_recipients(to)
    if (dkim_key is None) != (dkim_selector is None):
        raise click.UsageError("--dkim-key and --dkim-selector go together: give both to sign.")
    if dkim_domain is not None and dkim_key is None:
        raise click.UsageError("--dkim-domain needs --dkim-key and --dkim-selector.")
    folder = resolve_templates(templates_dir)
    try:
        chosen = load_template(name, folder).variant(variant)
    except TemplatingError as e:
        raise click.UsageError(str(e)) from e
    try:
        context = template_context(chosen.sample, context_file, variables)
        msg = render_message(
            name,
            to=", ".join(to),
            context=context,
            variant=chosen.name,
            templates_dir=folder,
            charset=charset,
        )
    except TemplatingError as e:  # a template, charset or --var error: usage (exit 2)
        raise InputError(str(e)) from e
    from_address = next((a for _, a in getaddresses([str(msg["From"])]) if a), "")
    sender = mail_from or from_address
    data = wire_bytes(msg)
    if dkim_key is not None and dkim_selector is not None:
        data = sign_with_key_file(
            data,
            key_file=dkim_key,
            selector=dkim_selector,
            domain=dkim_domain or from_address.rpartition("@")[2],
        )
    try:
        delivered = deliver(
            data,
            host=host,
            port=port,
            mail_from=sender,
            recipients=recipients,
            starttls=starttls,
            verify=(not is_loopback(host)) if verify is None else verify,
            user=user,
            password=password,
            timeout=timeout,
        )
    except smtplib.SMTPAuthenticationError as e:
        raise CouldNotRun(
            f"The server refused the login for {user!r}: {e.smtp_code} {_s(e.smtp_error)}."
        ) from e
    except smtplib.SMTPNotSupportedError as e:
        raise CouldNotRun(f"The server at {host}:{port} does not support that: {e}.") from e
    except (smtplib.SMTPException, ssl.SSLError) as e:
        raise CouldNotRun(f"The SMTP conversation with {host}:{port} failed: {e}.") from e
    except OSError as e:
        raise CouldNotRun(
            f"Cannot connect to the SMTP server at {host}:{port}: {e.strerror or e}. "
            "Is `maildoctor serve` running, or is --smtp wrong?"
        ) from e
    replies = delivered.replies
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "template": name,
                    "message_id": str(msg["Message-ID"]),
                    "harness": delivered.harness,
                    "replies": [
                        {
                            "recipient": r.recipient,
                            "code": r.code,
                            "text": r.text,
                            "stage": r.stage,
                            "outcome": r.outcome,
                            "rule": r.rule,
                        }
                        for r in replies
                    ],
                },
                ensure_ascii=False,
            )
        )
    else:
        for r in replies:
            decided = f"\t{r.outcome} (rule {r.rule})" if r.outcome else ""
            click.echo(f"{r.recipient}\t{r.code} {r.text}{decided}")
    if not delivered.harness and any(200 <= r.code < 300 for r in replies):
        click.echo(
            f"note: {host}:{port} is not a maildoctor harness: 250 means it accepted the "
            "message; whether its filters deliver it, file it as spam or drop it cannot be "
            "seen over SMTP.",
            err=True,
        )
    if not all(r.accepted for r in replies):
        raise SystemExit(1)
