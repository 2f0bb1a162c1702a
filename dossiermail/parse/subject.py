"""Subject normalisation for matching: the same conversation has the same normalised subject.

``"RE : TR: [EXT] Fuite d'eau – Bât. B"`` and ``"Fuite d'eau bât B"`` both become
``"fuite d eau bat b"``. Used by the fuzzy-subject evidence of the router.
"""

from __future__ import annotations

import re
import unicodedata

# Reply/forward prefixes, French first, matched after accents are stripped and lower-cased.
_PREFIXES = (
    r"reponse automatique",
    r"automatic reply",
    r"re",
    r"tr",
    r"fwd?",
    r"fw",
    r"ref",
    r"aw",
    r"wg",
)
# "RE:", "Re :", "RE[2]:", "Fwd :", "Réf :"; repeated prefixes are removed in a loop.
_PREFIX = re.compile(
    r"^\s*(?:" + "|".join(_PREFIXES) + r")\s*(?:\[\d+\]|\(\d+\))?\s*:\s*",
)
_TAG = re.compile(r"\[[^\[\]]*\]")
_PUNCTUATION = re.compile(r"[^\w]+")


def strip_accents(text: str) -> str:
    """``"Réf. état"`` -> ``"Ref. etat"``; also folds ligatures such as œ."""
    if text.isascii():  # nothing to fold; routing folds every candidate's text, mostly ASCII
        return text
    decomposed = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "OE"))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _strip_prefixes_and_tags(text: str) -> str:
    """Remove leading reply/forward prefixes and every ``[...]`` tag until nothing changes."""
    previous = None
    while previous != text:
        previous = text
        text = _TAG.sub(" ", text)
        text = _PREFIX.sub("", text)
    return text


def normalize_subject(subject: str) -> str:
    """Lower-case, accent-free subject without reply prefixes, tags or punctuation."""
    text = strip_accents(subject).lower()
    text = _strip_prefixes_and_tags(text)
    return " ".join(_PUNCTUATION.sub(" ", text).replace("_", " ").split())
