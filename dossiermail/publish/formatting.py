"""French formatting for the extranet: dates in Europe/Paris, file sizes, safe file names."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")
KIB = 1024
MIB = 1024 * 1024


def paris(moment: datetime) -> datetime:
    """The same instant on Paris's wall clock (CET or CEST)."""
    return moment.astimezone(PARIS)


def fr_datetime(moment: datetime | None) -> str:
    """« 3 mars 2026 à 10:12 », Paris time; « date inconnue » when there is none."""
    if moment is None:
        return "date inconnue"
    local = paris(moment)
    return f"{fr_date(local)} à {local:%H:%M}"


def fr_date(moment: datetime) -> str:
    """« 1er mars 2026 », « 3 mars 2026 », Paris time."""
    local = paris(moment)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day} {MONTHS[local.month - 1]} {local.year}"


def iso_datetime(moment: datetime) -> str:
    """The machine-readable value of a ``<time datetime=…>``, with the Paris offset."""
    return paris(moment).isoformat(timespec="minutes")


def file_size(size: int) -> str:
    """A human size in French units: « 512 octets », « 84 Ko », « 2,4 Mo »."""
    if size < KIB:
        return f"{size} octet" if size <= 1 else f"{size} octets"
    if size < MIB:
        return f"{max(1, round(size / KIB))} Ko"
    return f"{size / MIB:.1f} Mo".replace(".", ",")


def safe_filename(name: str, fallback: str = "dossier") -> str:
    """``name`` reduced to ``[A-Za-z0-9._-]``, never hidden, never empty, never ``..``."""
    cleaned = _UNSAFE_FILENAME_CHARS.sub("_", name).lstrip(".")
    return cleaned or fallback
