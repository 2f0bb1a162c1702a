"""Named people: each listed name is found whatever its accents, case, spacing or word order.

Text and names are folded the same way (accents dropped, case folded, ``œ`` -> ``oe``); when a
name is found, each folded character is traced back to the original one, so the hit covers
exactly what the author wrote (« ÉLODIE MARTIN », « Martin, Élodie », « elodie-martin »).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from dossiermail.redact.hits import Hit

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "’": "'", "ʼ": "'"})
_TOKEN_SPLIT = re.compile(r"[\s\-‐‑–]+")
_GAP = r"[\W_]{1,3}"
"""Between two parts of a name: a space, a hyphen, a comma and space (« Martin, Élodie »)…"""


def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char.translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class _FoldTable(dict[int, str]):
    """``str.translate`` table folding each character, filled on first use of a code point."""

    def __missing__(self, key: int) -> str:
        folded = _fold_char(chr(key))
        self[key] = folded
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """``text`` without accents, case-folded, ligatures spelt out (may change its length)."""
    return text.lower() if text.isascii() else text.translate(_FOLD)


def folded_offsets(text: str) -> list[int]:
    """For each character of ``fold(text)``, the offset of the original character it comes from."""
    offsets: list[int] = []
    for index, char in enumerate(text):
        offsets.extend([index] * len(_FOLD[ord(char)]))
    return offsets


def _orders(tokens: list[str]) -> list[list[str]]:
    """The name as written and surname first (« Martin Élodie », « Dupont Jean Pierre »)."""
    if len(tokens) < 2:
        return [tokens]
    return [tokens, [tokens[-1], *tokens[:-1]]]


def people_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex over folded text matching every writing of every name; None when there are none."""
    variants: set[str] = set()
    for name in names:
        tokens = [t for t in _TOKEN_SPLIT.split(fold(name)) if t]
        for order in _orders(tokens) if tokens else []:
            variants.add(_GAP.join(re.escape(token) for token in order))
    if not variants:
        return None
    alternatives = "|".join(sorted(variants, key=lambda v: (-len(v), v)))
    return re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])")  # "_" counts as a gap


@dataclass(frozen=True)
class PeopleFinder:
    """Finds the people listed in ``redaction.yaml`` (``people:``)."""

    pattern: re.Pattern[str]

    def __call__(self, text: str) -> Iterator[Hit]:
        """Every mention of a listed person, as spans of the original ``text``."""
        folded = fold(text)
        offsets: list[int] | None = None
        for match in self.pattern.finditer(folded):
            if text.isascii():  # lower() keeps every offset
                yield Hit("person", "person", match.start(), match.end())
                continue
            offsets = offsets or folded_offsets(text)
            yield Hit("person", "person", offsets[match.start()], offsets[match.end() - 1] + 1)
