"""``maildoctor.__all__`` stays true: every name resolves, and nothing loads eagerly."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import maildoctor

EXPORTS = [name for name in maildoctor.__all__ if name != "__version__"]


@pytest.mark.parametrize("name", EXPORTS)
def test_every_exported_name_is_its_modules_own(name: str) -> None:
    """``maildoctor.X`` is the very object its module defines under that name, and that
    module lists it in its own ``__all__`` (so the re-export cannot point at a stale or
    private name)."""
    value = getattr(maildoctor, name)
    module = importlib.import_module(maildoctor._EXPORTS[name])
    assert value is getattr(module, name)
    assert name in getattr(module, "__all__", [name])
    if isinstance(value, type) or callable(value):
        assert value.__module__.startswith("maildoctor.")


def test_the_version_is_the_packages() -> None:
    from importlib.metadata import version

    assert maildoctor.__version__ == version("maildoctor")


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        maildoctor.nope  # noqa: B018


def test_import_maildoctor_loads_no_submodule() -> None:
    code = "import sys, maildoctor; print(sorted(m for m in sys.modules if 'maildoctor.' in m))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
