"""Whether the delivery trial applies to an address, and which mail the ticket is about."""

from __future__ import annotations

from pathlib import Path

from maildoctor.address.check import CheckResult
from maildoctor.advice import DEFAULT_SUBJECT
from maildoctor.findings import Lang
from maildoctor.words import words

__all__ = ["CANNOT_RECEIVE", "cannot_receive", "template_subject"]

#: Findings that mean no mail reaches the address at all: a carrier filter never
#: sees it, so the trial (what a filter does once mail arrives) does not apply.
CANNOT_RECEIVE = (
    "syntax_invalid",
    "domain_not_found",
    "null_mx",
    "no_mail_server",
    "mx_unresolvable",
)


def template_subject(template: str, templates_dir: Path | None) -> str:
    """The subject a template's mail carries, as template.toml writes it."""
    from maildoctor.mail.render import CONTRACT_SUBJECTS, load_template
    from maildoctor.mail.templating import TemplatingError

    try:
        subject = load_template(template, templates_dir).subject
    except TemplatingError:
        subject = ""
    if not subject or "{" in subject:  # a Jinja2 expression: the contract's text is the one
        subject = CONTRACT_SUBJECTS.get(template, DEFAULT_SUBJECT)
    return subject


def cannot_receive(result: CheckResult, lang: Lang) -> str | None:
    """Why the trial does not apply to this address, or None when it does."""
    finding = next((f for f in result.findings if f.code in CANNOT_RECEIVE), None)
    if finding is None:
        return None
    said = finding.message.rstrip("。.")
    return words("diagnose_trial", lang)["cannot_receive"].format(code=finding.code, said=said)
    return (
        f"Mail cannot reach this address ({finding.code}: {said}), so the trial "
        "does not apply: it shows what a carrier's filter does with mail that arrives."
    )
