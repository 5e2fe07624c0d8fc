"""Reading README.md's fenced blocks and comparing shown output with printed output.

The conventions (directives, prompts, ellipses) are described in tests/test_readme.py,
which runs the blocks.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

_FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*readme-test:\s*(.*?)\s*-->\s*$")
#: A fixed loopback port in a block: 127.0.0.1:N, localhost:N or port=N.
PORT = re.compile(r"(?:(?<=127\.0\.0\.1:)|(?<=localhost:)|(?<=port=))(\d{4,5})\b")
_INSTALL = re.compile(r"^python3 -m venv \.venv && \.venv/bin/pip install [^&]*&&\s*")
_VOLATILE = [
    (re.compile(r"<\d+\.\d+\.\d+@lentrance\.com>"), "<MESSAGE-ID>"),
    (re.compile(r"=_lentrance_[0-9a-f]{32}"), "=_lentrance_BOUNDARY"),
    (re.compile(r"^Date: .*$"), "Date: DATE"),
]
_ELLIPSES = ("...", "…")
#: Exit statuses of a command shown without output: maildoctor's verdicts (0 ok,
#: 1 risky or an error finding, 3 unknown); a usage error (2), a harness failure (4),
#: a missing command (127) or a traceback is a broken example.
QUIET_OK = (0, 1, 3)


@dataclass(frozen=True)
class Block:
    """One fenced block of the README."""

    line: int
    """The line of its opening fence (1-based)."""
    lang: str
    text: str
    directive: str | None
    """What a ``<!-- readme-test: ... -->`` comment right before it says."""

    @property
    def id(self) -> str:
        """A name that survives edits elsewhere in the README: the language and the
        block's first code line (``console-maildoctor-lint``)."""
        lines = [line.removeprefix("$ ") for line in self.text.splitlines()]
        first = next((line for line in lines if line.strip() and not line.startswith("#")), "")
        slug = "-".join(re.findall(r"[a-z0-9]+", first.lower()))[:48].rstrip("-")
        return f"{self.lang}-{slug or 'empty'}"


def parse_blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, with the directive before each."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, lang = opening.groups()
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        body = [
            line[len(indent) :] if line.startswith(indent) else line for line in lines[i + 1 : end]
        ]
        before = i - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        directive = _DIRECTIVE.match(lines[before]) if before >= 0 else None
        blocks.append(
            Block(
                line=i + 1,
                lang=lang,
                text="\n".join(body) + "\n",
                directive=directive.group(1) if directive else None,
            )
        )
        i = end + 1
    return blocks


def block_ids(blocks: list[Block]) -> list[str]:
    seen: dict[str, int] = {}
    ids = []
    for block in blocks:
        seen[block.id] = seen.get(block.id, 0) + 1
        ids.append(block.id if seen[block.id] == 1 else f"{block.id}-{seen[block.id]}")
    return ids


@dataclass
class Command:
    command: str
    expected: list[str] | None = None
    """The output lines shown under the command (None: none shown)."""
    background: bool = False
    ports: list[int] = field(default_factory=list)


def parse_console(text: str) -> list[Command]:
    """The commands of a console block, each with the output shown under it."""
    lines = text.splitlines()
    prompts = any(line.startswith("$ ") for line in lines)
    commands: list[Command] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if prompts and not line.startswith("$ "):
            if commands:
                commands[-1].expected = [*(commands[-1].expected or []), line]
            i += 1
            continue
        command = line[2:] if prompts else line
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command += "\n" + lines[i]
        if command.strip():
            commands.append(Command(command=_INSTALL.sub("", command)))
        i += 1
    for c in commands:
        c.background = c.command.rstrip().endswith("&")
    return commands


def _normal(line: str) -> str:
    line = line.replace("\r", "").rstrip()
    for pattern, replacement in _VOLATILE:
        line = pattern.sub(replacement, line)
    return line


@functools.lru_cache(maxsize=4096)
def _line_pattern(line: str) -> re.Pattern[str]:
    pieces = re.split(r"\.\.\.|…", line)
    return re.compile(".*".join(re.escape(p) for p in pieces) + r"\Z", re.DOTALL)


def output_matches(expected: list[str], actual: list[str]) -> bool:
    """Whether the actual lines fit the shown ones (ellipses as wildcards)."""
    exp = [_normal(line) for line in expected]
    act = [_normal(line) for line in actual]
    while exp and not exp[-1]:
        exp.pop()
    while act and not act[-1]:
        act.pop()

    @functools.cache
    def fit(i: int, j: int) -> bool:
        if i == len(exp):
            return j == len(act)
        if exp[i].strip() in _ELLIPSES:
            return any(fit(i + 1, k) for k in range(j, len(act) + 1))
        if j == len(act):
            return False
        return bool(_line_pattern(exp[i]).match(act[j])) and fit(i + 1, j + 1)

    return fit(0, 0)


def attached_output(blocks: list[Block], block: Block) -> list[str] | None:
    """The output a ``text`` block after ``block`` shows for its last command.

    A ``text`` block marked ``<!-- readme-test: output -->`` (the whole output) or
    ``<!-- readme-test: output-start -->`` (how it starts) shows what the last
    command of the nearest block before it prints, when prose stands between them.
    """
    later = blocks[blocks.index(block) + 1 :]
    following = next((b for b in later if b.lang in ("console", "python", "text")), None)
    if following is None or following.lang != "text" or not following.directive:
        return None
    if following.directive not in ("output", "output-start"):
        return None
    lines = following.text.splitlines()
    return [*lines, "..."] if following.directive == "output-start" else lines
