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
    "CheckResult": "maildoctor.check",
    "check_address": "maildoctor.check",
    "check_many": "maildoctor.check",
    "check_offline": "maildoctor.check",
    "check_one": "maildoctor.check",
    "DNSProbe": "maildoctor.dnsprobe",
    "make_resolver": "maildoctor.dnsprobe",
    # templates
    "render_message": "maildoctor.render",
    "TemplatingError": "maildoctor.templating",
    "LintFinding": "maildoctor.lint",
    "lint_message": "maildoctor.lint",
    # harness
    "Profile": "maildoctor.harness.policy",
    "run_in_thread": "maildoctor.harness.server",
    # diagnose, bounces, sender
    "DiagnoseResult": "maildoctor.diagnose",
    "explain": "maildoctor.bounce",
    "NotABounce": "maildoctor.bounce",
    "audit": "maildoctor.sender",
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
