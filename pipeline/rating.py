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


def explain(rules: RatingRules, ratings: dict[str, Rating]) -> str:
    """The rule that gave the overall rating, spelled out with the numbers:
    ``优秀 24 项 / 33 项 = 72.7% ≥ 70%，无未达标 → 优秀``."""
    counts = tally(ratings)
    result = overall(rules, ratings)
    vetoed = [t for t in rules.veto_tasks if ratings.get(t) is Rating.FAILED]
    if vetoed:
        return f"一票否决项 {'、'.join(vetoed)} 未达标 → {result.value}"
    share = 100 * counts.excellent / counts.total if counts.total else 0.0
    for level in rules.levels:
        failed_ok = counts.failed <= level.max_failed
        share_ok = 100 * counts.excellent >= level.min_excellent_percent * counts.total
        failed_text = ("无未达标" if level.max_failed == 0 else f"未达标不超过 {level.max_failed} 项") \
            if failed_ok else f"有未达标 {counts.failed} 项"
        if level.rating is result and failed_ok and share_ok:
            if level.min_excellent_percent:
                return (f"优秀 {counts.excellent} 项 / {counts.total} 项 = {share:.1f}% ≥ "
                        f"{level.min_excellent_percent}%，{failed_text} → {result.value}")
            return f"{failed_text}（优秀 {counts.excellent} 项 / {counts.total} 项 = {share:.1f}%）→ {result.value}"
    return f"有未达标 {counts.failed} 项 → {result.value}"
