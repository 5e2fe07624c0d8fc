"""Which mail clients support what an HTML part uses, from caniemail's data.

The data is caniemail.com's, vendored from its npm package (``data/caniemail/``,
with its licence and version). Each HTML element, attribute, CSS property, unit,
function, at-rule and selector the part uses is mapped to a caniemail feature, and
each feature to its support per client family (the newest tested version of each
platform). The score per family is the share of used features it supports (partial
support counts half), as Mailpit and caniemail weigh them.

Japanese carrier mail apps are not in caniemail: what the carrier research in
``docs/carriers-jp.source.md`` says about them (``data/carrier_html.toml``) is
reported beside the families, marked as research rather than test results.

Pure: the HTML in, a :class:`SupportReport` out. Linear: one pass of the stdlib
HTML parser and one regex pass per style text.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib import resources
from typing import Any, Literal

from maildoctor.findings import Lang
from maildoctor.mail.lint_rules import LintFinding, lint_finding
from maildoctor.words import words

__all__ = [
    "CarrierHTMLNote",
    "DataVersion",
    "FamilySupport",
    "FeatureUse",
    "SupportReport",
    "caniemail_release",
    "caniemail_version",
    "carrier_html_notes",
    "client_support",
    "family_names",
    "feature_titles",
    "features_used",
    "support_findings",
]

Support = Literal["y", "a", "n", "u"]
"""caniemail's marks: supported, partially (mitigated), not supported, unknown."""

#: Elements whose caniemail feature is named differently from the tag.
_ELEMENT_FEATURE = {
    **{f"h{i}": "html-h1-h6" for i in range(1, 7)},
    **dict.fromkeys(("ul", "ol", "li", "dl", "dt", "dd"), "html-lists"),
    **dict.fromkeys(
        ("header", "footer", "main", "nav", "section", "article", "aside"), "html-semantics"
    ),
    **dict.fromkeys(("map", "area"), "html-image-maps"),
    **dict.fromkeys(("td", "th", "tr", "tbody", "thead", "tfoot"), "html-table"),
}
#: Attributes with a caniemail feature of their own (html-<name>).
_ATTRIBUTE_FEATURES = frozenset(
    {
        "align", "background", "cellpadding", "cellspacing", "dir", "height", "width", "hidden",
        "lang", "role", "srcset", "target", "valign", "required", "aria-describedby",
        "aria-hidden", "aria-label", "aria-labelledby", "aria-live", "popover",
    }
)  # fmt: skip
_IMAGE_EXTENSIONS = {
    "png": "image-png", "jpg": "image-jpg", "jpeg": "image-jpg", "gif": "image-gif",
    "webp": "image-webp", "svg": "image-svg", "avif": "image-avif", "bmp": "image-bmp",
    "ico": "image-ico", "tif": "image-tiff", "tiff": "image-tiff", "heif": "image-heif",
    "heic": "image-heif", "apng": "image-apng",
}  # fmt: skip
#: CSS longhands that caniemail tests under their shorthand's feature.
_PROPERTY_FEATURE = {
    **{f"margin-{s}": "css-margin" for s in ("top", "right", "bottom", "left")},
    **{f"padding-{s}": "css-padding" for s in ("top", "right", "bottom", "left")},
    **{
        f"border-{s}{p}": "css-border"
        for s in ("top", "right", "bottom", "left")
        for p in ("", "-width", "-style", "-color")
    },
    **{f"border-{p}": "css-border" for p in ("width", "style", "color")},
    **dict.fromkeys(("left", "right", "top", "bottom"), "css-left-right-top-bottom"),
    "font-family": "css-font",
    "font-style": "css-font",
    "font-variant": "css-font",
}
_UNITS = {
    "px": "css-unit-px", "em": "css-unit-em", "rem": "css-unit-rem", "%": "css-unit-percent",
    "pt": "css-unit-pt", "pc": "css-unit-pc", "cm": "css-unit-cm", "mm": "css-unit-mm",
    "in": "css-unit-in", "ch": "css-unit-ch", "ex": "css-unit-ex", "vh": "css-unit-vh",
    "vw": "css-unit-vw", "vmin": "css-unit-vmin", "vmax": "css-unit-vmax",
}  # fmt: skip
_FUNCTIONS = {
    "rgb": "css-rgb", "rgba": "css-rgba", "calc": "css-unit-calc", "var": "css-variables",
    "linear-gradient": "css-linear-gradient", "radial-gradient": "css-radial-gradient",
    "conic-gradient": "css-conic-gradient", "clamp": "css-function-clamp",
    "min": "css-function-min", "max": "css-function-max", "light-dark": "css-function-light-dark",
}  # fmt: skip
_AT_RULES = {
    "media": "css-at-media", "font-face": "css-at-font-face", "import": "css-at-import",
    "keyframes": "css-at-keyframes", "supports": "css-at-supports",
}  # fmt: skip

