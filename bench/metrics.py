"""Pairwise precision, recall and F1 of a clustering against the true threads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Pairwise:
    """Pairs of messages put together: right ones over all predicted (precision), over all true (recall)."""

    precision: float
    recall: float

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 0.0 if total == 0 else 2 * self.precision * self.recall / total


def _pairs(counts: Counter[Hashable]) -> int:
    return sum(n * (n - 1) // 2 for n in counts.values())


def pairwise(truth: Mapping[str, Hashable], predicted: Mapping[str, Hashable]) -> Pairwise:
    """Compare two labelings of the same items (an item missing from ``predicted`` is alone)."""
    items = list(truth)
    guess = {item: predicted.get(item, ("alone", item)) for item in items}
    both = _pairs(Counter((truth[i], guess[i]) for i in items))
    true_pairs = _pairs(Counter(truth[i] for i in items))
    guessed_pairs = _pairs(Counter(guess[i] for i in items))
    precision = both / guessed_pairs if guessed_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    return Pairwise(precision, recall)
