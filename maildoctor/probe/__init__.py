"""The opt-in mailbox probe: ask the recipient's MX whether it takes the address
(RCPT TO, never DATA), and say what the answer means, or that it means nothing.

``probe_address`` is the one function ``check --probe`` and ``diagnose --probe`` call.
"""

from __future__ import annotations

from maildoctor.probe.limiter import ProbeLimiter
from maildoctor.probe.probe import (
    ProbeResult,
    ProbeSettings,
    format_probe_text,
    probe_address,
)

__all__ = ["ProbeLimiter", "ProbeResult", "ProbeSettings", "format_probe_text", "probe_address"]
