"""Where the notification templates live, and the one Jinja2 environment per folder.

Every command that uses templates takes ``--templates DIR`` (or the
``MAILDOCTOR_TEMPLATES`` environment variable) so that the service's developers
can preview their own copies; without either, the templates shipped with the
package are used. The wheel force-includes the repository's ``templates/`` as
``maildoctor/templates``; an editable install has no such folder, so we fall
back to ``templates/`` next to the package in the source tree.

Errors (all subclasses of :class:`TemplatingError`, so a CLI can turn any of
them into a one-line message)::

    TemplatingError
     ├── TemplatesDirError     the folder does not exist or holds no templates
     ├── UnknownTemplate       no template of that name (or no such variant)
     ├── MissingVariable       the context lacks a variable the template uses
     ├── ContextError          a --var / --context value could not be read
     └── UnencodableCharacter  a character has no encoding in the chosen charset
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import jinja2

from maildoctor.errors import BadInput

__all__ = [
    "ENV_VAR",
    "PACKAGED",
    "ContextError",
    "MissingVariable",
    "TemplatesDirError",
    "TemplatesFolder",
    "TemplatingError",
    "UnencodableCharacter",
    "UnknownTemplate",
    "environment",
    "find_templates",
    "templates_dir",
]

#: The environment variable that points every command at another templates folder.
ENV_VAR = "MAILDOCTOR_TEMPLATES"

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


class TemplatingError(BadInput):
    """Base of every template error; ``str(error)`` is a full sentence for the user."""


class TemplatesDirError(TemplatingError):
    """The templates folder does not exist or is not a folder."""


class UnknownTemplate(TemplatingError):
    """No template (or no variant of it) by that name."""


class MissingVariable(TemplatingError):
    """The context lacks a variable the template uses.

    StrictUndefined makes this an error: an empty customer number or link in a
    real mail is worse than no mail.
    """

    def __init__(self, name: str, template: str) -> None:
        self.name = name
        self.template = template
        super().__init__(
            f"The template {template!r} uses the variable {name!r}, but no value was given; "
            f"pass it with --var {name}=VALUE or in the --context file."
        )


class ContextError(TemplatingError):
    """A ``--var`` or ``--context`` value could not be read."""


class UnencodableCharacter(TemplatingError):
    """A character cannot be written in the chosen charset (ISO-2022-JP for old phones)."""

    def __init__(self, char: str, charset: str, where: str) -> None:
        self.char = char
        self.charset = charset
        self.where = where
        super().__init__(
            f"The character {char!r} (U+{ord(char):04X}) in the {where} cannot be encoded "
            f"in {charset}; replace it (for example with a JIS X 0208 equivalent) "
            f"or send the message as utf-8."
        )


def _packaged_dir() -> Path:
    installed = _PACKAGE_DIR / "templates"
    if installed.is_dir():
        return installed
    # Editable install or a source checkout: the repository root's templates/.
    return _PACKAGE_DIR.parent / "templates"


@dataclass(frozen=True)
class TemplatesFolder:
    """The templates folder a command reads, and why that one (for the one stderr line)."""

    path: Path
    source: str
    """``--templates``, ``$MAILDOCTOR_TEMPLATES``, ``./templates`` or :data:`PACKAGED`."""

    def describe(self) -> str:
        """``Templates: /path (from ./templates in the working directory)``."""
        return f"Templates: {self.path} (from {self.source})"


#: The source of the templates that come with maildoctor (:attr:`TemplatesFolder.source`).
PACKAGED = "the installed package"


def find_templates(override: str | Path | None = None) -> TemplatesFolder:
    """Where users expect their templates: ``--templates``, then ``$MAILDOCTOR_TEMPLATES``,
    then ``./templates`` when the working directory has one holding templates (a
    checkout being edited, even after ``pip install .``), then the packaged ones.

    Raises :class:`TemplatesDirError` when the chosen folder does not exist.
    """
    here = Path("templates")
    if override is not None and str(override) != "":
        path, source = Path(override), "--templates"
    elif os.environ.get(ENV_VAR):
        path, source = Path(os.environ[ENV_VAR]), f"${ENV_VAR}"
    elif _holds_templates(here) and here.resolve() != _packaged_dir().resolve():
        path, source = here, "./templates in the working directory"
    else:  # (a source checkout's own templates/ is the packaged folder of its editable install)
        path, source = _packaged_dir(), PACKAGED
    path = path.expanduser()
    if not path.is_dir():
        raise TemplatesDirError(
            f"The templates folder {str(path)!r} (from {source}) does not exist or is not "
            f"a folder; point --templates or {ENV_VAR} at a copy of maildoctor's templates/."
        )
    return TemplatesFolder(path.resolve(), source)


def _holds_templates(path: Path) -> bool:
    """A folder with Jinja2 templates at its top or one level down (not any ``templates/``
    that happens to be empty)."""
    if not path.is_dir():
        return False
    return any(path.glob("*.j2")) or any(path.glob("*/*.j2"))


def templates_dir(override: str | Path | None = None) -> Path:
    """The templates folder (see :func:`find_templates` for the order)."""
    return find_templates(override).path


_resolve_dir = templates_dir  # environment() shadows the name with its parameter


@functools.lru_cache(maxsize=16)
def _environment(path: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(path)),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "html.j2"),
            disabled_extensions=("txt", "txt.j2"),
            default_for_string=False,
            default=False,
        ),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment for a templates folder, built once per folder.

    StrictUndefined (a missing variable is an error, never an empty string) and
    autoescape on for ``.html`` / ``.html.j2`` only. Templates are reloaded when
    their files change, so a developer's preview stays current.
    """
    # templates_dir() already resolves; a caller's own Path is used as given (no
    # realpath per render: this runs for every message).
    return _environment(_resolve_dir() if templates_dir is None else Path(templates_dir))
