"""Routing accuracy bench: ``python -m bench.routing_accuracy`` (``make bench``).

Prints, and writes to ``docs/accuracy.md``: pairwise precision/recall/F1 of the dossiers the router
builds on the notmuch and BC3 corpora (and derived variants) next to a subject-only baseline from
the same run; the generated multi-building scenario; routing time at 1k and 10k open dossiers.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bench.corpora import SEED, Result, TruthMessage, bc3_truth, notmuch_truth, run_variant
from bench.metrics import Pairwise
from bench.scenario import ScenarioResult, run_scenario
from bench.timing import time_routing
from bench.variants import VARIANTS, Variant
from dossiermail.rules.model import DEFAULT_ROUTING_STEPS, RoutingRules, Rules

STEPS = DEFAULT_ROUTING_STEPS
ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "accuracy.md"
SAMPLES = 10
"""Draws of a partial header-loss variant (seeds ``SEED`` to ``SEED + 9``)."""


def _rules() -> Rules:
    return Rules("bench", "bench", routing=RoutingRules(steps=STEPS))


def _row(result: Result) -> str:
    r, b = result.router, result.baseline
    f1 = f"**{result.f1:.3f}**"
    if result.samples:
        f1 += f" ({min(result.samples):.3f}–{max(result.samples):.3f})"
    return (
        f"| {result.corpus} | {result.variant} | {result.messages} | {result.threads} | "
        f"{r.precision:.3f} | {r.recall:.3f} | {f1} | "
        f"{b.precision:.3f} | {b.recall:.3f} | {b.f1:.3f} | {result.review} |"
    )


HEADER = (
    "| corpus | variant | messages | threads | router P | router R | router F1 "
    "| subject-only P | subject-only R | subject-only F1 | in review |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def accuracy(work: Path) -> list[Result]:
    """Every corpus variant, printed as it finishes."""
    corpora: list[tuple[str, list[TruthMessage]]] = [("notmuch", notmuch_truth()), ("bc3", bc3_truth())]
    results = []
    print(HEADER)
    for number, variant in enumerate(VARIANTS):
        for name, truth in corpora:
            if name == "bc3" and variant.drop_share:
                continue  # BC3 has no reply headers to remove
            if 0 < variant.drop_share < 1:
                result = _sampled(name, truth, variant, work / f"{name}-{number}")
            else:
                result = run_variant(name, truth, variant, _rules(), work / f"{name}-{number}")
            print(_row(result), flush=True)
            results.append(result)
    return results


def _sampled(name: str, truth: list[TruthMessage], variant: Variant, work: Path) -> Result:
    """A partial header loss drawn ``SAMPLES`` times: which replies lose their headers decides more
    than the router on this corpus (see LIMITS); the row gives the means and the F1 range."""
    runs = [
        run_variant(name, truth, variant, _rules(), work / str(sample), seed=SEED + sample)
        for sample in range(SAMPLES)
    ]
    precision = sum(r.router.precision for r in runs) / SAMPLES
    recall = sum(r.router.recall for r in runs) / SAMPLES
    review = round(sum(r.review for r in runs) / SAMPLES)
    samples = tuple(r.router.f1 for r in runs)
    return replace(runs[0], router=Pairwise(precision, recall), review=review, samples=samples)


def scenario() -> tuple[ScenarioResult, ScenarioResult]:
    """The multi-building scenario with the v2 steps and with the v1 steps only."""
    return run_scenario(STEPS), run_scenario(STEPS[:3])


def _scenario_lines(v2: ScenarioResult, v1: ScenarioResult) -> list[str]:
    lines = ["| steps | messages | wrong building | undecidable | undecidable in review | assigned right |"]
    lines.append("|---|---|---|---|---|---|")
    for label, s in (
        ("v2 (every default step)", v2),
        ("v1 (explicit, reference, headers)", v1),
    ):
        lines.append(
            f"| {label} | {s.messages} | **{s.wrong_building}** | {s.ambiguous} | "
            f"{s.ambiguous_in_review} | {s.assigned_right} |"
        )
    return lines


def timing() -> tuple[float, float]:
    """Seconds per routed message at 1k and 10k open dossiers."""
    return time_routing(1_000, STEPS), time_routing(10_000, STEPS)


def _commit() -> str:
    found = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True, check=False
    )
    commit = found.stdout.strip() or "unknown"
    return f"{commit} + uncommitted changes" if dirty.stdout.strip() else commit


def main() -> None:
    """Run everything, print it, and write ``docs/accuracy.md``."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        results = accuracy(Path(tmp))
    v2, v1 = scenario()
    print("\n".join(["", *_scenario_lines(v2, v1)]))
    small, large = timing()
    timing_line = (
        f"routing time per message: {small * 1000:.2f} ms at 1k open dossiers, "
        f"{large * 1000:.2f} ms at 10k (ratio {large / small:.2f}x, target <= 2x)"
    )
    print(f"\n{timing_line}")
    took = time.perf_counter() - started
    print(f"bench took {took:.0f} s")
    DOC.write_text(_document(results, _scenario_lines(v2, v1), timing_line, took))
    print(f"written to {DOC.relative_to(ROOT)}")


