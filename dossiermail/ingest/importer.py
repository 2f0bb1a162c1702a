"""Importing archives: accept every message (raw bytes committed first), parse it, then route all.

Messages are read one at a time and committed in small batches bounded by count and bytes, so a
10-year mbox never sits in memory. With ``jobs`` above 1 a batch, once committed, is parsed on
worker processes (``ParsePool``) while this process reads and commits the next ones, and its
parses are stored when they come back; an archive under ``POOL_MIN_BYTES`` is parsed here.
Routing runs after the whole archive is stored, in date order, so replies usually find their
parents; healing covers the rest. With a job queue (a broker is configured) each batch commits
the raw bytes with one parse step per new message, then sends the steps to the workers instead of
processing them here.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from dossiermail.domain import RawMail
from dossiermail.ingest.accept import accept
from dossiermail.ingest.archive import ArchiveItem, read_archive, total_bytes
from dossiermail.jobs.broker import JobQueue
from dossiermail.jobs.outbox import add_step
from dossiermail.jobs.pipeline import RouteOptions, outcomes_of, process_pending, record_parses
from dossiermail.parse.pool import ParseJob, ParseOutcome, ParsePool, ParsePoolError, parse_batch
from dossiermail.store import Store
from dossiermail.store.repo import ensure_building, sync_rules

_log = logging.getLogger(__name__)

BATCH_MESSAGES = 200
# 8 MB: a batch is held in memory while its messages are parsed; 32 MB cost 35 MB more peak RSS on the
# 500 MB archive bench (docs/performance.md) for no measurable speed.
BATCH_BYTES = 8 * 1024 * 1024
POOL_MIN_BYTES = 4 * 1024 * 1024
"""Smaller archives are parsed here: a worker takes about half a second to start, more than parsing
the 320 messages (1.1 MB) of the notmuch corpus (docs/performance.md)."""


@dataclass(frozen=True)
class ImportOptions:
    """What the admin asked for on the command line."""

    route: RouteOptions
    building: str | None = None
    auto_dossiers: bool = False
    queue: JobQueue | None = None
    jobs: int = 1
    """Processes the import uses: 1 parses here; N parses on N - 1 worker processes meanwhile."""


@dataclass
class ImportSummary:
    """The closing numbers of an import."""

    read: int = 0
    imported: int = 0
    duplicates: int = 0
    skipped_files: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    healed: int = 0
    building_created: bool = False
    queued: int = 0
    parse_workers: int = 0
    """Worker processes that parsed during the import (0: all parsed in the importing process)."""
    store_seconds: float = 0.0
    """Wall time spent reading, storing and parsing (left out of ``as_dict``: it varies by run)."""
    route_seconds: float = 0.0
    """Wall time spent routing after the archive was stored (0 with a job queue)."""

    def as_dict(self) -> dict[str, object]:
        """The summary as plain data (for ``--json``)."""
        return {
            "read": self.read,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "assigned": self.outcomes["assigned"],
            "needs_review": self.outcomes["needs_review"],
            "ignored": self.outcomes["ignored"],
            "quarantined": self.outcomes["quarantined"],
            "skipped_files": len(self.skipped_files),
        }


@dataclass
class _Batch:
    mails: list[RawMail] = field(default_factory=list)
    size: int = 0

    def full(self) -> bool:
        return len(self.mails) >= BATCH_MESSAGES or self.size >= BATCH_BYTES


ReadProgress = Callable[[int], None]
StepProgress = Callable[[str, int, int], None]


def run_import(
    store: Store,
    paths: list[Path],
    options: ImportOptions,
    *,
    on_read: ReadProgress | None = None,
    on_step: StepProgress | None = None,
) -> ImportSummary:
    """Import every message under ``paths`` and route them; never loses one."""
    summary = ImportSummary()
    with store.session() as session:
        sync_rules(session, options.route.rules)
        if options.building:
            summary.building_created = ensure_building(session, options.building)
    new_keys: list[str] = []
    started = time.perf_counter()
    workers = options.jobs - 1 if options.jobs > 1 and total_bytes(paths) >= POOL_MIN_BYTES else 0
    with _Parsing(store, workers) as parsing:
        batch = _Batch()
        for item in read_archive(paths):
            _take(item, batch, summary)
            if batch.full():
                new_keys += _store_batch(store, batch, options, summary, parsing, last=False)
                batch = _Batch()
            if on_read:
                on_read(item.size)
        new_keys += _store_batch(store, batch, options, summary, parsing, last=True)
        parsing.finish()
        summary.parse_workers = parsing.started
    summary.store_seconds = time.perf_counter() - started
    if options.queue is None:
        summary.healed = process_pending(store, options.route, on_step=on_step).healed
        summary.route_seconds = time.perf_counter() - started - summary.store_seconds
    with store.session() as session:
        summary.outcomes = outcomes_of(session, new_keys)
    return summary


def _take(item: ArchiveItem, batch: _Batch, summary: ImportSummary) -> None:
    if item.mail is None:
        summary.skipped_files.append(item.skipped or "skipped")
        return
    summary.read += 1
    batch.mails.append(item.mail)
    batch.size += len(item.mail.raw)


def _store_batch(
    store: Store,
    batch: _Batch,
    options: ImportOptions,
    summary: ImportSummary,
    parsing: _Parsing,
    *,
    last: bool,
) -> list[str]:
    """Commit the batch's raw bytes, then have the new ones parsed; returns their keys."""
    fresh: list[ParseJob] = []
    with store.session() as session:
        for mail in batch.mails:
            result = accept(
                session, mail, forced_building=options.building, auto_dossiers=options.auto_dossiers
            )
            if result.duplicate:
                summary.duplicates += 1
                continue
            summary.imported += 1
            fresh.append(ParseJob(result.message_key, mail.raw, mail.envelope_to))
            if options.queue is not None:
                add_step(session, "parse", result.message_key)
    keys = [job.message_key for job in fresh]
    if options.queue is not None:
        summary.queued += len(fresh)
        options.queue.send_unsent(store)  # what the broker does not take waits for the sweeper
    elif fresh:
        parsing.add(fresh, last=last)
    return keys


