"""``dossiermail import``: archives in, a progress bar while reading, a summary at the end.

``--jobs N`` (or ``DOSSIERMAIL_IMPORT_JOBS``) is how many processes the import uses: 1 parses in the
importing process; N parses on N - 1 worker processes while it reads and stores. The default is 2
(1 on a one-CPU machine); archives under 4 MB are parsed in the importing process whatever N is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from dossiermail.commands.common import CliError, err, load_rules_or_fail, open_store_or_fail, out
from dossiermail.commands.worker import job_queue_or_fail
from dossiermail.ingest.archive import ArchiveError, check_paths, total_bytes
from dossiermail.ingest.importer import (
    ImportOptions,
    ImportSummary,
    ReadProgress,
    StepProgress,
    run_import,
)
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.parse.pool import default_jobs, return_large_blocks

JOBS_ENV = "DOSSIERMAIL_IMPORT_JOBS"

SUMMARY_LABELS = (
    ("imported", "importés"),
    ("duplicates", "doublons"),
    ("assigned", "classés dans un dossier"),
    ("needs_review", "à revoir"),
    ("ignored", "ignorés (automatiques, listes)"),
    ("quarantined", "en quarantaine"),
)


def import_command(  # noqa: PLR0913 - one parameter per CLI argument or option
    paths: list[Path],
    rules_dir: Path | None,
    building: str | None,
    auto_dossiers: bool,
    db: str | None,
    *,
    quiet: bool,
    as_json: bool,
    jobs: int | None = None,
) -> None:
    """Check the arguments, import, print the summary."""
    try:
        check_paths(paths)
    except ArchiveError as exc:
        raise CliError(str(exc)) from None
    processes = import_jobs(jobs)
    rules = load_rules_or_fail(rules_dir)
    if building is not None:
        _check_slug(building)
        if rules.building(building) is None:
            err.print(f"dossiermail: warning: building {building!r} is not in the rules; created")
    queue = job_queue_or_fail()
    store = open_store_or_fail(db)
    options = ImportOptions(RouteOptions(rules), building, auto_dossiers, queue, jobs=processes)
    return_large_blocks()  # a long import's memory follows the message at hand, not the largest seen
    try:
        with _progress(paths, quiet or as_json) as (on_read, on_step):
            summary = run_import(store, paths, options, on_read=on_read, on_step=on_step)
    finally:
        store.dispose()
        if queue is not None:
            queue.close()
    _print_summary(summary, as_json)


def import_jobs(explicit: int | None, env: dict[str, str] | None = None) -> int:
    """``--jobs``, else ``DOSSIERMAIL_IMPORT_JOBS``, else one process per CPU (at most 2)."""
    if explicit is not None:
        if explicit < 1:
            raise CliError(f"--jobs {explicit}: at least 1 (1 parses in the importing process)")
        return explicit
    text = (os.environ if env is None else env).get(JOBS_ENV, "").strip()
    if not text:
        return default_jobs()
    if not text.isdigit() or int(text) < 1:
        raise CliError(f"{JOBS_ENV}={text!r}: a whole number of processes, at least 1")
    return int(text)


def _check_slug(slug: str) -> None:
    import re

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug):
        raise CliError(f"--building {slug!r}: a slug is lower-case letters, digits and hyphens")


class _AmountColumn(ProgressColumn):
    """Bytes for the reading bar (``12.3/500.0 MB``), messages for the step bars (``200/2920 msg``)."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes = DownloadColumn()

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") == "bytes":
            return self._bytes.render(task)
        total = "?" if task.total is None else f"{task.total:.0f}"
        return Text(f"{task.completed:.0f}/{total} msg", style="progress.download")


class _RateColumn(ProgressColumn):
    """MB/s while reading, messages per second for the steps."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes = TransferSpeedColumn()

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") == "bytes":
            return self._bytes.render(task)
        speed = task.finished_speed or task.speed
        if speed is None and task.completed and task.elapsed:
            speed = task.completed / task.elapsed  # one large batch: the average so far
        return Text("?" if speed is None else f"{speed:.0f} msg/s", style="progress.data.speed")


@contextmanager
def _progress(paths: list[Path], quiet: bool) -> Iterator[tuple[ReadProgress | None, StepProgress | None]]:
    if quiet:
        yield None, None
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        _AmountColumn(),
        _RateColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    reading = progress.add_task("Lecture", total=total_bytes(paths), unit="bytes")
    steps: dict[str, TaskID] = {}

    def on_read(size: int) -> None:
        progress.advance(reading, size)

    def on_step(step: str, done: int, total: int) -> None:
        label = {"parse": "Analyse", "route": "Classement"}.get(step, step)
        if step not in steps:
            steps[step] = progress.add_task(label, total=total, unit="messages")
        progress.advance(steps[step], done)

    with progress:
        yield on_read, on_step


def _print_summary(summary: ImportSummary, as_json: bool) -> None:
    data = summary.as_dict()
    if summary.queued:
        data["queued"] = summary.queued
    if as_json:
        out.print(json.dumps(data), markup=False)
        return
    out.print(f"{summary.read} messages lus")
    for key, label in SUMMARY_LABELS:
        out.print(f"  {label:<32} {data[key]:>6}")
    if summary.skipped_files:
        out.print(f"  {'fichiers non-mail ignorés':<32} {len(summary.skipped_files):>6}")
    if summary.queued:
        out.print(f"  {'confiés aux workers':<32} {summary.queued:>6}")
    if summary.healed:
        out.print(f"  (dont {summary.healed} réponses rattachées après coup à leur message d'origine)")
    timing = f"lecture, stockage et analyse {summary.store_seconds:.1f} s"
    if summary.route_seconds:
        timing += f", classement {summary.route_seconds:.1f} s"
    out.print(f"Durée : {timing}")
