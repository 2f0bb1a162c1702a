"""Writing the site's files, and making one publication durable at a single point.

Every file is written through a temporary file and a rename (``write_atomically``): a reader sees
the old file or the new one, never half of one. Files are not synced one by one (an ``fsync`` per
file forces a journal commit each time); a publication is made durable at one point instead:

1. before its first change to the site, ``OUT/.publishing`` is written and synced (with its folder):
   it names the scopes (``<building>/``, ``<building>/<audience>/``, or ``""`` for the whole site)
   being published;
2. the pages are written and stale ones removed, unsynced;
3. ``SiteChanges.flush`` makes all of that durable: ``syncfs(2)`` of the site's file system, or
   where there is none, an ``fsync`` of each written file and of the folders it changed;
4. the manifest is written and synced (``write_durably``), then the marker is removed.

A marker found at the start means a publication stopped before its end: anything it touched in its
scopes may be half-written, absent from the manifest or newer than it. The next publication
distrusts those scopes (see ``SiteChanges.distrusts``) until one covering them succeeds. One
publication at a time writes a site: ``site_lock`` holds an ``flock`` on the folder itself.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

MARKER = ".publishing"
"""``OUT/.publishing``: the scopes of a publication under way, or of one that stopped before its end."""
_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
"""The names ``tempfile.mkstemp`` gives ``write_atomically``'s temporary files."""
_UNAVAILABLE = frozenset({errno.ENOSYS, errno.EPERM})
"""What ``syncfs`` fails with where the kernel or a seccomp sandbox does not offer it."""


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file and a rename: never half a file.

    Not synced: a publication makes its files durable at once (``SiteChanges.flush``).
    """
    _write(path, content, durable=False)


def write_durably(path: Path, content: str | bytes) -> None:
    """``write_atomically``, with the file synced before the rename and its folder after."""
    _write(path, content, durable=True)


def _write(path: Path, content: str | bytes, *, durable: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        Path(temporary).chmod(0o644)
        os.replace(temporary, path)  # noqa: PTH105 - the atomic rename is the point
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if durable:
        fsync_folder(path.parent)


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file ``write_atomically`` may have left behind."""
    return _TEMPORARY.fullmatch(name) is not None


def fsync_folder(folder: Path) -> None:
    """Sync a folder's entries (a rename or removal in it survives a power cut)."""
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _fsync_file(path: Path) -> None:
    try:
        handle = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