class _Parsing:
    """Where committed batches get parsed: here, or on ``workers`` processes while the next batches
    are read and committed. The pool starts with the first full batch (an import of one batch is
    parsed here); if a worker dies, the rest is parsed here and the messages of the chunks lost,
    still ``accepted``, are parsed with the routing's leftovers."""

    def __init__(self, store: Store, workers: int) -> None:
        self._store = store
        self._workers = workers
        self._pool: ParsePool | None = None
        self.started = 0
        """Workers started (0 when every batch was parsed here)."""

    def add(self, jobs: Sequence[ParseJob], *, last: bool) -> None:
        """Parse a committed batch (now, or on the pool) and store what is parsed by now."""
        if self._pool is None and (self._workers < 1 or last):
            self._record(parse_batch(jobs))
            return
        if self._pool is None:
            self._pool = ParsePool(self._workers)
            self.started = self._workers
        try:
            for outcomes in self._pool.submit(jobs):
                self._record(outcomes)
        except ParsePoolError as exc:
            self._fall_back(exc)

    def finish(self) -> None:
        """Store every parse still on the pool."""
        if self._pool is None:
            return
        try:
            for outcomes in self._pool.drain():
                self._record(outcomes)
        except ParsePoolError as exc:
            self._fall_back(exc)

    def _record(self, outcomes: Sequence[ParseOutcome]) -> None:
        with self._store.session() as session:
            record_parses(session, outcomes)

    def _fall_back(self, exc: ParsePoolError) -> None:
        _log.warning("a parse worker died (%s); parsing in the importing process from now on", exc)
        self.close()
        self._workers = 0

    def close(self) -> None:
        """Stop the parse workers, if any."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> _Parsing:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
