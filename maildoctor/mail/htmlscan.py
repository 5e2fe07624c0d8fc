"""What the lint rules read from an HTML part, in one pass of the stdlib parser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["HTMLScan", "links_of", "only_at_rules", "scan_html", "visible_text"]

_TEXT_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()（）「」『』、。]+", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import|url\(\s*['\"]?\s*(?:https?:)?//", re.IGNORECASE)


class HTMLScan(HTMLParser):
    """Collects what the HTML rules look at, in one pass."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.scripts: list[str] = []
        self.forms: list[str] = []
        self.external_css: list[str] = []
        self.style_blocks = 0
        self.imgs_without_alt: list[str] = []
        self.images: list[str] = []
        """The src of every <img>, in order."""
        self.anchors: list[tuple[str, str]] = []
        """(href, visible text) of every <a href>, in order."""
        self.imgs_without_size: list[str] = []
        """The src of every <img> lacking a width or a height attribute."""
        self._in_style = False
        self._style_text: list[str] = []
        self._anchor: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"].strip())
            self._anchor = []
        elif tag in ("script", "iframe", "object", "embed"):
            self.scripts.append(f"a <{tag}> element")
        elif tag in ("form", "input", "textarea", "select", "button"):
            self.forms.append(tag)
        elif tag == "link" and "stylesheet" in a.get("rel", "").lower():
            self.external_css.append(f"<link href={a.get('href', '')!r}>")
        elif tag == "style":
            self._in_style = True
            self._style_text = []
        elif tag == "img":
            self.images.append(a.get("src", "").strip())
            if "alt" not in a:
                self.imgs_without_alt.append(a.get("src", ""))
            if not (a.get("width", "").strip() and a.get("height", "").strip()):
                self.imgs_without_size.append(a.get("src", ""))
        for name, value in a.items():
            if name.startswith("on"):
                self.scripts.append(f"an event handler attribute {name}=")
            elif name in ("href", "src", "action") and value.lower().lstrip().startswith(
                "javascript:"
            ):
                self.scripts.append(f"a javascript: URL in {name}=")
            elif name == "style" and _CSS_IMPORT.search(value):
                self.external_css.append(f"style={value[:60]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style" and self._in_style:
            self._in_style = False
            if not only_at_rules("".join(self._style_text)):
                self.style_blocks += 1
        elif tag == "a" and self._anchor is not None:
            self.anchors.append((self.links[-1], " ".join("".join(self._anchor).split())))
            self._anchor = None

    def handle_data(self, data: str) -> None:
        if self._anchor is not None:
            self._anchor.append(data)
        if self._in_style:
            self._style_text.append(data)
        if self._in_style and _CSS_IMPORT.search(data):
            self.external_css.append("@import or url() in <style>")


def only_at_rules(css: str) -> bool:
    """Whether a style block holds only at-rules (``@media (prefers-color-scheme: dark)``),
    which cannot be inlined and so stay in ``<style>`` on purpose; linear in ``css``."""
    depth = 0
    outside: list[str] = []
    in_at = False
    for ch in css:
        if depth == 0 and ch == "@":
            in_at = True
        elif depth == 0 and ch == ";":  # a statement at-rule (@import): not kept on purpose
            return False
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
            if depth == 0:
                in_at = False
            continue
        if depth == 0 and not in_at:
            outside.append(ch)
    return "".join(outside).strip() == "" and "@" in css


def scan_html(html: str) -> HTMLScan:
    scan = HTMLScan()
    scan.feed(html)
    scan.close()
    return scan


def links_of(text: str | None = None, html: str | None = None) -> list[str]:
    """The links of a text part (URLs written out) or an HTML part (<a href>), in order."""
    if html is not None:
        return scan_html(html).links
    return [m.group(0).rstrip(".,;:!?") for m in _TEXT_URL.finditer(text or "")]


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def visible_text(html: str) -> str:
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    return "".join(parser.chunks)
