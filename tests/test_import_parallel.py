"""Parsing on worker processes during an import (``jobs`` > 1), with real processes and stores.

The reference is the same import parsed in the importing process (``jobs=1``): same states, same
quarantine reasons, same parses, same routing outcomes; a worker killed mid-import loses nothing.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlalchemy import Row, select

from dossiermail.commands.common import CliError
from dossiermail.commands.importing import JOBS_ENV, import_jobs
from dossiermail.ingest import importer
from dossiermail.ingest.importer import ImportOptions, ImportSummary, run_import
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.parse import ParseError, parse_message, pool
from dossiermail.parse.pool import (
    ParseJob,
    ParseOutcome,
    ParsePool,
    ParseRefusal,
    chunks,
    default_jobs,
)
from dossiermail.rules import empty_rules
from dossiermail.store import Store, open_store
from dossiermail.store.models import DecisionRow, ParsedRow, QuarantineRow, RawMessage
from tests.conftest import CORPORA, SAMPLES

HOSTILE = CORPORA / "hostile"
Snapshot = dict[str, tuple[object, ...]]


def _import(store: Store, paths: list[Path], jobs: int, **hooks: object) -> ImportSummary:
    options = ImportOptions(RouteOptions(empty_rules()), building="bench", auto_dossiers=True, jobs=jobs)
    return run_import(store, paths, options, **hooks)  # type: ignore[arg-type]


def _snapshot(store: Store) -> Snapshot:
    """Per message: state, quarantine reason, what was parsed, the current routing outcome."""
    with store.session() as session:
        states = _pairs(session.execute(select(RawMessage.key, RawMessage.state)))
        reasons = _pairs(session.execute(select(QuarantineRow.message_key, QuarantineRow.reason)))
        parsed = {
            row.message_key: (row.message_id, row.subject, row.from_email, row.new_text, row.signature)
            for row in session.scalars(select(ParsedRow))
        }
        current = select(DecisionRow.message_key, DecisionRow.outcome).where(
            DecisionRow.superseded_at.is_(None)
        )
        outcomes = _pairs(session.execute(current))
    return {
        key: (state, reasons.get(key), parsed.get(key), outcomes.get(key)) for key, state in states.items()
    }


def _pairs(rows: Iterable[Row[str, str]]) -> dict[str, str]:
    return {key: value for key, value in rows}


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 25 messages, the pool used whatever the archive's size, chunks of 10 messages:
    several batches and chunks are in flight at once."""
    monkeypatch.setattr(importer, "BATCH_MESSAGES", 25)
    monkeypatch.setattr(importer, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(pool, "CHUNK_MESSAGES", 10)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Samples and the hostile corpus (72 of its files hold NUL bytes, which PostgreSQL refuses in
    text: bodies show them as U+FFFD)."""
    folder = tmp_path_factory.mktemp("hostile")
    for number, path in enumerate(sorted(p for p in HOSTILE.rglob("*") if p.is_file())):
        (folder / f"{number:04d}-{path.name}").write_bytes(path.read_bytes())
    return [SAMPLES, folder]


@pytest.fixture
def reference(tmp_path: Path, corpus: list[Path], small_batches: None) -> tuple[ImportSummary, Snapshot]:
    """The corpus imported with every parse made in the importing process."""
    store = open_store(f"sqlite:///{tmp_path}/reference.db")
    try:
        summary = _import(store, corpus, jobs=1)
        return summary, _snapshot(store)
    finally:
        store.dispose()


def test_worker_processes_store_what_parsing_here_stores(
    store: Store, corpus: list[Path], reference: tuple[ImportSummary, Snapshot]
) -> None:
    expected_summary, expected = reference
    summary = _import(store, corpus, jobs=3)
    assert summary.as_dict() == expected_summary.as_dict()
    assert _snapshot(store) == expected
    states = {state for state, *_ in expected.values()}
    assert states == {"routed", "quarantined"}, "the corpus should exercise both parses and refusals"


def test_a_parse_worker_killed_mid_import_loses_no_message(
    sqlite_url: str,
    corpus: list[Path],
    reference: tuple[ImportSummary, Snapshot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    expected_summary, expected = reference
    read = [0]

    def kill_a_worker(_size: int) -> None:
        read[0] += 1
        if read[0] == 120:
            for child in multiprocessing.active_children():
                os.kill(child.pid or 0, signal.SIGKILL)

    store = open_store(sqlite_url)
    try:
        with caplog.at_level(logging.WARNING, logger="dossiermail.ingest.importer"):
            summary = _import(store, corpus, jobs=2, on_read=kill_a_worker)
        assert "a parse worker died" in caplog.text
        assert summary.as_dict() == expected_summary.as_dict()
        assert _snapshot(store) == expected
    finally:
        store.dispose()


def test_a_refusal_on_a_worker_carries_the_parsers_one_line_reason() -> None:
    jobs = [ParseJob("not-mail", b"\x00\x01 no header at all\n"), ParseJob("empty", b"")]
    with ParsePool(1) as parsers:
        outcomes = [outcome for chunk in [*parsers.submit(jobs), *parsers.drain()] for outcome in chunk]
    for job, outcome in zip(jobs, outcomes, strict=True):
        with pytest.raises(ParseError) as refused:
            parse_message(job.raw, job.message_key)
        assert outcome == ParseRefusal(job.message_key, refused.value.reason)


def test_the_pool_holds_a_bounded_amount_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "IN_FLIGHT_BYTES", 1)  # the bound is then one chunk a worker, plus one
    monkeypatch.setattr(pool, "CHUNK_MESSAGES", 2)
    batch = [ParseJob(path.name, path.read_bytes()) for path in sorted(SAMPLES.glob("*.eml"))[:6]]
    back: list[list[ParseOutcome]] = []
    with ParsePool(1) as parsers:
        for submitted in range(1, 5):
            back += parsers.submit(batch)
            assert 3 * submitted - len(back) <= 2
        back += parsers.drain()
    assert [len(chunk) for chunk in back] == [2] * 12
    expected = [parse_message(job.raw, job.message_key) for job in batch]
    assert [outcome for chunk in back for outcome in chunk] == expected * 4


def test_chunks_keep_the_order_and_put_a_large_message_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "CHUNK_BYTES", 100)
    monkeypatch.setattr(pool, "CHUNK_MESSAGES", 3)
    sizes = [10, 10, 10, 10, 500, 30, 60, 20, 5]
    jobs = [ParseJob(str(number), b"x" * size) for number, size in enumerate(sizes)]
    found = [[int(job.message_key) for job in chunk] for chunk in chunks(jobs)]
    assert found == [[0, 1, 2], [3], [4], [5, 6], [7, 8]]


def test_jobs_come_from_the_option_then_the_environment_then_the_cpus() -> None:
    assert import_jobs(3, {JOBS_ENV: "2"}) == 3
    assert import_jobs(None, {JOBS_ENV: " 2 "}) == 2
    assert import_jobs(None, {}) == default_jobs()
    assert default_jobs() == min(2, len(os.sched_getaffinity(0)))
    for wrong in ("0", "two", "-1"):
        with pytest.raises(CliError, match=JOBS_ENV):
            import_jobs(None, {JOBS_ENV: wrong})
    with pytest.raises(CliError, match="--jobs"):
        import_jobs(0)