def _targets(results: list[Result]) -> list[str]:
    """Issue 5's threading targets, checked against this run's figures."""
    by = {(r.corpus, r.variant): r for r in results}
    checks: list[tuple[str, str, str, Callable[[Result], bool]]] = [
        ("notmuch, intact headers: F1 = 1.00", "notmuch", "intact headers", lambda r: r.f1 >= 0.9995),
        ("notmuch, 30% removed: mean F1 >= 0.97", "notmuch", VARIANTS[1].name, lambda r: r.f1 >= 0.97),
        ("notmuch, 100% removed: F1 >= 0.90", "notmuch", VARIANTS[2].name, lambda r: r.f1 >= 0.90),
        ("notmuch, 100% removed: above baseline", "notmuch", VARIANTS[2].name, _above),
        ("BC3: above baseline", "bc3", "intact headers", _above),
    ]
    lines = ["Targets of issue 5 in this run:", ""]
    for label, corpus, variant, test in checks:
        result = by.get((corpus, variant))
        verdict = "not run" if result is None else ("met" if test(result) else "**not met**")
        lines.append(f"- {label}: {verdict}")
    return lines


def _above(result: Result) -> bool:
    return result.f1 > result.baseline.f1


def _document(results: list[Result], scenario_lines: list[str], timing_line: str, took: float) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    table = "\n".join([HEADER, *(_row(r) for r in results), "", *_targets(results)])
    body = INTRO.format(when=when, commit=_commit(), took=took)
    meaning = MEANING.format(steps=", ".join(STEPS))
    return f"{body}\n## Threading\n\n{table}\n\n{meaning}\n{LIMITS}\n## Multi-building scenario\n\n" + (
        "\n".join(scenario_lines) + f"\n\n{SCENARIO}\n## Cost\n\n{timing_line}.\n\n{COST}"
    )


INTRO = """# Routing accuracy

Written by `make bench` (`python -m bench.routing_accuracy`) on {when}, commit {commit};
the run took {took:.0f} s on the 2-core development machine. Every figure below comes from that one
run; re-run the bench rather than editing this file.
"""

MEANING = """What the figures mean:

- Each corpus is imported into a fresh SQLite store under a forced building (one per notmuch
  sub-corpus, since the truth threads each sub-corpus separately; one for BC3) with
  `--auto-dossiers`, and with the default steps `{steps}`. A message in review or ignored counts
  as a dossier of its own. The bench never shows the labels to the router: truth files are read
  only to derive the variants (which replies lose headers) and to score the result.
- **Pairwise** precision: of the pairs of messages the router put in the same dossier, the share
  that truly belong to one thread; recall: of the true same-thread pairs, the share it put together.
- The **subject-only baseline** groups messages of the same sub-corpus by normalized subject,
  computed from the same stored parse in the same run.
- Truth: `notmuch/threads.jsonl` (threads from headers, so "intact headers" should reach 1.00) and
  BC3's human labels (no reply headers at all). Variants are derived by the bench with fixed
  seeds: thread headers removed from 30% / 100% of the replies, `RE :`, `TR :`, `Réf :` or `[EXT]`
  added to reply subjects. What happens to a reply is drawn from its Message-ID, so the copies of
  one message (a list's copy and the direct one) keep or lose their headers together, as when the
  sender's mail client writes them once. The 30% variant is drawn 10 times (seeds 20261123 to
  20261132): its row gives the mean precision, recall and F1, with the F1 range in brackets, and
  its target is judged on the mean. Mailing-list markers (`Precedence`, `List-Id`, `List-Unsubscribe`) are
  renamed in every variant, otherwise the lkml messages are `ignored` as bulk mail and the bench
  would measure the bulk filter instead of threading.
"""

