"""What a redactor found in a text: typed hits, their French placeholders, and how they combine.

A ``Hit`` names the kind of data (``phone``, ``iban``…), never its content; overlapping hits are
merged so that no part of a found span survives, and ``apply`` replaces each merged span.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PLACEHOLDERS: dict[str, str] = {
    "phone": "[téléphone masqué]",
    "iban": "[IBAN masqué]",
    "bic": "[BIC masqué]",
    "email": "[adresse mail masquée]",
    "nir": "[n° de sécurité sociale masqué]",
    "person": "[nom masqué]",
}
PATTERN = "pattern"
"""The kind of a hit of an admin regex; its ``name`` is the pattern's name."""


@dataclass(frozen=True)
class Hit:
    """One span of a text that publishing hides: ``value[start:end]``, found by ``kind``/``name``.

    ``kind`` is a built-in (``phone``, ``iban``, ``bic``, ``email``, ``nir``), ``person`` or
    ``pattern``; ``name`` is the built-in's or the admin pattern's name, or ``person``.
    """

    kind: str
    name: str
    start: int
    end: int

    @property
    def placeholder(self) -> str:
        """The French text shown instead: it names the kind of data, never the data."""
        if self.kind == PATTERN:
            return f"[masqué : {self.name}]"
        return PLACEHOLDERS[self.kind]


def merge(hits: Iterable[Hit]) -> tuple[Hit, ...]:
    """Non-overlapping hits in text order; overlapping ones become one span named by the first."""
    merged: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if hit.end <= hit.start:
            continue
        if merged and hit.start < merged[-1].end:
            last = merged[-1]
            if hit.end > last.end:
                merged[-1] = Hit(last.kind, last.name, last.start, hit.end)
            continue
        merged.append(hit)
    return tuple(merged)


def apply(value: str, hits: tuple[Hit, ...]) -> str:
    """``value`` with each (merged, ordered) hit replaced by its placeholder."""
    if not hits:
        return value
    pieces: list[str] = []
    position = 0
    for hit in hits:
        pieces.append(value[position : hit.start])
        pieces.append(hit.placeholder)
        position = hit.end
    pieces.append(value[position:])
    return "".join(pieces)


def apply_to_runs(values: list[str], hits: tuple[Hit, ...]) -> tuple[str, ...]:
    """Pieces whose concatenation ``hits`` were found in, each redacted in place.

    A placeholder goes into the piece where its hit starts; the rest of the hit is removed from
    the pieces it runs over, so no piece keeps a fragment of what was found.
    """
    redacted: list[str] = []
    start = 0
    for value in values:
        end = start + len(value)
        redacted.append(_redact_piece(value, start, [h for h in hits if h.start < end and h.end > start]))
        start = end
    return tuple(redacted)


def _redact_piece(value: str, offset: int, hits: list[Hit]) -> str:
    pieces: list[str] = []
    position = 0
    for hit in hits:
        hit_start = max(hit.start - offset, 0)
        pieces.append(value[position:hit_start])
        if hit.start >= offset:
            pieces.append(hit.placeholder)
        position = min(hit.end - offset, len(value))
    pieces.append(value[position:])
    return "".join(pieces)
