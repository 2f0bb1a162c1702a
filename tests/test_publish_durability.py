"""A publication is made durable at one point, and the next one repairs what an interrupted one left.

Real files throughout; a crash is simulated by making a write raise mid-publication (fault
injection on ``write_atomically`` / ``write_durably`` as ``static_site`` calls them), and leftovers
are also made by hand (temporary files, truncated pages).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dossiermail.audience import SYNDIC
from dossiermail.extranet.sitetree import SiteTree
from dossiermail.publish import PublishReport, durable, publish_site, static_site
from dossiermail.publish.durable import MARKER, read_marker, site_lock
from dossiermail.rules import empty_rules
from dossiermail.store.models import BuildingRow, DossierRow
from tests.conftest_publish import Mail, Mailroom, open_mailroom

SHARED = ("conseil_syndical", "coproprietaires", "syndic")


class PowerCutError(Exception):
    """The power cut of these tests."""


@pytest.fixture
def mailroom(tmp_path: Path) -> Iterator[Mailroom]:
    with open_mailroom(f"sqlite:///{tmp_path}/t.db") as room:
        yield room


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "site"


def at(day: int) -> datetime:
    return datetime(2026, 3, 1, 9, tzinfo=UTC) + timedelta(days=day - 1)


def publish(mailroom: Mailroom, out: Path, buildings: list[str] | None = None) -> PublishReport:
    return publish_site(mailroom.session, empty_rules(), out, buildings=buildings)


def dossier(mailroom: Mailroom, building: BuildingRow, reference: str, day: int = 2) -> DossierRow:
    row = mailroom.dossier(building, reference, "Fuite")
    mailroom.message(row, Mail(date=at(day), subject=f"Message de {reference}"))
    return row


def crash_after(monkeypatch: pytest.MonkeyPatch, files: int) -> None:
    """Make the publication stop after writing ``files`` files."""
    real = durable.write_atomically
    done: list[Path] = []

    def write(path: Path, content: str | bytes) -> None:
        if len(done) == files:
            raise PowerCutError
        real(path, content)
        done.append(path)

    monkeypatch.setattr(static_site, "write_atomically", write)


def crash_at_the_manifest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the publication stop when it saves its manifest (every page written)."""

    def write(path: Path, content: str | bytes) -> None:
        raise PowerCutError

    monkeypatch.setattr(static_site, "write_durably", write)


def files_under(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}