LIMITS = """What limits the header-loss figures on this corpus (read with the table):

- 97% of the true same-thread pairs of notmuch (8,110 of 8,323) sit in two lkml "threads" of 100
  and 80 messages that are unions of many conversations with different subjects, joined only by
  References (a 44-patch series with its review sub-threads; patches of several series that cite a
  bogus `Message-ID: <yes>`, some of them stored twice with different bytes and sender addresses).
  Once those headers are gone nothing in subject, sender, date or quoted text joins, say, "cifs:
  read pages from FS-Cache" to "lib/message: add function to get maildir flags": the router keeps
  them apart, as a human would.
- With 30% of the headers removed, the figure depends on which replies lose them, and almost
  entirely through one of those "threads": a cifs patch series of 2010 whose messages all cite
  `<yes>`, a reference nothing else in the series shares, which also joins it to a 2009 notmuch
  patch. When the cover letter and the first patches keep `<yes>`, the rest of the series follows
  them (reference or sender burst) into the 2009 dossier, as the truth wants; when they lose it,
  they open a dossier of their own, and the patches that kept `<yes>` follow it to the 2009
  dossier: the series is split in two, and with it many of its 3,160 true pairs. Joining the two would
  mean trusting a reference shared by unrelated conversations months apart, so the router does not
  try. The bench's 10 draws ranged from 0.926 to 0.999 on 2026-11-23; other seeds tried while
  investigating gave 0.886 to 0.999.
- Until 2026-11-23 the bench drew the header loss per file, so the two copies of a message (same
  Message-ID, different bytes) could lose and keep their headers apart, which no mail client does:
  the copy without headers opened a dossier and the copy with them went to review (F1 0.892 on the
  one seed it drew).
- What the router does recover without headers: quoted headers by address, contact name or
  display name (`On Mon, 3 Nov 2003, Linus Torvalds wrote:`), and the quoted text below them
  (`quoted_header`); replies whose subject matches (`fuzzy_subject`); a sender's burst of related
  mail, by address or, from a second address, by display name (`participant_window`, the patch
  series); replies to a message that lost its own headers follow the older messages of their
  References instead of the stray (`thread_headers`), so one lost header misfiles one message, not
  its sub-thread. Precision stays at or near 1.00 in every variant.
"""

SCENARIO = """Generated in `bench/scenario.py`: three buildings, one plumber working in two of them the
same week, "Fuite toiture" opened in two buildings, an owner with lots in two buildings, replies
with and without thread headers and building address, four weeks. "Undecidable" messages carry
nothing that names one building (the plumber of two buildings replying to a plain address, the
owner of two buildings writing without address, a mail sent to two building addresses): they must
be in review. "Wrong building" counts assigned messages whose building is not the true one
(target 0).
"""

COST = """`bench/timing.py` writes N open dossiers (20 buildings, subjects from a 20-topic French
vocabulary, dates over two years) straight into SQLite, then routes 300 headerless replies to a
building address (best of 3 rounds), with every default step and the visibility rule. The
fuzzy-subject lookup reads the `ix_routing_decisions_fuzzy` index (building, subject block, date of
the current assignments; migration 0010), so only the allowed building, its 120-day window and at
most 200 candidates; the quoted-header
and sender-window lookups read the `(from_email, date)` index (one sender, a date window),
and by display name the `(from_name_key, date)` index (one folded name, a date window);
each question is asked of the store once per message (`MemoIndex`). The machine is shared by
several processes: compare the ratio, not the milliseconds, between runs.
"""


if __name__ == "__main__":
    main()
