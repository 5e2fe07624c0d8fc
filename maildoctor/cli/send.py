"""``maildoctor send``: render a notification and deliver it over SMTP."""

from __future__ import annotations

import json
import smtplib
import ssl
from email.utils import getaddresses
from pathlib import Path

import click

from maildoctor.cli.options import (
    CouldNotRun,
    InputError,
    Seconds,
    charset_option,
    envelope_sender,
    parse_hostport,
    resolve_templates,
    templates_option,
)
from maildoctor.cli.render import template_context
from maildoctor.harness.client import deliver, text_of, wire_bytes
from maildoctor.harness.defaults import DEFAULT_SMTP
from maildoctor.harness.server import is_loopback
from maildoctor.mail.render import load_template, render_message
from maildoctor.mail.templating import TemplatingError


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
@click.option("--smtp", "smtp", default=DEFAULT_SMTP, show_default=True, metavar="HOST:PORT")
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
@click.option("--timeout", type=Seconds(min=0.1), default=30.0, show_default=True, help="Seconds.")
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
    if mail_from is not None:
        envelope_sender(mail_from, "--from")
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
            f"The server refused the login for {user!r}: {e.smtp_code} {text_of(e.smtp_error)}."
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
        raise click.exceptions.Exit(1)
