"""Archive reading: .eml, folders, mbox and Maildir, streamed, with non-mail files skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from dossiermail.ingest.archive import ArchiveError, check_paths, read_archive

ONE = b"From: a@example.org\nSubject: un\n\nBonjour\n"


def _mails(paths: list[Path]) -> list[bytes]:
    return [item.mail.raw for item in read_archive(paths) if item.mail is not None]


def test_mbox_is_split_and_from_lines_are_unquoted(tmp_path: Path) -> None:
    mbox = tmp_path / "archive.mbox"
    mbox.write_bytes(
        b"From a@example.org Tue Mar  3 10:00:00 2026\n" + ONE + b"\n"
        b"From b@example.org Tue Mar  3 11:00:00 2026\n"
        b"From: b@example.org\nSubject: deux\n\n>From the roof, water.\n\n"
        b"From c@example.org Tue Mar  3 12:00:00 2026\n"
        b"From: c@example.org\nSubject: trois\n\nFin\n"
    )
    mails = _mails([mbox])
    assert len(mails) == 3
    assert mails[0] == ONE
    assert b"\nFrom the roof, water.\n" in mails[1]
    sources = [i.mail.source for i in read_archive([mbox]) if i.mail]
    assert sources == [f"{mbox}#1", f"{mbox}#2", f"{mbox}#3"]


def test_maildir_reads_cur_and_new_but_not_tmp(tmp_path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "box" / sub).mkdir(parents=True)
    (tmp_path / "box" / "cur" / "1.host:2,S").write_bytes(ONE)
    (tmp_path / "box" / "new" / "2.host").write_bytes(ONE.replace(b"un", b"deux"))
    (tmp_path / "box" / "tmp" / "3.host").write_bytes(b"half written")
    assert len(_mails([tmp_path / "box"])) == 2


def test_eml_with_an_mbox_envelope_line_loses_only_that_line(tmp_path: Path) -> None:
    eml = tmp_path / "m.eml"
    eml.write_bytes(b"From a@example.org Tue Mar  3 10:00:00 2026\n" + ONE)
    assert _mails([eml]) == [ONE]


def test_folders_skip_readmes_and_data_files(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(ONE)
    (tmp_path / "README.md").write_text("not mail")
    (tmp_path / "expected.jsonl").write_text("{}")
    items = list(read_archive([tmp_path]))
    assert [i.mail is not None for i in items].count(True) == 1
    assert sum(1 for i in items if i.skipped) == 2


def test_missing_path_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match=r"nope\.mbox: no such file or directory"):
        check_paths([tmp_path / "nope.mbox"])


def test_mbox_that_does_not_start_with_from_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.mbox"
    bad.write_bytes(b"\x00\x01 not an mbox\n")
    with pytest.raises(ArchiveError, match="not an mbox file"):
        check_paths([bad])
