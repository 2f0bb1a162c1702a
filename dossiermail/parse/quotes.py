"""Split a message's text into what it says, the quoted history and the signature.

Pure functions over ``str``. Recognises ``>`` quoting (interleaved and bottom-posted replies keep
their own lines), Gmail/Apple attributions (``Le lun. 3 mars 2026 à 10:12, Jean <…> a écrit :``,
``On … wrote:``), Outlook header blocks in French and English (``De : / Envoyé : / À : / Objet :``),
``-----Message d'origine-----`` separators and forward markers. For a forward (``TR :``), the
forwarded message lands in ``quoted_text`` whole, so the timeline can still show it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ATTRIBUTION_START = re.compile(r"^\s*(?:le|on)\s", re.IGNORECASE)
_ATTRIBUTION = re.compile(
    r"^\s*(?:le|on)\s.{0,400}?(?:a\s+écrit|ont\s+écrit|écrit|wrote)\s*:\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*(?:"
    r"-{2,}\s*(?:message\s+d['’]origine|original\s+message|forwarded\s+message"
    r"|message\s+transf[ée]r[ée]|message\s+r[ée]exp[ée]di[ée])\s*-{2,}"
    r"|d[ée]but\s+du\s+message\s+r[ée]exp[ée]di[ée]\s*:"
    r"|begin\s+forwarded\s+message\s*:"
    r")\s*$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_FROM_FIELD = re.compile(r"^\s*\*?\s*(?:de|from|von)\s*\*?\s*:\s*\*?\s*\S", re.IGNORECASE)
_OTHER_FIELD = re.compile(
    r"^\s*\*?\s*(?:envoy[ée]|sent|date|[àa]|to|cc|objet|subject|r[ée]pondre\s+[àa]|reply-to"
    r"|importance|gesendet|an|betreff)\s*\*?\s*:",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(
    r"^(?:--\s*"
    r"|envoy[ée] (?:de|depuis) mon \S.*"
    r"|sent from my \S.*"
    r"|(?:obtenir|get) outlook pour \S.*|get outlook for \S.*)$",
    re.IGNORECASE,
)
_HEADER_BLOCK_WINDOW = 6
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class TextSplit:
    """A message text cut into the new part, the quoted history and the signature."""

    new_text: str
    quoted_text: str
    signature: str


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _next_non_blank(lines: list[str], start: int) -> int | None:
    for index in range(start, len(lines)):
        if lines[index].strip():
            return index
    return None


def attribution_length(lines: list[str], index: int) -> int:
    """1 or 2 when an attribution line (possibly wrapped over two lines) starts at ``index``."""
    line = lines[index]
    if not _ATTRIBUTION_START.match(line):
        return 0
    if _ATTRIBUTION.match(line):
        return 1
    wrapped = index + 1 < len(lines) and lines[index + 1].strip()
    if wrapped and _ATTRIBUTION.match(f"{line.rstrip()} {lines[index + 1].strip()}"):
        return 2
    return 0


def _is_header_block(lines: list[str], index: int) -> bool:
    """``De : …`` followed within a few lines by at least two other header fields."""
    if not _FROM_FIELD.match(lines[index]):
        return False
    window = lines[index + 1 : index + 1 + _HEADER_BLOCK_WINDOW]
    return sum(1 for line in window if _OTHER_FIELD.match(line)) >= 2


def is_history_start(lines: list[str], index: int) -> bool:
    """True where the rest of the text is quoted history (Outlook/forward style)."""
    line = lines[index]
    if _SEPARATOR.match(line):
        return True
    if _UNDERSCORES.match(line):
        following = _next_non_blank(lines, index + 1)
        return following is not None and _is_header_block(lines, following)
    return _is_header_block(lines, index)


def _split_lines(lines: list[str]) -> tuple[list[str], list[str]]:
    """Walk the lines once: (lines written now, quoted lines)."""
    new: list[str] = []
    quoted: list[str] = []
    index = 0
    while index < len(lines):
        if is_history_start(lines, index):
            return new, quoted + lines[index:]
        length = attribution_length(lines, index)
        if length:
            following = _next_non_blank(lines, index + length)
            if following is None or not _is_quoted(lines[following]):
                return new, quoted + lines[index:]
            quoted.extend(lines[index : index + length])
            index += length
            continue
        (quoted if _is_quoted(lines[index]) else new).append(lines[index])
        index += 1
    return new, quoted


def _signature_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if _SIGNATURE.match(line.strip()):
            return index
    return None


def _tidy(lines: list[str]) -> str:
    """Join lines, drop trailing spaces and runs of blank lines."""
    text = "\n".join(line.rstrip() for line in lines)
    return _BLANK_RUNS.sub("\n\n", text).strip("\n")


def split_text(text: str) -> TextSplit:
    """Cut ``text`` into new text, quoted history and signature (see the module docstring)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    new, quoted = _split_lines(lines)
    start = _signature_start(new)
    signature: list[str] = []
    if start is not None:
        new, signature = new[:start], new[start:]
    return TextSplit(new_text=_tidy(new), quoted_text=_tidy(quoted), signature=_tidy(signature))
