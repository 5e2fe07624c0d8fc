"""``maildoctor.__all__`` stays true: every name resolves, and nothing loads eagerly."""

from __future__ import annotations

import subprocess
import sys

import pytest

import maildoctor


@pytest.mark.parametrize("name", maildoctor.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    value = getattr(maildoctor, name)
    assert value is not None
    if hasattr(value, "__module__") and name != "__version__":
        assert value.__module__.startswith("maildoctor")


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        maildoctor.nope  # noqa: B018


def test_import_maildoctor_loads_no_submodule() -> None:
    code = "import sys, maildoctor; print(sorted(m for m in sys.modules if 'maildoctor.' in m))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