def test_the_marker_names_the_published_scopes_while_files_are_written_and_is_gone_after(
    mailroom: Mailroom, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dossier(mailroom, mailroom.building("tilleuls"), "DDE-2026-014")
    mailroom.building("platanes")
    real = durable.write_atomically
    seen: list[tuple[str, ...]] = []

    def write(path: Path, content: str | bytes) -> None:
        seen.append(read_marker(out))
        real(path, content)

    monkeypatch.setattr(static_site, "write_atomically", write)
    report = publish(mailroom, out, buildings=["tilleuls"])

    assert len(seen) == len(report.written) > 3
    assert set(seen) == {("tilleuls/",)}
    assert not (out / MARKER).exists()
    assert [p.name for p in out.rglob(".*")] == [".manifest.json"]


def test_a_publication_that_writes_nothing_leaves_no_marker_behind(
    mailroom: Mailroom, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dossier(mailroom, mailroom.building("tilleuls"), "DDE-2026-014")
    publish(mailroom, out)
    monkeypatch.setattr(durable, "write_durably", _forbidden)

    again = publish(mailroom, out)

    assert again.written == again.removed == again.swept == ()
    assert not (out / MARKER).exists()


def _forbidden(path: Path, content: str | bytes) -> None:
    raise AssertionError(f"no marker expected, {path} written")


def test_an_interrupted_publication_leaves_its_marker(
    mailroom: Mailroom, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dossier(mailroom, mailroom.building("tilleuls"), "DDE-2026-014")
    crash_after(monkeypatch, 3)

    with pytest.raises(PowerCutError):
        publish(mailroom, out)

    assert read_marker(out) == ("",)
    assert not (out / static_site.MANIFEST).exists()


def test_after_an_interrupted_publication_pages_the_manifest_never_knew_are_removed(
    mailroom: Mailroom, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tilleuls = mailroom.building("tilleuls")
    dossier(mailroom, tilleuls, "DDE-2026-014")
    publish(mailroom, out)
    new = dossier(mailroom, tilleuls, "DDE-2026-015", day=3)
    with monkeypatch.context() as patch:
        crash_at_the_manifest(patch)
        with pytest.raises(PowerCutError):
            publish(mailroom, out)
    orphans = {f"tilleuls/{audience}/dossiers/DDE-2026-015.html" for audience in SHARED}
    assert orphans <= files_under(out)
    new.reference = "DDE-2026-115"  # the dossier the interrupted run published is gone under that name
    mailroom.session.flush()

    report = publish(mailroom, out)

    assert not orphans & files_under(out)
    assert orphans <= set(report.swept)
    assert all((out / f"tilleuls/{a}/dossiers/DDE-2026-115.html").is_file() for a in SHARED)
    assert "DDE-2026-015.html" not in (out / "tilleuls/coproprietaires/index.html").read_text()
    assert "DDE-2026-015.html" not in (out / "tilleuls/coproprietaires/search.jsonl").read_text()
    assert not (out / MARKER).exists()


def test_after_an_interrupted_publication_temporary_files_are_removed(
    mailroom: Mailroom, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leak = dossier(mailroom, mailroom.building("tilleuls"), "DDE-2026-014")
    publish(mailroom, out)
    with monkeypatch.context() as patch:
        crash_after(patch, 0)
        mailroom.message(leak, Mail(date=at(4), subject="Relance"))
        with pytest.raises(PowerCutError):
            publish(mailroom, out)
    strays = [
        ".style.css.k2x9_0ab.tmp",
        ".manifest.json.q8w7e6r5.tmp",
        "tilleuls/syndic/dossiers/.DDE-2026-014.html.abcd1234.tmp",
        "tilleuls/syndic/pieces/0a1b2c/.devis.pdf.zzzzzzzz.tmp",
    ]
    for stray in strays:
        (out / stray).parent.mkdir(parents=True, exist_ok=True)
        (out / stray).write_bytes(b"<p>moiti")

    report = publish(mailroom, out)

    assert set(strays) <= set(report.swept)
    assert not any(name.endswith(".tmp") for name in files_under(out))
    assert not (out / "tilleuls/syndic/pieces").exists()
    assert "Relance" in (out / "tilleuls/syndic/dossiers/DDE-2026-014.html").read_text()


def test_after_an_interrupted_publication_a_truncated_page_is_written_again_though_the_manifest_matches(
    mailroom: Mailroom, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tilleuls = mailroom.building("tilleuls")
    leak = dossier(mailroom, tilleuls, "DDE-2026-014")
    dossier(mailroom, tilleuls, "TRV-2026-002")
    publish(mailroom, out)
    page = out / "tilleuls/coproprietaires/dossiers/TRV-2026-002.html"
    search = out / "tilleuls/coproprietaires/search.jsonl"
    whole = {path: path.read_bytes() for path in (page, out / "style.css")}
    mailroom.message(leak, Mail(date=at(5), subject="Passage du plombier"))
    with monkeypatch.context() as patch:
        crash_after(patch, 1)
        with pytest.raises(PowerCutError):
            publish(mailroom, out)
    for path in (*whole, search):  # what a power cut can leave of files written without fsync
        path.write_bytes(b"")

    report = publish(mailroom, out)

    assert {path: path.read_bytes() for path in whole} == whole
    lines = [json.loads(line) for line in search.read_text().splitlines()]
    assert sorted(line["dossier"] for line in lines) == ["DDE-2026-014", "DDE-2026-014", "TRV-2026-002"]
    assert "tilleuls/coproprietaires/dossiers/TRV-2026-002.html" in report.written
    assert report.unchanged == 0
    again = publish(mailroom, out)
    assert again.written == ()


def test_a_hand_made_file_is_left_alone_when_no_publication_was_interrupted(
    mailroom: Mailroom, out: Path
) -> None:
    dossier(mailroom, mailroom.building("tilleuls"), "DDE-2026-014")
    publish(mailroom, out)
    (out / "robots.txt").write_text("User-agent: *\nDisallow: /\n")

    report = publish(mailroom, out)

    assert report.swept == ()
    assert (out / "robots.txt").is_file()


def test_an_interrupted_building_stays_distrusted_until_it_is_published_again(
    mailroom: Mailroom, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tilleuls, platanes = mailroom.building("tilleuls"), mailroom.building("platanes")
    leak = dossier(mailroom, tilleuls, "DDE-2026-014")
    dossier(mailroom, tilleuls, "TRV-2026-002")
    dossier(mailroom, platanes, "DDE-2026-001")
    publish(mailroom, out)
    page = out / "tilleuls/syndic/dossiers/DDE-2026-014.html"
    unchanged = out / "tilleuls/syndic/dossiers/TRV-2026-002.html"
    whole = unchanged.read_bytes()
    mailroom.message(leak, Mail(date=at(6), subject="Relance"))
    with monkeypatch.context() as patch:
        crash_at_the_manifest(patch)
        with pytest.raises(PowerCutError):
            publish(mailroom, out, buildings=["tilleuls"])
    page.write_bytes(b"")
    unchanged.write_bytes(b"")
    (out / "tilleuls/syndic/dossiers/ORPHELIN.html").write_text("pas dans le manifeste")

    other = publish(mailroom, out, buildings=["platanes"])

    assert all(path.startswith(("platanes/", "style.css")) for path in other.written)
    assert other.swept == ("tilleuls/syndic/dossiers/ORPHELIN.html",)
    assert read_marker(out) == ("tilleuls/",)
    assert page.read_bytes() == unchanged.read_bytes() == b""  # tilleuls not published: not repaired yet

    report = publish(mailroom, out, buildings=["tilleuls"])

    assert "tilleuls/syndic/dossiers/DDE-2026-014.html" in report.written
    assert "Relance" in page.read_text()
    assert unchanged.read_bytes() == whole
    assert not (out / MARKER).exists()


def test_an_unreadable_marker_distrusts_the_whole_site(tmp_path: Path) -> None:
    (tmp_path / MARKER).write_bytes(b"\x00\x00")
    assert read_marker(tmp_path) == ("",)
    (tmp_path / MARKER).write_text(json.dumps({"scopes": ["a/", "b/syndic/"]}))
    assert read_marker(tmp_path) == ("a/", "b/syndic/")
    (tmp_path / MARKER).unlink()
    assert read_marker(tmp_path) == ()


class Syncs:
    """Counts ``os.fsync`` calls (with the path of each descriptor) and ``syncfs`` calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fsynced: list[str] = []
        self.syncfs = 0
        real_fsync, real_syncfs = os.fsync, durable.syncfs

        def fsync(fd: int) -> None:
            self.fsynced.append(str(Path(f"/proc/self/fd/{fd}").readlink()))
            real_fsync(fd)

        def syncfs(folder: Path) -> bool:
            self.syncfs += 1
            return real_syncfs(folder)

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(durable, "syncfs", syncfs)

    def reset(self) -> None:
        self.fsynced.clear()
        self.syncfs = 0


def many_dossiers(mailroom: Mailroom, count: int) -> list[DossierRow]:
    building = mailroom.building("tilleuls")
    return [dossier(mailroom, building, f"DDE-2026-{number:03d}") for number in range(count)]


def _stem(path: str) -> str:
    """``manifest`` for ``…/..manifest.json.k2x9_0ab.tmp``."""
    return Path(path).name.lstrip(".").split(".")[0]


needs_proc = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")


@needs_proc
def test_a_publication_syncs_its_file_system_once_and_fsyncs_a_constant_number_of_times(
    mailroom: Mailroom, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dossiers = many_dossiers(mailroom, 40)
    out.mkdir()
    syncs = Syncs(monkeypatch)

    first = publish(mailroom, out)

    assert len(first.written) > 120
    assert syncs.syncfs == 1
    kinds = sorted("site" if path == str(out) else _stem(path) for path in syncs.fsynced)
    assert kinds == ["manifest", "publishing", "site", "site", "site"]  # the temporary files, then renamed

    syncs.reset()
    for row in dossiers[:20]:
        mailroom.message(row, Mail(date=at(9), subject="Relance"))
    second = publish(mailroom, out)

    assert len(second.written) > 60
    assert (syncs.syncfs, len(syncs.fsynced)) == (1, 5)

    syncs.reset()
    assert publish(mailroom, out).written == ()
    assert (syncs.syncfs, len(syncs.fsynced)) == (0, 2)  # the manifest and its folder


@needs_proc
def test_without_syncfs_every_written_file_and_its_folders_are_synced_once(
    mailroom: Mailroom, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_dossiers(mailroom, 5)
    out.mkdir()
    monkeypatch.setattr(durable, "_libc_syncfs", lambda: None)
    syncs = Syncs(monkeypatch)

    report = publish(mailroom, out)

    assert syncs.syncfs == 1
    written = [str(out / path) for path in report.written]
    folders = {
        str(parent) for path in report.written for parent in (out / path).parents if out in parent.parents
    }
    assert Counter(syncs.fsynced) >= Counter([*written, *folders])
    assert len(syncs.fsynced) == len(written) + len(folders) + 1 + 5  # the root, and as above


@pytest.mark.skipif(sys.platform != "linux", reason="syncfs(2) is Linux's")
def test_syncfs_is_found_in_libc_here(tmp_path: Path) -> None:
    assert durable.syncfs(tmp_path)


def failing_syncfs(code: int) -> Callable[[], Callable[[int], int]]:
    """A libc ``syncfs`` that fails with ``code``."""

    def call(fd: int) -> int:
        ctypes.set_errno(code)
        return -1

    return lambda: call


@needs_proc
def test_a_syncfs_the_kernel_refuses_falls_back_to_syncing_each_file(
    mailroom: Mailroom, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_dossiers(mailroom, 2)
    monkeypatch.setattr(durable, "_libc_syncfs", failing_syncfs(errno.ENOSYS))
    syncs = Syncs(monkeypatch)

    report = publish(mailroom, out)

    assert {str(out / path) for path in report.written} <= set(syncs.fsynced)
    assert not (out / MARKER).exists()


def test_a_write_error_syncfs_reports_fails_the_publication_and_keeps_the_marker(
    mailroom: Mailroom, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_dossiers(mailroom, 2)
    monkeypatch.setattr(durable, "_libc_syncfs", failing_syncfs(errno.EIO))

    with pytest.raises(OSError, match="syncfs") as failed:
        publish(mailroom, out)

    assert failed.value.errno == errno.EIO
    assert read_marker(out) == ("",)
    assert not (out / static_site.MANIFEST).exists()


def test_one_publication_at_a_time_writes_a_site(tmp_path: Path) -> None:
    events: list[str] = []
    holding = threading.Event()

    def hold(name: str, ready: Callable[[], None]) -> None:
        with site_lock(tmp_path / "site"):
            events.append(f"{name} in")
            ready()
            time.sleep(0.3)
            events.append(f"{name} out")

    first = threading.Thread(target=hold, args=("a", holding.set))
    first.start()
    holding.wait(5)
    second = threading.Thread(target=hold, args=("b", lambda: None))
    second.start()
    first.join(5)
    second.join(5)

    assert events == ["a in", "a out", "b in", "b out"]


def test_the_extranet_serves_neither_the_marker_nor_a_temporary_file(tmp_path: Path) -> None:
    syndic = tmp_path / "tilleuls" / "syndic"
    page, piece = "dossiers/DDE-2026-014.html", "pieces/0a1b/devis.pdf"
    strays = ("dossiers/.DDE-2026-014.html.abcd1234.tmp", "pieces/0a1b/.devis.pdf.zzzzzzzz.tmp")
    for path in (page, piece, *strays):
        (syndic / path).parent.mkdir(parents=True, exist_ok=True)
        (syndic / path).write_text("une page")
    (tmp_path / MARKER).write_text('{"scopes": [""]}')
    tree = SiteTree(tmp_path)

    assert tree.page("tilleuls", SYNDIC, page) == (syndic / page).resolve()
    assert tree.page("tilleuls", SYNDIC, piece) == (syndic / piece).resolve()
    for rest in (*strays, "../../.publishing", "../.publishing"):
        assert tree.page("tilleuls", SYNDIC, rest) is None
