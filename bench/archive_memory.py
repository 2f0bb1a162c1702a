"""Archive import memory: a generated 500 MB mbox imported with peak RSS under 300 MB.

The mbox (deterministic seed, written once under ``var/bench/`` and reused) holds a few thousand French
mails of a building's life; one in 25 carries a scanned-document-sized attachment and one in 40 a
base64 attachment of several MB. ``dossiermail import`` runs on it in a subprocess with a fresh
embedded SQLite store and its default ``jobs`` (parse worker processes on a machine of several
CPUs). Its peak RSS counts the whole process tree (``TreeSampler``): every 20 ms, the sum of each
process's peak RSS since the previous reading (``VmHWM``, then reset), the largest such sum kept;
the peaks of each process, whenever they happened, are printed beside it. The baseline, in the
same run, is the peak RSS of the project's archive reader alone (every message read, nothing
stored) and of a bare ``mailbox.mbox`` iteration.

Run with ``python -m bench.archive_memory [--megabytes N] [--write-docs]``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from bench.perfdoc import verdict, write_section

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "var" / "bench"
BUILDING = "les-mimosas"
TARGET_MB = 300
SEED = 20261123
FORMAT_VERSION = 1

SUBJECTS = (
    "Fuite d'eau au plafond du lot {lot}", "Devis ravalement de façade", "Infiltration en cave",
    "Panne de l'ascenseur, bâtiment {bat}", "Convocation à l'assemblée générale", "Appel de fonds",
    "Facture d'entretien des espaces verts", "Interphone hors service, entrée {bat}",
    "Dégât des eaux chez le lot {lot}", "Nettoyage des parties communes", "Relevé des compteurs d'eau",
    "Remplacement du portail du parking",
)  # fmt: skip
PHRASES = (
    "Bonjour Madame, Monsieur,", "Je me permets de revenir vers vous au sujet de ce problème.",
    "L'entreprise doit passer la semaine prochaine pour établir un devis.",
    "Pourriez-vous transmettre ce message au conseil syndical ?",
    "Vous trouverez ci-joint le document demandé, signé et daté.",
    "Le plombier a constaté une fuite sur la colonne d'eau chaude.",
    "Merci de nous indiquer vos disponibilités pour une visite de l'appartement.",
    "L'assurance de l'immeuble a été prévenue et un expert sera mandaté.",
    "Nous restons dans l'attente de votre retour avant d'engager les travaux.",
    "Cordialement,", "Bien à vous,",
)  # fmt: skip
NAMES = {
    "Paul Leroy": "paul.leroy", "Camille Martin": "camille.martin", "Hélène Dubois": "helene.dubois",
    "Marc Petit": "marc.petit", "Sophie Bernard": "sophie.bernard", "Jean Moreau": "jean.moreau",
}  # fmt: skip
START = datetime(2016, 1, 4, 9, tzinfo=UTC)


@dataclass(frozen=True)
class Run:
    """One measured subprocess: peak RSS (its tree's), wall time, and what it printed."""

    peak_mb: float
    seconds: float
    output: str
    own_peak_mb: float = 0.0
    """The subprocess alone."""
    children_peak_mb: float = 0.0
    """The sum of the peaks of the processes it started, whenever they happened."""
    processes: int = 1


@dataclass(frozen=True)
class Figures:
    """The bench's results."""

    mbox_mb: float
    messages: int
    imported: Run
    reader: Run
    mailbox: Run

    @property
    def rate(self) -> float:
        """Imported messages per second."""
        return self.messages / self.imported.seconds if self.imported.seconds else 0.0


def mbox_path(megabytes: int) -> Path:
    """Where the generated archive of that size lives."""
    return BENCH_DIR / f"archive-{megabytes}mb-v{FORMAT_VERSION}.mbox"


def generate(path: Path, megabytes: int) -> int:
    """Write the archive (unless present); returns its message count."""
    counted = path.with_suffix(".count")
    if path.exists() and counted.exists():
        return int(counted.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    partial = path.with_suffix(".partial")
    number = 0
    with partial.open("wb") as out:
        while out.tell() < megabytes * 1_000_000:
            number += 1
            date = START + timedelta(hours=number * 7 + rng.randint(0, 6))
            out.write(
                f"From {_address(rng.choice(list(NAMES)))} {date.strftime('%a %b %d %H:%M:%S %Y')}\n".encode()
            )
            out.write(_message(rng, number, date))
            out.write(b"\n")
    partial.rename(path)
    counted.write_text(str(number))
    return number


def _address(name: str) -> str:
    return f"{NAMES[name]}@exemple.fr"


def _message(rng: random.Random, number: int, date: datetime) -> bytes:
    sender = rng.choice(list(NAMES))
    subject = rng.choice(SUBJECTS).format(lot=rng.randint(1, 120), bat=rng.choice("ABC"))
    if number > 1 and rng.random() < 0.4:
        subject = "RE: " + subject
    body = "\n".join(rng.choice(PHRASES) for _ in range(rng.randint(4, 40))) + f"\n\n{sender}\n"
    headers = (
        f"From: {sender} <{_address(sender)}>\nTo: Syndic Azur <mimosas@cabinet-azur.example.fr>\n"
        f"Subject: {subject}\nDate: {format_datetime(date)}\n"
        f"Message-ID: <bench-{number}@exemple.fr>\nMIME-Version: 1.0\n"
    )
    attachment = _attachment_size(rng, number)
    if not attachment:
        return (
            headers + "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        ).encode() + (body.encode())
    boundary = f"=_bench_{number}"
    document = base64.encodebytes(rng.randbytes(attachment))
    return (
        (
            f'{headers}Content-Type: multipart/mixed; boundary="{boundary}"\n\n--{boundary}\n'
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        ).encode()
        + body.encode()
        + (
            f'\n--{boundary}\nContent-Type: application/pdf; name="piece-{number}.pdf"\n'
            f'Content-Disposition: attachment; filename="piece-{number}.pdf"\n'
            "Content-Transfer-Encoding: base64\n\n"
        ).encode()
        + document
        + f"--{boundary}--\n".encode()
    )


def _attachment_size(rng: random.Random, number: int) -> int:
    if number % 40 == 0:
        return rng.randint(2_000_000, 8_000_000)
    if number % 25 == 0:
        return rng.randint(50_000, 400_000)
    return 0


class TreeSampler(threading.Thread):
    """Every 20 ms, the peak RSS of a process and of its descendants since the previous reading.

    Each reading takes every process's ``VmHWM`` from ``/proc`` and resets it (``clear_refs``, 5):
    their sum bounds the tree's RSS over those 20 ms from above, peaks within a window counted as
    if simultaneous. Where the peaks cannot be reset (another user's process), ``VmHWM`` is the
    process's lifetime peak and the sum bounds the tree's peak more loosely still.
    """

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peaks_kb: dict[int, int] = {}
        self.window_kb = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.02):
            self.sample()

    def stop(self) -> None:
        """Stop sampling (after one last sample)."""
        self.sample()
        self._halt.set()
        self.join()

    def sample(self) -> None:
        """One reading: each process's peak since the last one, summed over the tree."""
        window = 0
        for pid in [self.root, *_descendants(self.root)]:
            peak = _status(pid).get("VmHWM")
            if peak is None:
                continue
            _reset_peak(pid)
            window += peak
            self.peaks_kb[pid] = max(self.peaks_kb.get(pid, 0), peak)
        self.window_kb = max(self.window_kb, window)

    def add_last(self, pid: int, peak_kb: int) -> None:
        """``pid``'s peak since the last reading (its ``ru_maxrss`` at exit, the others gone by then)."""
        self.peaks_kb[pid] = max(self.peaks_kb.get(pid, 0), peak_kb)
        self.window_kb = max(self.window_kb, peak_kb)


def _reset_peak(pid: int) -> None:
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _status(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` in kB ({} once the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    values = {}
    for line in lines:
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def measure(command: list[str]) -> Run:
    """Run ``command`` to the end; its tree's peak RSS (see the module's docstring) and wall time."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors)
        sampler = TreeSampler(child.pid)
        sampler.start()
        assert child.stdout is not None
        output = child.stdout.read().decode()
        sampler.stop()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        if child.returncode != 0:
            errors.seek(0)
            raise RuntimeError(
                f"{command[2:4]} failed ({child.returncode}): {errors.read().decode()[-2000:]}"
            )
    sampler.add_last(child.pid, usage.ru_maxrss)
    own = sampler.peaks_kb.pop(child.pid) / 1024
    children = sum(sampler.peaks_kb.values()) / 1024
    return Run(sampler.window_kb / 1024, seconds, output, own, children, 1 + len(sampler.peaks_kb))


def read_only(path: Path, how: str) -> None:
    """The baselines: every message of ``path`` read (and counted), nothing stored."""
    count = size = 0
    if how == "reader":
        from dossiermail.ingest.archive import read_archive

        for item in read_archive([path]):
            count += 1
            size += len(item.mail.raw) if item.mail else 0
    else:
        import mailbox

        box = mailbox.mbox(path, create=False)
        for key in box.iterkeys():
            count += 1
            size += len(box.get_bytes(key))
    print(json.dumps({"read": count, "bytes": size}))


def run(megabytes: int) -> Figures:
    """Generate (or reuse) the archive, then import it and read it both baseline ways."""
    path = mbox_path(megabytes)
    print(f"archive {path.relative_to(ROOT)} …", flush=True)
    messages = generate(path, megabytes)
    python = sys.executable
    reader = measure([python, "-m", "bench.archive_memory", "--read-only", "reader", str(path)])
    box = measure([python, "-m", "bench.archive_memory", "--read-only", "mailbox", str(path)])
    with tempfile.TemporaryDirectory(dir=BENCH_DIR) as tmp:
        store = f"sqlite:///{tmp}/archive.db"
        # the generated mail is addressed to the Mimosas of rules/: imported as theirs, it is routed
        # into dossiers (another building would put every message in review: two buildings in play)
        command = [python, "-m", "dossiermail", "import", str(path), "--building", BUILDING]
        imported = measure([*command, "--auto-dossiers", "--db", store, "--json"])
    read = json.loads(imported.output)["read"]
    assert read == messages, (read, messages)
    return Figures(path.stat().st_size / 1e6, messages, imported, reader, box)


def table(figures: Figures) -> str:
    """The figures as a Markdown table, with the target."""
    met = figures.imported.peak_mb < TARGET_MB
    return "\n".join(
        [
            f"Archive: {figures.mbox_mb:.0f} MB mbox, {figures.messages} messages "
            "(one in 40 with a 2–8 MB base64 attachment).",
            "",
            "| run | peak RSS | wall time | rate | target |",
            "|---|---:|---:|---:|---|",
            f"| `dossiermail import` (SQLite, route included; {_tree(figures.imported)}) "
            f"| {figures.imported.peak_mb:.0f} MB "
            f"| {figures.imported.seconds:.0f} s | {figures.rate:.0f} msg/s, "
            f"{figures.mbox_mb / figures.imported.seconds:.1f} MB/s | < {TARGET_MB} MB ({verdict(met)}) |",
            f"| baseline: archive reader only | {figures.reader.peak_mb:.0f} MB "
            f"| {figures.reader.seconds:.0f} s | | |",
            f"| baseline: bare `mailbox.mbox` iteration | {figures.mailbox.peak_mb:.0f} MB "
            f"| {figures.mailbox.seconds:.0f} s | | |",
            "",
            f"Routing of the import (building `{BUILDING}`, rules of `rules/`): "
            f"{_outcomes(figures.imported)}.",
        ]
    )


def _outcomes(run: Run) -> str:
    summary = json.loads(run.output)
    names = ("assigned", "needs_review", "ignored", "quarantined")
    return ", ".join(f"{summary.get(name, 0)} {name.replace('_', ' ')}" for name in names)


def _tree(run: Run) -> str:
    if run.processes == 1:
        return "1 process"
    return (
        f"{run.processes} processes; their peaks, whenever they happened: {run.own_peak_mb:.0f} MB "
        f"+ {run.children_peak_mb:.0f} MB"
    )


def main() -> None:
    """Measure, print, and optionally record in docs/performance.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=500, help="size of the generated mbox")
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    parser.add_argument("--read-only", nargs=2, metavar=("HOW", "MBOX"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read_only:
        read_only(Path(args.read_only[1]), args.read_only[0])
        return
    text = table(run(args.megabytes))
    print(text)
    if args.write_docs:
        stamp = time.strftime("%Y-%m-%d")
        write_section(
            "archive_memory",
            f"## Archive import memory ({stamp}, `python -m bench.archive_memory`)\n\n{text}",
        )


if __name__ == "__main__":
    main()
