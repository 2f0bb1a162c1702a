"""Run the router over a corpus variant and label each message with its dossier, and with its subject.

Each notmuch sub-corpus (threaded separately by the truth oracle) is imported under its own forced
building with ``--auto-dossiers``; BC3 is one building. Every message therefore knows its building,
and the figures measure how well messages are grouped into dossiers inside it.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from bench.metrics import Pairwise, pairwise
from bench.variants import Variant, derive, is_reply
from dossiermail.ingest.identity import content_key
from dossiermail.ingest.importer import ImportOptions, run_import
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.rules.model import Rules
from dossiermail.store import open_store
from dossiermail.store.models import DecisionRow, ParsedRow

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
SEED = 20261123


@dataclass(frozen=True)
class TruthMessage:
    """One corpus file, its true thread, its group (building) and whether it is a reply."""

    file: Path
    thread: str
    group: str
    reply: bool


@dataclass(frozen=True)
class Result:
    """Router and subject-only baseline figures for one corpus variant."""

    corpus: str
    variant: str
    messages: int
    threads: int
    router: Pairwise
    baseline: Pairwise
    review: int
    samples: tuple[float, ...] = ()
    """Router F1 of each random sample, when the variant was drawn several times."""

    @property
    def f1(self) -> float:
        """The router's F1: the mean over the samples when there are several."""
        return sum(self.samples) / len(self.samples) if self.samples else self.router.f1


def notmuch_truth() -> list[TruthMessage]:
    """notmuch threads (``threads.jsonl``); a reply is a message with thread headers."""
    folder = CORPORA / "notmuch"
    found = []
    for record in _records(folder / "threads.jsonl"):
        file, group = folder / record["file"], record["file"].split("/")[0]
        found.append(TruthMessage(file, record["thread"], group, is_reply(file.read_bytes())))
    return found


def bc3_truth() -> list[TruthMessage]:
    """BC3 human threads; a reply is any message after the first of its thread."""
    folder = CORPORA / "bc3"
    return [
        TruthMessage(folder / r["file"], r["thread"], "bc3", int(r["position"]) > 1)
        for r in _records(folder / "threads.jsonl")
    ]


def _records(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write_variant(
    truth: list[TruthMessage], variant: Variant, folder: Path, seed: int
) -> dict[str, dict[Path, str]]:
    """Write each group's derived files into its own folder; file -> content key, per group."""
    keys: dict[str, dict[Path, str]] = {}
    for number, message in enumerate(truth):
        raw = derive(message.file.read_bytes(), message.reply, variant, seed)
        target = folder / message.group / f"{number:05d}.eml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(raw)
        keys.setdefault(message.group, {})[message.file] = content_key(raw)
    return keys


def run_variant(
    corpus: str, truth: list[TruthMessage], variant: Variant, rules: Rules, work: Path, seed: int = SEED
) -> Result:
    """Import the variant drawn with ``seed``, one building per group, and score router and baseline."""
    work.mkdir(parents=True)
    keys = _write_variant(truth, variant, work / "mail", seed)
    store = open_store(f"sqlite:///{work}/bench.db")
    try:
        for group in sorted(keys):
            options = ImportOptions(RouteOptions(rules), building=f"bench-{group}", auto_dossiers=True)
            run_import(store, [work / "mail" / group], options)
        with store.session() as session:
            current = DecisionRow.superseded_at.is_(None)
            decisions = select(DecisionRow.message_key, DecisionRow.outcome, DecisionRow.dossier_id)
            routed = {k: (o, d) for k, o, d in session.execute(decisions.where(current))}
            parsed = select(ParsedRow.message_key, ParsedRow.normalized_subject)
            subjects = {k: subject for k, subject in session.execute(parsed)}
    finally:
        store.dispose()
    return _score(corpus, variant, truth, keys, routed, subjects)


def _score(
    corpus: str,
    variant: Variant,
    truth: list[TruthMessage],
    keys: dict[str, dict[Path, str]],
    routed: dict[str, tuple[str, int | None]],
    subjects: dict[str, str],
) -> Result:
    labels: dict[str, Hashable] = {}
    router: dict[str, Hashable] = {}
    baseline: dict[str, Hashable] = {}
    review = 0
    for message in truth:
        item, key = str(message.file), keys[message.group][message.file]
        labels[item] = message.thread
        outcome, dossier = routed.get(key, ("missing", None))
        router[item] = ("dossier", dossier) if outcome == "assigned" and dossier else ("alone", key)
        baseline[item] = (message.group, subjects[key]) if key in subjects else ("alone", key)
        review += outcome == "needs_review"
    threads = len(set(labels.values()))
    scores = pairwise(labels, router), pairwise(labels, baseline)
    return Result(corpus, variant.name, len(truth), threads, *scores, review)