_DECLARATION = re.compile(r"([a-zA-Z-]+)\s*:\s*([^;{}]*)")
_UNIT = re.compile(r"(?<![\w#-])-?\d*\.?\d+(px|rem|em|%|pt|pc|cm|mm|in|ch|ex|vh|vw|vmin|vmax)\b|%")
_FUNCTION = re.compile(r"([a-zA-Z-]+)\(")
_AT_RULE = re.compile(r"@([a-zA-Z-]+)")
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_BLOCK = re.compile(r"([^{}]*)\{([^{}]*)\}")
_PSEUDO = re.compile(r"(::?)([a-zA-Z-]+)")


@dataclass(frozen=True, kw_only=True)
class FeatureUse:
    """One caniemail feature the HTML uses, with an example of where."""

    slug: str
    """caniemail's feature id (``css-border-radius``): also the ``--allow`` qualifier."""
    title: str
    example: str


@dataclass(frozen=True, kw_only=True)
class FamilySupport:
    """How one client family supports the features used."""

    family: str
    """caniemail's family id (gmail, outlook, apple-mail...)."""
    name: str
    score: int
    """0-100: supported features count 1, partial ones 1/2, unknown ones are left out."""
    unsupported: tuple[str, ...]
    """Feature slugs not supported on at least one platform of the family."""
    partial: tuple[str, ...]
    """Feature slugs partly supported (or mixed) on some platform."""
    platforms: dict[str, dict[str, Support]] = field(default_factory=dict)
    """platform -> feature slug -> support on its newest tested version (non-``y`` only)."""


@dataclass(frozen=True, kw_only=True)
class CarrierHTMLNote:
    """What the carrier research says about a Japanese carrier mail app and HTML mail."""

    app: str
    """The app's id (docomo_mail, au_mail, softbank_smail...)."""
    name_ja: str
    name_en: str
    known: bool
    """False when the research found no source about its HTML or CSS support."""
    note_ja: str
    note_en: str
    sources: tuple[str, ...]
    basis: str = "carrier research (docs/carriers-jp.source.md), not caniemail tests"


@dataclass(frozen=True)
class DataVersion:
    """Which caniemail data a report used: the npm package's version and the data's date,
    worded in the reader's language (``data/words.toml`` [caniemail]). ``format(v, "ja")``
    picks the language, so a lint finding's words say ``{version:ja}``; ``str(v)`` is
    the English."""

    package: str
    date: str

    def label(self, lang: Lang = "en") -> str:
        said = words("caniemail", lang)["data_version"]
        return said.format(package=self.package, date=self.date)

    def __format__(self, spec: str) -> str:
        return self.label("ja" if spec == "ja" else "en")

    def __str__(self) -> str:
        return self.label("en")