@lru_cache(maxsize=1)
def _libc_syncfs() -> Callable[[int], int] | None:
    """libc's ``syncfs``, or ``None`` where there is none (not Linux)."""
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (AttributeError, OSError, TypeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    call: Callable[[int], int] = function
    return call


def syncfs(folder: Path) -> bool:
    """Write out every change to the file system holding ``folder``; False when there is no ``syncfs``
    here (not Linux, or refused by a sandbox).

    A write error it reports (``EIO``, ``ENOSPC``…) raises ``OSError``: syncing each file afterwards
    would not see it again (the kernel reports a write-back error once), so there is no fallback.
    """
    call = _libc_syncfs()
    if call is None:
        return False
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if call(handle) == 0:
            return True
    finally:
        os.close(handle)
    code = ctypes.get_errno()
    if code in _UNAVAILABLE:
        return False
    raise OSError(code, f"syncfs: {os.strerror(code)}", str(folder))


@contextmanager
def site_lock(out_dir: Path) -> Iterator[None]:
    """Create ``out_dir`` if needed and hold an exclusive ``flock`` on it: one publication at a time."""
    created = not out_dir.is_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    if created:
        fsync_folder(out_dir.parent)
    handle = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def read_marker(out_dir: Path) -> tuple[str, ...]:
    """The scopes an unfinished publication left in the marker; ``("",)`` (the whole site) when it is
    unreadable; nothing when there is no marker."""
    try:
        text = (out_dir / MARKER).read_text("utf-8")
    except FileNotFoundError:
        return ()
    except (OSError, ValueError):
        return ("",)
    try:
        scopes = json.loads(text)["scopes"]
        return tuple(str(scope) for scope in scopes) or ("",)
    except (ValueError, KeyError, TypeError):
        return ("",)


def covered(scope: str, scopes: Sequence[str]) -> bool:
    """Whether publishing ``scopes`` publishes everything under ``scope``."""
    return scope.startswith(tuple(scopes))


@dataclass
class SiteChanges:
    """The changes one publication makes to a site, announced by the marker before the first one and
    made durable at one point.

    ``interrupted`` holds the scopes of publications that stopped before their end (read from the
    marker): their files are distrusted, and the marker keeps naming those this one does not cover.
    """

    out_dir: Path
    scopes: tuple[str, ...]
    interrupted: tuple[str, ...] = ()
    started: bool = False
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)

    @classmethod
    def open(cls, out_dir: Path, scopes: Sequence[str]) -> SiteChanges:
        """The changes of a publication of ``scopes`` about to start (the site lock held)."""
        return cls(out_dir, tuple(scopes), read_marker(out_dir))

    def distrusts(self, path: str) -> bool:
        """Whether an unfinished publication may have touched ``path`` (relative to ``out_dir``):
        a file in its scopes, or at the root of the site (every publication writes the stylesheet)."""
        return bool(self.interrupted) and ("/" not in path or covered(path, self.interrupted))

    def begin(self) -> None:
        """Announce the publication (durably) before its first change to the site."""
        if not self.started:
            scopes = sorted({*self.interrupted, *self.scopes})
            write_durably(self.out_dir / MARKER, _marker_text(scopes))
            self.started = True

    def flush(self) -> None:
        """Make every change so far durable: one ``syncfs``, or each file and folder synced."""
        if not (self.started or self.interrupted) or syncfs(self.out_dir):
            return
        for path in self.written:
            _fsync_file(path)
        folders = {folder for path in self.written for folder in _folders_up_to(path.parent, self.out_dir)}
        folders.update(_existing(path.parent, self.out_dir) for path in self.removed)
        for folder in sorted(folders):
            fsync_folder(folder)

    def finish(self) -> None:
        """After the manifest is saved: drop the marker, or keep in it the interrupted scopes this
        publication did not cover."""
        left = tuple(scope for scope in self.interrupted if not covered(scope, self.scopes))
        if left:
            if self.started or left != self.interrupted:
                write_durably(self.out_dir / MARKER, _marker_text(left))
        elif self.started or self.interrupted:
            (self.out_dir / MARKER).unlink(missing_ok=True)
            fsync_folder(self.out_dir)


def _marker_text(scopes: Sequence[str]) -> str:
    note = "a publication of these scopes ('' = the whole site) started and has not finished"
    return json.dumps({"scopes": list(scopes), "note": note}, ensure_ascii=False) + "\n"


def _folders_up_to(folder: Path, root: Path) -> Iterator[Path]:
    """``folder`` and its parents up to ``root`` (new folders need their entry synced too)."""
    while folder != root and folder.is_relative_to(root):
        yield folder
        folder = folder.parent
    yield root


def _existing(folder: Path, root: Path) -> Path:
    """``folder``, or its nearest parent still there (emptied folders are removed: their parent changed)."""
    while folder != root and not folder.is_dir():
        folder = folder.parent
    return folder


def leftovers(out_dir: Path, scopes: Sequence[str], known: Callable[[str], bool]) -> list[str]:
    """Files under ``scopes`` that ``known`` does not claim, and temporary files at the root of the site
    (paths relative to ``out_dir``); never the marker (``known`` must claim the manifest)."""
    found: set[str] = {entry.name for entry in out_dir.iterdir() if is_temporary(entry.name)}
    for scope in scopes:
        top = out_dir / scope
        for folder, _, names in os.walk(top) if top.is_dir() else ():
            base = Path(folder).relative_to(out_dir).as_posix()
            found.update(name if base == "." else f"{base}/{name}" for name in names)
    return sorted(path for path in found if not known(path) and path != MARKER)
