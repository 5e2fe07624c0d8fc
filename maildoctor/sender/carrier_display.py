"""What docomo, SoftBank and au will show for mail from a domain: a thin call into the
sender audit (:func:`maildoctor.sender.domain_audit.audit`, whose ``receivers`` rows
come from ``data/receivers.toml``) for the template preview and ``lint``.

The resolver is checked first (:func:`maildoctor.sender.trust.canary_failure`): when
DNS cannot be trusted every row is ``unknown``, never "no DMARC".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from maildoctor.findings import Lang
from maildoctor.sender.domain_audit import audit
from maildoctor.sender.receivers import ReceiverRow
from maildoctor.sender.resolver import make_resolver
from maildoctor.sender.trust import DEFAULT_CANARIES, canary_failure

__all__ = ["CARRIER_RECEIVERS", "CarrierDisplay", "carrier_display"]

#: The receivers that are Japanese carriers (the others, Gmail and Yahoo, are kept too).
CARRIER_RECEIVERS = ("docomo", "softbank", "au")


@dataclass(frozen=True, kw_only=True)
class CarrierDisplay:
    """The receivers' rows for one sending domain."""

    domain: str
    rows: tuple[ReceiverRow, ...]
    untrusted: str | None = None
    """Why DNS was not trusted (every row is then unknown)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ran": True,
            "domain": self.domain,
            "dns_untrusted": self.untrusted,
            "rows": [
                {**row.to_dict(), "carrier": row.receiver in CARRIER_RECEIVERS} for row in self.rows
            ],
        }


def carrier_display(
    domain: str,
    *,
    nameservers: Sequence[str] = (),
    timeout: float = 5.0,
    ip: str | None = None,
    selector: str | None = None,
    lang: Lang = "ja",
    canaries: Sequence[str] = DEFAULT_CANARIES,
) -> CarrierDisplay:
    """Audit ``domain``'s published records and return what each receiver will do.

    Blocking (DNS, and HTTPS for MTA-STS/BIMI files when published): call it from a
    thread in async code. Raises ValueError for a malformed nameserver.
    """
    resolver = make_resolver(list(nameservers), timeout=timeout)
    untrusted = canary_failure(list(nameservers), timeout=timeout, canaries=canaries)
    result = audit(
        domain, resolver=resolver, ip=ip, selector=selector, lang=lang, untrusted=untrusted
    )
    return CarrierDisplay(domain=domain, rows=result.receivers, untrusted=untrusted)