@dataclass(frozen=True, kw_only=True)
class SupportReport:
    """The support of one HTML part across mail clients."""

    features: tuple[FeatureUse, ...]
    families: tuple[FamilySupport, ...]
    carriers: tuple[CarrierHTMLNote, ...]
    data_version: DataVersion

    @property
    def score(self) -> int:
        """The mean of the family scores (Mailpit's overall figure)."""
        return (
            round(sum(f.score for f in self.families) / len(self.families))
            if self.families
            else 100
        )

    def to_dict(self, lang: Lang = "en") -> dict[str, Any]:
        """The JSON: ``data_version`` worded in ``lang``, ``caniemail`` (the package's
        version) and ``data_date`` (YYYY-MM-DD) for machines."""
        return {
            "score": self.score,
            "data_version": self.data_version.label(lang),
            "caniemail": self.data_version.package,
            "data_date": self.data_version.date,
            "features": [
                {"slug": f.slug, "title": f.title, "example": f.example} for f in self.features
            ],
            "families": [
                {
                    "family": f.family,
                    "name": f.name,
                    "score": f.score,
                    "unsupported": list(f.unsupported),
                    "partial": list(f.partial),
                    "platforms": f.platforms,
                }
                for f in self.families
            ],
            "carriers": [
                {
                    "app": c.app,
                    "name_ja": c.name_ja,
                    "name_en": c.name_en,
                    "known": c.known,
                    "note_ja": c.note_ja,
                    "note_en": c.note_en,
                    "sources": list(c.sources),
                    "basis": c.basis,
                }
                for c in self.carriers
            ],
        }


def _data_dir() -> Any:
    return resources.files("maildoctor") / "data"


@functools.cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (_data_dir() / "caniemail" / "caniemail.json").read_text("utf-8")
    )
    return data


@functools.cache
def _features() -> dict[str, dict[str, Any]]:
    return {f["slug"]: f for f in _data()["data"]}


def feature_titles() -> dict[str, str]:
    """Every caniemail feature slug with its title."""
    return {slug: f["title"] for slug, f in _features().items()}


@functools.cache
def caniemail_release() -> DataVersion:
    """The vendored data's npm version and update date (from ``VERSION`` and the data)."""
    text = (_data_dir() / "caniemail" / "VERSION").read_text("utf-8")
    m = re.search(r"npm package caniemail (\S+)", text)
    return DataVersion(m.group(1) if m else "?", _data()["last_update_date"][:10])


def caniemail_version(lang: Lang = "en") -> str:
    """The vendored data's version and date, worded in ``lang``."""
    return caniemail_release().label(lang)


@functools.cache
def carrier_html_notes() -> tuple[CarrierHTMLNote, ...]:
    """The carrier mail apps' notes from ``data/carrier_html.toml``."""
    table = tomllib.loads((_data_dir() / "carrier_html.toml").read_text("utf-8"))
    return tuple(
        CarrierHTMLNote(
            app=app,
            name_ja=row["name_ja"],
            name_en=row["name_en"],
            known=bool(row["known"]),
            note_ja=row["note_ja"],
            note_en=row["note_en"],
            sources=tuple(row.get("sources", ())),
        )
        for app, row in table["apps"].items()
    )


