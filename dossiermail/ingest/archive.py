"""Reading archives: single .eml files, folders of them, mbox files and Maildirs, one message at a time.

Nothing here holds more than one message in memory: mbox files are split while they are read line by
line, folders are walked lazily. Files that are obviously not mail (README, JSON, YAML, images…) are
skipped and counted, never imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from dossiermail.domain import RawMail

NOT_MAIL_SUFFIXES = frozenset(
    {
        ".json", ".jsonl", ".md", ".rst", ".py", ".sh", ".yaml", ".yml", ".toml", ".ini",
        ".cfg", ".pdf", ".jpg", ".jpeg", ".png", ".gif", ".svg", ".zip", ".gz", ".tar", ".csv",
    }
)  # fmt: skip
NOT_MAIL_NAMES = ("readme", "license", "licence", "copying", "changelog")
MBOX_SUFFIXES = frozenset({".mbox", ".mbx"})
_MBOX_FROM = re.compile(rb"^From \S")
_QUOTED_FROM = re.compile(rb"^>(>*From )")


class ArchiveError(Exception):
    """An archive path cannot be read; the message is one line naming the path."""


@dataclass(frozen=True)
class ArchiveItem:
    """One message read from an archive, or a skipped file (``mail`` None), with its size in bytes."""

    mail: RawMail | None
    size: int
    skipped: str | None = None


def total_bytes(paths: list[Path]) -> int:
    """Sum of the sizes of every file under ``paths`` (for a progress bar's total)."""
    total = 0
    for path in paths:
        total += sum(f.stat().st_size for f in _files(path))
    return total


def check_paths(paths: list[Path]) -> None:
    """Raise ArchiveError for the first path that does not exist or cannot be read."""
    for path in paths:
        if not path.exists():
            raise ArchiveError(f"{path}: no such file or directory")
        if path.is_file() and path.suffix.lower() in MBOX_SUFFIXES and not _starts_like_mbox(path):
            raise ArchiveError(f"{path}: not an mbox file (it does not start with a 'From ' line)")


def read_archive(paths: list[Path], *, now: datetime | None = None) -> Iterator[ArchiveItem]:
    """Every message under ``paths``, in a stable order (sorted names), streaming."""
    received = now or datetime.now(UTC)
    for path in paths:
        for file in _files(path):
            yield from _read_file(file, received)


def _files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for child in sorted(path.iterdir()):
        if child.name.startswith(".") or (child.name == "tmp" and _is_maildir(path)):
            continue
        if child.is_dir():
            yield from _files(child)
        elif child.is_file():
            yield child


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _not_mail(file: Path) -> bool:
    name = file.name.lower()
    return file.suffix.lower() in NOT_MAIL_SUFFIXES or name.startswith(NOT_MAIL_NAMES)


def _starts_like_mbox(file: Path) -> bool:
    with file.open("rb") as handle:
        return bool(_MBOX_FROM.match(handle.readline()))


def _read_file(file: Path, received: datetime) -> Iterator[ArchiveItem]:
    size = file.stat().st_size
    if _not_mail(file):
        yield ArchiveItem(None, size, skipped=f"{file}: not a mail file")
        return
    if _looks_like_mbox(file):
        yield from _read_mbox(file, received)
        return
    raw = file.read_bytes()
    if _MBOX_FROM.match(raw):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    yield ArchiveItem(RawMail(raw, "import", str(file), received), size)


def _looks_like_mbox(file: Path) -> bool:
    """mbox by suffix, or a suffix-less file holding several ``From `` separated messages."""
    if file.suffix.lower() in MBOX_SUFFIXES:
        return True
    if file.suffix.lower() == ".eml" or not _starts_like_mbox(file):
        return False
    with file.open("rb") as handle:
        handle.readline()
        previous_blank = False
        for line in handle:
            if previous_blank and _MBOX_FROM.match(line):
                return True
            previous_blank = not line.strip()
    return False


def _read_mbox(file: Path, received: datetime) -> Iterator[ArchiveItem]:
    with file.open("rb") as handle:
        for index, raw, size in _split_mbox(handle):
            yield ArchiveItem(RawMail(raw, "import", f"{file}#{index}", received), size)


def _split_mbox(handle: BinaryIO) -> Iterator[tuple[int, bytes, int]]:
    """(1-based index, message bytes, bytes consumed) for each message of an mbox stream."""
    lines: list[bytes] = []
    consumed = 0
    index = 0
    previous_blank = True
    for line in handle:
        if previous_blank and _MBOX_FROM.match(line):
            if index:
                yield index, _mbox_message(lines), consumed
            index, lines, consumed = index + 1, [], 0
        else:
            lines.append(_QUOTED_FROM.sub(rb"\1", line))
        consumed += len(line)
        previous_blank = not line.strip()
    if index:
        yield index, _mbox_message(lines), consumed


def _mbox_message(lines: list[bytes]) -> bytes:
    """Join a message's lines, dropping the blank separator line before the next ``From ``."""
    if lines and not lines[-1].strip():
        lines = lines[:-1]
    return b"".join(lines)
