"""Importing archives: accept every message (raw bytes committed first), parse it, then route all.

Messages are read one at a time and committed in small batches bounded by count and bytes, so a
10-year mbox never sits in memory. Routing runs after the whole archive is stored, in date order,
so replies usually find their parents; healing covers the rest. With a job queue (a broker is
configured) each batch commits the raw bytes with one parse step per new message, then sends the
steps to the workers instead of processing them here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from dossiermail.domain import RawMail
from dossiermail.ingest.accept import accept
from dossiermail.ingest.archive import ArchiveItem, read_archive
from dossiermail.jobs.broker import JobQueue
from dossiermail.jobs.outbox import add_step
from dossiermail.jobs.pipeline import RouteOptions, outcomes_of, parse_stored, process_pending
from dossiermail.store import Store
from dossiermail.store.models import RawMessage
from dossiermail.store.repo import ensure_building, sync_rules

BATCH_MESSAGES = 200
# 8 MB: a batch is held in memory while its messages are parsed; 32 MB cost 35 MB more peak RSS on the
# 500 MB archive bench (docs/performance.md) for no measurable speed.
BATCH_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class ImportOptions:
    """What the admin asked for on the command line."""

    route: RouteOptions
    building: str | None = None
    auto_dossiers: bool = False
    queue: JobQueue | None = None


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
    batch = _Batch()
    for item in read_archive(paths):
        _take(item, batch, summary)
        if batch.full():
            new_keys += _store_batch(store, batch, options, summary)
            batch = _Batch()
        if on_read:
            on_read(item.size)
    new_keys += _store_batch(store, batch, options, summary)
    if options.queue is None:
        summary.healed = process_pending(store, options.route, on_step=on_step).healed
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


def _store_batch(store: Store, batch: _Batch, options: ImportOptions, summary: ImportSummary) -> list[str]:
    """Commit the batch's raw bytes, then parse the new ones; returns their keys."""
    fresh: list[tuple[str, bytes]] = []
    queued = 0
    with store.session() as session:
        for mail in batch.mails:
            result = accept(
                session, mail, forced_building=options.building, auto_dossiers=options.auto_dossiers
            )
            if result.duplicate:
                summary.duplicates += 1
            else:
                summary.imported += 1
                fresh.append((result.message_key, mail.raw))
                if options.queue is not None:
                    add_step(session, "parse", result.message_key)
                    queued += 1
    if options.queue is not None:
        summary.queued += queued
        options.queue.send_unsent(store)  # what the broker does not take waits for the sweeper
        return [key for key, _ in fresh]
    raws = dict(fresh)
    with store.session() as session:
        rows = session.scalars(select(RawMessage).where(RawMessage.key.in_(list(raws))))
        for row in rows:
            if row.state == "accepted":
                parse_stored(session, row, raws[row.key], replace=False)
    return [key for key, _ in fresh]
