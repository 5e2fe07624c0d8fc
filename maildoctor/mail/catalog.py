"""The catalog of notification templates: what ``template.toml`` says about each.

A templates folder (see ``templates/README.md``) holds one sub-folder per
notification with ``template.toml`` (subject, variables, variants, sample
data), ``body.txt.j2`` and ``body.html.j2``. This module reads that catalog
(re-read when a ``template.toml`` changes) and the shared ``_site.toml`` facts;
rendering is :mod:`maildoctor.mail.render`.
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maildoctor.mail.templating import (
    TemplatesDirError,
    TemplatingError,
    UnknownTemplate,
    templates_dir,
)
from maildoctor.tickets import CONTRACT_SUBJECTS  # data/subjects.toml; lint holds templates to it

__all__ = [
    "CONTRACT_SUBJECTS",
    "TemplateInfo",
    "Variant",
    "catalog",
    "load_template",
    "sample_context",
    "site_facts",
]

_META = "template.toml"
_SITE = "_site.toml"


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One variant of a template (the sign-up path, for example) with its sample data."""

    name: str
    """``default`` for templates without variants."""
    description: str
    variables: Mapping[str, str] = field(default_factory=dict)
    """Variables only this variant uses, with what they hold."""
    sample: Mapping[str, Any] = field(default_factory=dict)
    """A realistic context that renders this variant."""


@dataclass(frozen=True, kw_only=True)
class TemplateInfo:
    """One notification template as ``template.toml`` describes it."""

    name: str
    """The folder name, e.g. ``provisional_registration``."""
    subject: str
    """The subject as written in ``template.toml`` (a Jinja2 template string)."""
    description: str
    variables: Mapping[str, str]
    """Variables every variant uses, with what they hold."""
    variants: tuple[Variant, ...]
    """At least one; the first is the default."""
    path: Path
    """The template's folder."""

    def variant(self, name: str | None = None) -> Variant:
        """The variant called ``name`` (the default one for ``None``)."""
        if name is None:
            return self.variants[0]
        for v in self.variants:
            if v.name == name:
                return v
        known = ", ".join(v.name for v in self.variants)
        raise UnknownTemplate(
            f"The template {self.name!r} has no variant {name!r}; its variants are: {known}."
        )

    def variables_of(self, variant: str | None = None) -> dict[str, str]:
        """All variables one variant needs (common ones first)."""
        return {**self.variables, **self.variant(variant).variables}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except OSError as e:
        raise TemplatesDirError(f"Cannot read {str(path)!r}: {e.strerror}.") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise TemplatingError(f"{str(path)!r} is not valid UTF-8 TOML: {e}.") from e


def _str_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise TemplatingError(f'{where} must be a table of name = "description".')
    return {str(k): str(v) for k, v in value.items()}


@functools.lru_cache(maxsize=64)
def _load(path: Path, mtime_ns: int) -> TemplateInfo:
    meta_path = path / _META
    meta = _read_toml(meta_path)
    if not isinstance(meta.get("subject"), str):
        raise TemplatingError(f'{str(meta_path)!r} has no subject = "..." line.')
    raw_variants = meta.get("variants")
    if raw_variants:
        default = meta.get("default_variant")
        names = sorted(raw_variants, key=lambda n: (n != default, list(raw_variants).index(n)))
        variants = tuple(
            Variant(
                name=n,
                description=str(raw_variants[n].get("description", "")),
                variables=_str_map(
                    raw_variants[n].get("variables", {}), f"[variants.{n}.variables]"
                ),
                sample=dict(raw_variants[n].get("sample", {})),
            )
            for n in names
        )
    else:
        variants = (Variant(name="default", description="", sample=dict(meta.get("sample", {}))),)
    return TemplateInfo(
        name=path.name,
        subject=meta["subject"],
        description=str(meta.get("description", "")),
        variables=_str_map(meta.get("variables", {}), f"[variables] of {str(meta_path)!r}"),
        variants=variants,
        path=path,
    )


def folder_of(tdir: Path | None) -> Path:
    """The templates folder: ``tdir``, else the configured or packaged one."""
    return templates_dir() if tdir is None else Path(tdir)


def load_template(name: str, templates_dir: Path | None = None) -> TemplateInfo:
    """The template ``name`` of a templates folder (re-read when its template.toml changes)."""
    folder = folder_of(templates_dir)
    path = folder / name
    try:
        if name.startswith(("_", ".")) or "/" in name or "\\" in name or "\0" in name:
            raise FileNotFoundError(name)  # a NUL names no file (os.stat: ValueError)
        mtime_ns = os.stat(os.path.join(path, _META)).st_mtime_ns  # one stat per render
    except OSError:
        known = ", ".join(catalog(folder)) or "none"
        raise UnknownTemplate(
            f"There is no template {name!r} in {str(folder)!r}; the templates are: {known}."
        ) from None
    return _load(path, mtime_ns)


def catalog(templates_dir: Path | None = None) -> dict[str, TemplateInfo]:
    """Every template of a folder, by name: the sub-folders that hold a template.toml."""
    folder = folder_of(templates_dir)
    names = sorted(
        p.name
        for p in folder.iterdir()
        if not p.name.startswith(("_", ".")) and (p / _META).is_file()
    )
    return {n: load_template(n, folder) for n in names}


def sample_context(
    name: str, variant: str | None = None, templates_dir: Path | None = None
) -> dict[str, Any]:
    """A copy of the sample data of one template variant."""
    return dict(load_template(name, templates_dir).variant(variant).sample)


@functools.lru_cache(maxsize=16)
def _site(path: Path, mtime_ns: int) -> dict[str, Any]:
    return _read_toml(path)


def site_facts(folder: Path) -> dict[str, Any]:
    """The facts every mail shares (``_site.toml``), empty when the folder has none."""
    path = folder / _SITE
    try:
        mtime_ns = os.stat(path).st_mtime_ns
    except OSError:
        return {}
    return _site(path, mtime_ns)
