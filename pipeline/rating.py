"""From task ratings to a region's overall rating, by the rules in ``rating_rules.yaml``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .model import Rating, RatingRules


@dataclass(frozen=True)
class Tally:
    excellent: int
    standard: int
    failed: int

    @property
    def total(self) -> int:
        return self.excellent + self.standard + self.failed


def tally(ratings: dict[str, Rating]) -> Tally:
    counts = Counter(ratings.values())
    return Tally(counts[Rating.EXCELLENT], counts[Rating.STANDARD], counts[Rating.FAILED])


def overall(rules: RatingRules, ratings: dict[str, Rating]) -> Rating:
    """The first level whose conditions the ratings meet; ``otherwise`` if none.

    Shares are compared in whole numbers (100 × 优秀 ≥ percent × total), so exactly 70 % is 70 %.
    """
    counts = tally(ratings)
    if any(ratings.get(task_id) is Rating.FAILED for task_id in rules.veto_tasks):
        return Rating.FAILED
    for level in rules.levels:
        if counts.failed > level.max_failed:
            continue
        if 100 * counts.excellent < level.min_excellent_percent * counts.total:
            continue
        return level.rating
    return rules.otherwise
