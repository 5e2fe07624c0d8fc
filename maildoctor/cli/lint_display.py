"""``lint --carrier-display``: the sender audit's receivers rows as lint findings.

One audit per From domain per run (every template sends from the same one).
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import click

from maildoctor.mail.lint_rules import LintFinding, lint_finding

__all__ = ["FINDING_OF", "display_extra"]

#: A receivers-table treatment -> the lint rule it is reported under (others: none).
FINDING_OF = {
    "warning_banner": "carrier_spoofing_warning",
    "spoofing_filter_rejects": "carrier_spoofing_warning",
    "rejected_on_high": "carrier_may_filter",
    "may_be_filtered": "carrier_may_filter",
}


def _domain(msg: EmailMessage) -> str | None:
    sender = msg.get("From")
    addresses = getattr(sender, "addresses", ()) if sender is not None else ()
    return addresses[0].domain.lower() if addresses and addresses[0].domain else None


def display_extra(
    nameservers: tuple[str, ...], timeout: float, ip: str | None, selector: str | None
) -> Any:
    """The lint extra: findings for docomo/SoftBank/au rows, the rows under
    ``carrier_display``."""
    from maildoctor.sender.carrier_display import CARRIER_RECEIVERS, carrier_display

    done: dict[str, Any] = {}

    def extra(msg: EmailMessage, raw: bytes) -> tuple[list[LintFinding], dict[str, Any]]:
        domain = _domain(msg)
        if domain is None:
            return [], {"carrier_display": {"ran": False, "why": "the message has no From"}}
        if domain not in done:
            try:
                done[domain] = carrier_display(
                    domain,
                    nameservers=nameservers,
                    timeout=timeout,
                    ip=ip,
                    selector=selector,
                    lang="en",
                )
            except ValueError as e:  # a malformed --nameserver
                raise click.BadParameter(str(e), param_hint="--nameserver") from None
        display = done[domain]
        found = [
            lint_finding(
                FINDING_OF[row.treatment],
                carrier=row.receiver,
                source=row.source,
                receiver=row.name,
                text=row.text,
                domain=domain,
            )
            for row in display.rows
            if row.receiver in CARRIER_RECEIVERS and row.treatment in FINDING_OF
        ]
        return found, {"carrier_display": display.to_dict()}

    return extra
