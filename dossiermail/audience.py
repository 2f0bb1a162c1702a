"""Who reads a page of the extranet: the syndic, the conseil syndical, all co-owners, or one lot's owner.

An audience is part of every published path (``<building>/<audience.slug>/…``) and of every access link,
so its spelling is fixed here: ``syndic``, ``conseil_syndical``, ``coproprietaires``, ``lot:<n>``
(slug ``lot-<n>``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

AudienceKind = Literal["syndic", "conseil_syndical", "coproprietaires", "lot"]

AUDIENCE_KINDS: tuple[AudienceKind, ...] = ("syndic", "conseil_syndical", "coproprietaires", "lot")
_LOT = re.compile(r"lot[:-](?P<lot>[1-9]\d{0,5})")


class AudienceError(ValueError):
    """An audience name that is not one of the four kinds (message names the bad value)."""


@dataclass(frozen=True, order=True)
class Audience:
    """One audience; ``lot`` is set only for the ``lot`` kind."""

    kind: AudienceKind
    lot: int | None = None

    def __post_init__(self) -> None:
        if (self.kind == "lot") != (self.lot is not None):
            raise AudienceError(f"audience {self.kind!r}: a lot number goes with the 'lot' kind only")

    @property
    def name(self) -> str:
        """How admins write it: ``syndic``, ``lot:12``."""
        return f"lot:{self.lot}" if self.kind == "lot" else self.kind

    @property
    def slug(self) -> str:
        """How paths spell it: ``syndic``, ``lot-12``."""
        return f"lot-{self.lot}" if self.kind == "lot" else self.kind

    def __str__(self) -> str:
        return self.name


SYNDIC = Audience("syndic")
CONSEIL_SYNDICAL = Audience("conseil_syndical")
COPROPRIETAIRES = Audience("coproprietaires")


def parse_audience(text: str) -> Audience:
    """``syndic`` | ``conseil_syndical`` | ``coproprietaires`` | ``lot:<n>`` (or the slug ``lot-<n>``)."""
    value = text.strip()
    for kind in AUDIENCE_KINDS[:3]:
        if value == kind or value == kind.replace("_", "-"):
            return Audience(kind)
    match = _LOT.fullmatch(value)
    if match:
        return Audience("lot", int(match["lot"]))
    raise AudienceError(
        f"unknown audience {text!r}: expected syndic, conseil_syndical, coproprietaires or lot:<n>"
    )