class _Uses(HTMLParser):
    """Records the first example of every feature the HTML uses."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, str] = {}
        self._in_style = False

    def _add(self, slug: str, example: str) -> None:
        if slug in _features():
            self.found.setdefault(slug, example[:80])

    def handle_decl(self, decl: str) -> None:
        if decl.lower().startswith("doctype"):
            self._add("html-doctype", f"<!{decl}>")

    def handle_comment(self, data: str) -> None:
        self._add("html-comments", "<!-- -->")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add(_ELEMENT_FEATURE.get(tag, f"html-{tag}"), f"<{tag}>")
        values = {k.lower(): (v or "") for k, v in attrs}
        for name, value in values.items():
            if name in _ATTRIBUTE_FEATURES:
                self._add(f"html-{name}", f"<{tag} {name}>")
            elif name == "loading":
                self._add("html-loading-attribute", f"<{tag} loading>")
            elif name == "style":
                for slug, example in css_features(value, inline=True):
                    self._add(slug, example)
        href = values.get("href", "").strip().lower()
        if tag == "a" and href.startswith("mailto:"):
            self._add("html-mailto-links", "<a href=mailto:>")
        elif tag == "a" and href.startswith("#"):
            self._add("html-anchor-links", "<a href=#>")
        if tag == "input":
            self._add(
                f"html-input-{values.get('type', 'text').lower()}",
                f"<input type={values.get('type', 'text')}>",
            )
        if tag == "button":
            self._add(f"html-button-{values.get('type', 'submit').lower()}", "<button>")
        if tag == "meta" and values.get("name", "").lower() in (
            "color-scheme",
            "supported-color-schemes",
        ):
            self._add("html-meta-color-scheme", '<meta name="color-scheme">')
        if tag == "img":
            src = values.get("src", "").strip()
            if src.lower().startswith("data:"):
                self._add("image-base64", "<img src=data:...>")
                kind = src[5:].split(";", 1)[0].split("/")[-1].lower()
            else:
                kind = src.split("?", 1)[0].rsplit(".", 1)[-1].lower()
            if kind in _IMAGE_EXTENSIONS:
                self._add(_IMAGE_EXTENSIONS[kind], f"<img src=...{kind}>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            for slug, example in css_features(data, inline=False):
                self._add(slug, example)


def _declaration_features(prop: str, value: str) -> Iterable[tuple[str, str]]:
    prop = prop.strip().lower()
    value = value.strip()
    example = f"{prop}: {value}"
    if value.lower().endswith("!important"):
        yield "css-important", example
    if (
        prop == "display"
        and value.split()[:1]
        and value.split()[0].lower() in ("flex", "grid", "none")
    ):
        yield f"css-display-{value.split()[0].lower()}", example
    yield _PROPERTY_FEATURE.get(prop, f"css-{prop}"), example
    for m in _UNIT.finditer(value):
        yield _UNITS.get((m.group(1) or "%").lower(), "css-unit-percent"), example
    for m in _FUNCTION.finditer(value):
        if m.group(1).lower() in _FUNCTIONS:
            yield _FUNCTIONS[m.group(1).lower()], example
    if prop == "font-family" and "system-ui" in value.lower():
        yield "css-sytem-ui", example  # caniemail's slug has this spelling


def _selector_features(selector: str) -> Iterable[tuple[str, str]]:
    example = selector.strip()[:60]
    for m in _AT_RULE.finditer(selector):
        name = m.group(1).lower()
        if name in _AT_RULES:
            yield _AT_RULES[name], example
        if "prefers-color-scheme" in selector:
            yield "css-at-media-prefers-color-scheme", example
    if selector.lstrip().startswith("@"):
        return
    if "," in selector:
        yield "css-selector-grouping", example
    for part in selector.split(","):
        part = part.strip()
        if "." in part:
            yield "css-selector-class", example
        if "#" in part:
            yield "css-selector-id", example
        if "[" in part:
            yield "css-selector-attribute", example
        if ">" in part:
            yield "css-selector-child", example
        if "+" in part:
            yield "css-selector-adjacent-sibling", example
        if "~" in part:
            yield "css-selector-general-sibling", example
        if "*" in part:
            yield "css-selector-universal", example
        if re.search(r"\S\s+[^\s>+~]", part.replace(" > ", ">")):
            yield "css-selector-descendant", example
        if re.match(r"[a-zA-Z]", part):
            yield "css-selector-type", example
        for colons, name in _PSEUDO.findall(part):
            kind = (
                "pseudo-element"
                if colons == "::" or name in ("before", "after")
                else "pseudo-class"
            )
            yield f"css-{kind}-{name.lower()}", example


def css_features(css: str, *, inline: bool) -> list[tuple[str, str]]:
    """(feature slug, example) for every feature a style attribute or block uses."""
    css = _COMMENT.sub("", css)
    if inline:
        return [f for m in _DECLARATION.finditer(css) for f in _declaration_features(*m.groups())]
    found: list[tuple[str, str]] = []
    for m in _AT_RULE.finditer(css):
        name = m.group(1).lower()
        if name in _AT_RULES:
            found.append((_AT_RULES[name], "@" + name))
    if "prefers-color-scheme" in css:
        found.append(("css-at-media-prefers-color-scheme", "@media (prefers-color-scheme)"))
    for m in _BLOCK.finditer(css):
        found += _selector_features(m.group(1))
        found += [
            f for d in _DECLARATION.finditer(m.group(2)) for f in _declaration_features(*d.groups())
        ]
    return found


def features_used(html: str) -> tuple[FeatureUse, ...]:
    """The caniemail features an HTML part uses, in the order first met."""
    parser = _Uses()
    parser.feed(html)
    parser.close()
    titles = feature_titles()
    return tuple(FeatureUse(slug=s, title=titles[s], example=e) for s, e in parser.found.items())


def _newest(stats: dict[str, str]) -> Support:
    """The mark of a platform's newest tested version (caniemail lists them oldest first)."""
    if not stats:
        return "u"
    mark = list(stats.values())[-1].strip()[:1]
    return mark if mark in ("y", "a", "n") else "u"  # type: ignore[return-value]


