"""maildoctor: why didn't the Lentrance mail arrive, and what should the customer do?

The public API, importable from here; each name loads its module on first use
(PEP 562), so ``import maildoctor`` stays cheap for the command line::

    from maildoctor import check_one, render_message, lint_message, explain
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # findings and advice
    "Finding": "maildoctor.findings",
    "Severity": "maildoctor.findings",
    "Verdict": "maildoctor.findings",
    "CATALOG": "maildoctor.advice",
    "advice_text": "maildoctor.advice",
    "CARRIERS": "maildoctor.carriers",
    "Carrier": "maildoctor.carriers",
    "carrier_for_domain": "maildoctor.carriers",
    # check
    "CheckResult": "maildoctor.address.check",
    "check_address": "maildoctor.address.check",
    "check_many": "maildoctor.address.check",
    "check_offline": "maildoctor.address.check",
    "check_one": "maildoctor.address.check",
    "DNSProbe": "maildoctor.address.dnsprobe",
    "CachedProbe": "maildoctor.address.dnscache",
    "make_resolver": "maildoctor.address.dnsprobe",
    # templates
    "render_message": "maildoctor.mail.render",
    "TemplatingError": "maildoctor.mail.templating",
    "LintFinding": "maildoctor.mail.lint",
    "lint_message": "maildoctor.mail.lint",
    # harness
    "Profile": "maildoctor.harness.policy",
    "run_in_thread": "maildoctor.web.app",
    # diagnose, bounces, sender
    "DiagnoseResult": "maildoctor.diagnose.diagnosis",
    "explain": "maildoctor.bounce",
    "NotABounce": "maildoctor.bounce",
    "audit": "maildoctor.sender.domain_audit",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'maildoctor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
