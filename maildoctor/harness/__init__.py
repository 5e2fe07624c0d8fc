"""The SMTP capture harness: carrier filter simulation, faults, SQLite store, web UI.

Public surface (imported lazily so that ``import maildoctor.harness`` is cheap)::

    Profile, Decision, Outcome, MessageFacts, decide, scenario_profiles   (policy: pure)
    ProfileBook, load_profiles                                           (profiles)
    Fault, FaultPlan, parse_faults, PRESETS                              (faults)
    Store, StoredMessage, Delivery                                       (store)
    Harness, HarnessConfig, HarnessThread, run_in_thread                 (server)
    Limits                                                               (smtp)
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Profile": "policy",
    "Decision": "policy",
    "Outcome": "policy",
    "MessageFacts": "policy",
    "UnsupportedSetting": "policy",
    "decide": "policy",
    "scenario_profiles": "policy",
    "ProfileBook": "profiles",
    "ProfileError": "profiles",
    "load_profiles": "profiles",
    "Fault": "faults",
    "FaultError": "faults",
    "FaultPlan": "faults",
    "PRESETS": "faults",
    "Stage": "faults",
    "parse_faults": "faults",
    "Store": "store",
    "StoreError": "store",
    "StoredMessage": "store",
    "Delivery": "store",
    "default_db_path": "store",
    "Harness": "server",
    "HarnessConfig": "server",
    "HarnessThread": "server",
    "run_in_thread": "server",
    "Limits": "smtp",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'maildoctor.harness' has no attribute {name!r}")
    return getattr(importlib.import_module(f"maildoctor.harness.{_WHERE[name]}"), name)