def client_support(html: str) -> SupportReport:
    """Support for the features ``html`` uses, per caniemail client family."""
    used = features_used(html)
    names: dict[str, str] = _data()["nicenames"]["family"]
    families: list[FamilySupport] = []
    for family, name in names.items():
        points = 0.0
        counted = 0
        unsupported: list[str] = []
        partial: list[str] = []
        platforms: dict[str, dict[str, Support]] = {}
        for use in used:
            by_platform = _features()[use.slug]["stats"].get(family)
            if not by_platform:
                continue
            marks = {platform: _newest(stats) for platform, stats in by_platform.items()}
            for platform, mark in marks.items():
                if mark != "y":
                    platforms.setdefault(platform, {})[use.slug] = mark
            known = [m for m in marks.values() if m != "u"]
            if not known:
                continue
            counted += 1
            if all(m == "y" for m in known):
                points += 1
            elif all(m == "n" for m in known) or "n" in known:
                unsupported.append(use.slug)
                points += sum(m == "y" for m in known) / len(known)
            else:
                partial.append(use.slug)
                points += 0.5
        if counted:
            families.append(
                FamilySupport(
                    family=family,
                    name=name,
                    score=round(100 * points / counted),
                    unsupported=tuple(unsupported),
                    partial=tuple(partial),
                    platforms=platforms,
                )
            )
    return SupportReport(
        features=used,
        families=tuple(families),
        carriers=carrier_html_notes(),
        data_version=caniemail_release(),
    )


def family_names() -> dict[str, str]:
    """caniemail's client families: id -> name."""
    names: dict[str, str] = _data()["nicenames"]["family"]
    return names


def _platforms_without(family: FamilySupport, slug: str) -> list[str]:
    return [p for p, marks in family.platforms.items() if marks.get(slug) == "n"]


def support_findings(report: SupportReport, families: Iterable[str]) -> list[LintFinding]:
    """``client_unsupported`` for each feature a watched family does not support on
    some platform's newest version (one finding per feature, naming where)."""
    watched = [f for f in report.families if f.family in set(families)]
    found: list[LintFinding] = []
    for use in report.features:
        where = [
            f"{f.name} ({', '.join(_platforms_without(f, use.slug))})"
            for f in watched
            if use.slug in f.unsupported
        ]
        if where:
            found.append(
                lint_finding(
                    "client_unsupported",
                    feature=use.slug,
                    title=use.title,
                    example=use.example,
                    where="; ".join(where),
                    version=report.data_version,
                    url=_features()[use.slug]["url"],
                    slug=use.slug,
                )
            )
    return found
