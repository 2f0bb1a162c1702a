"""Archive import memory: a generated 500 MB mbox imported with peak RSS under 300 MB.

The mbox (deterministic seed, written once under ``var/bench/`` and reused) holds a few thousand French
mails of a building's life; one in 25 carries a scanned-document-sized attachment and one in 40 a
base64 attachment of several MB. ``dossiermail import`` runs on it in a subprocess with a fresh
embedded SQLite store; its peak RSS is the child's ``ru_maxrss`` (``os.wait4``). The baseline, in the
same run, is the peak RSS of the project's archive reader alone (every message read, nothing stored)
and of a bare ``mailbox.mbox`` iteration.

Run with ``python -m bench.archive_memory [--megabytes N] [--write-docs]``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from bench.perfdoc import verdict, write_section

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "var" / "bench"
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
    """One measured subprocess: peak RSS, wall time, and what it printed."""

    peak_mb: float
    seconds: float
    output: str


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


def measure(command: list[str]) -> Run:
    """Run ``command`` to the end; its peak RSS (``ru_maxrss`` of that child) and wall time."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors)
        assert child.stdout is not None
        output = child.stdout.read().decode()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        if child.returncode != 0:
            errors.seek(0)
            raise RuntimeError(
                f"{command[2:4]} failed ({child.returncode}): {errors.read().decode()[-2000:]}"
            )
    return Run(usage.ru_maxrss / 1024, seconds, output)


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
        command = [python, "-m", "dossiermail", "import", str(path), "--building", "bench"]
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
            f"| `dossiermail import` (SQLite, route included) | {figures.imported.peak_mb:.0f} MB "
            f"| {figures.imported.seconds:.0f} s | {figures.rate:.0f} msg/s, "
            f"{figures.mbox_mb / figures.imported.seconds:.1f} MB/s | < {TARGET_MB} MB ({verdict(met)}) |",
            f"| baseline: archive reader only | {figures.reader.peak_mb:.0f} MB "
            f"| {figures.reader.seconds:.0f} s | | |",
            f"| baseline: bare `mailbox.mbox` iteration | {figures.mailbox.peak_mb:.0f} MB "
            f"| {figures.mailbox.seconds:.0f} s | | |",
        ]
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
