"""The overall rating and the rule spelled out for the clerk, at every branch, under the shipped
rules and under rules a department may write. Every expectation written out by hand."""

from __future__ import annotations

import pytest

from pipeline.content import load_content
from pipeline.model import Rating, RatingLevel, RatingRules
from pipeline.rating import Tally, explain, overall, tally

SHIPPED = load_content(need_rating_files=True).rules
E, S, F = Rating.EXCELLENT, Rating.STANDARD, Rating.FAILED


def ratings(excellent: int, standard: int, failed: int, start: int = 1) -> dict[str, Rating]:
    values = [E] * excellent + [S] * standard + [F] * failed
    return {f"1.{i}": v for i, v in enumerate(values, start)}


def rules(*levels: tuple[Rating, int, int], otherwise=F, veto=()) -> RatingRules:
    return RatingRules(levels=[RatingLevel(rating=r, max_failed=m, min_excellent_percent=p) for r, m, p in levels],
                       otherwise=otherwise, veto_tasks=list(veto))


LENIENT = rules((E, 1, 70), (S, 1, 0))


def test_shipped_rules_are_the_documented_ones():
    assert SHIPPED == rules((E, 0, 70), (S, 0, 0))


def test_tally_counts_every_task():
    counted = tally(ratings(3, 2, 1))
    assert counted == Tally(3, 2, 1) and counted.total == 6
    assert tally({}) == Tally(0, 0, 0) and tally({}).total == 0


@pytest.mark.parametrize("counts, rating, text", [
    ((7, 3, 0), E, "优秀 7 项 / 10 项 = 70.0% ≥ 70%，无未达标 → 优秀"),
    ((70, 30, 0), E, "优秀 70 项 / 100 项 = 70.0% ≥ 70%，无未达标 → 优秀"),
    ((24, 9, 0), E, "优秀 24 项 / 33 项 = 72.7% ≥ 70%，无未达标 → 优秀"),
    ((69, 31, 0), S, "无未达标（优秀 69 项 / 100 项 = 69.0%）→ 达标"),
    ((23, 10, 0), S, "无未达标（优秀 23 项 / 33 项 = 69.7%）→ 达标"),
    ((0, 33, 0), S, "无未达标（优秀 0 项 / 33 项 = 0.0%）→ 达标"),
    ((33, 0, 0), E, "优秀 33 项 / 33 项 = 100.0% ≥ 70%，无未达标 → 优秀"),
    ((32, 0, 1), F, "有未达标 1 项 → 未达标"),
    ((30, 0, 3), F, "有未达标 3 项 → 未达标"),
    ((0, 0, 2), F, "有未达标 2 项 → 未达标"),
])
def test_shipped_rules(counts, rating, text):
    given = ratings(*counts)
    assert overall(SHIPPED, given) is rating
    assert explain(SHIPPED, given) == text


@pytest.mark.parametrize("counts, rating, text", [
    ((22, 9, 1), S, "未达标不超过 1 项（优秀 22 项 / 32 项 = 68.8%）→ 达标"),  # 22 / 31 would be 71 %
    ((30, 11, 1), E, "优秀 30 项 / 42 项 = 71.4% ≥ 70%，未达标不超过 1 项 → 优秀"),
    ((7, 2, 1), E, "优秀 7 项 / 10 项 = 70.0% ≥ 70%，未达标不超过 1 项 → 优秀"),
    ((7, 3, 0), E, "优秀 7 项 / 10 项 = 70.0% ≥ 70%，未达标不超过 1 项 → 优秀"),
    ((6, 3, 1), S, "未达标不超过 1 项（优秀 6 项 / 10 项 = 60.0%）→ 达标"),
    ((30, 0, 2), F, "有未达标 2 项 → 未达标"),
])
def test_rules_allowing_one_failed_task(counts, rating, text):
    given = ratings(*counts)
    assert overall(LENIENT, given) is rating
    assert explain(LENIENT, given) == text


def test_veto_tasks():
    vetoing = rules((E, 1, 70), otherwise=S, veto=["1.10", "1.11"])
    assert overall(vetoing, ratings(9, 0, 1)) is F                     # 1.10 is the failed one
    assert explain(vetoing, ratings(9, 0, 1)) == "一票否决项 1.10 未达标 → 未达标"
    assert overall(vetoing, ratings(9, 0, 2)) is F
    assert explain(vetoing, ratings(9, 0, 2)) == "一票否决项 1.10、1.11 未达标 → 未达标"
    assert overall(vetoing, ratings(10, 0, 2)) is F                    # 1.11 failed
    assert explain(vetoing, ratings(10, 0, 2)) == "一票否决项 1.11 未达标 → 未达标"
    # 1.12 failed: no veto; one 未达标 allowed, 10 / 12 ≥ 70 %
    assert overall(vetoing, ratings(11, 0, 1)) is E
    assert explain(vetoing, ratings(11, 0, 1)) == "优秀 11 项 / 12 项 = 91.7% ≥ 70%，未达标不超过 1 项 → 优秀"
    # a veto task rated 达标 or 优秀 vetoes nothing
    assert overall(vetoing, {"1.10": S, "1.11": E, "1.1": E, "1.2": E, "1.3": E}) is E
    # a veto task without a rating vetoes nothing either
    assert overall(vetoing, {"1.1": E}) is E


def test_otherwise_and_levels_in_order():
    # nothing met: ``otherwise``, spelled out with the failed count
    strict = rules((E, 0, 90), otherwise=S)
    assert overall(strict, ratings(8, 2, 0)) is S
    assert explain(strict, ratings(8, 2, 0)) == "有未达标 0 项 → 达标"
    assert overall(strict, ratings(9, 1, 0)) is E
    # the first level met wins, even if a later one is met too
    first = rules((S, 0, 0), (E, 0, 70))
    assert overall(first, ratings(10, 0, 0)) is S
    assert explain(first, ratings(10, 0, 0)) == "无未达标（优秀 10 项 / 10 项 = 100.0%）→ 达标"
    # a level that allows two: exactly two is within it, three is not
    two = rules((S, 2, 0))
    assert overall(two, ratings(1, 0, 2)) is S
    assert explain(two, ratings(1, 0, 2)) == "未达标不超过 2 项（优秀 1 项 / 3 项 = 33.3%）→ 达标"
    assert overall(two, ratings(1, 0, 3)) is F
    assert explain(two, ratings(1, 0, 3)) == "有未达标 3 项 → 未达标"


def test_no_ratings_at_all():
    assert overall(SHIPPED, {}) is E  # 0 ≥ 70 % of 0: vacuous; a region always has tasks
    assert explain(SHIPPED, {}) == "优秀 0 项 / 0 项 = 0.0% ≥ 70%，无未达标 → 优秀"
    assert explain(rules((S, 0, 0)), {}) == "无未达标（优秀 0 项 / 0 项 = 0.0%）→ 达标"


def test_share_compared_in_whole_numbers():
    # 2 / 3 = 66.67 %: at 67 % not reached, at 66 % reached (no rounding of the share)
    assert overall(rules((E, 0, 67), otherwise=S), ratings(2, 1, 0)) is S
    assert overall(rules((E, 0, 66), otherwise=S), ratings(2, 1, 0)) is E
    assert explain(rules((E, 0, 66), otherwise=S), ratings(2, 1, 0)) == \
        "优秀 2 项 / 3 项 = 66.7% ≥ 66%，无未达标 → 优秀"
    # one in a hundred: 1 % reached by 1 of 100, not by 1 of 101
    assert overall(rules((E, 0, 1), otherwise=S), ratings(1, 99, 0)) is E
    assert overall(rules((E, 0, 1), otherwise=S), ratings(1, 100, 0)) is S


def test_a_level_not_met_for_its_failed_tasks_passes_to_the_next():
    # 优秀 allows none, 达标 allows one: one 未达标 gives 达标, not ``otherwise``
    graded = rules((E, 0, 70), (S, 1, 0))
    assert overall(graded, ratings(8, 1, 1)) is S
    assert explain(graded, ratings(8, 1, 1)) == "未达标不超过 1 项（优秀 8 项 / 10 项 = 80.0%）→ 达标"


def test_the_rule_spelled_out_is_the_level_that_was_met():
    # two levels of the same rating: the one met is spelled out, not the first of that rating
    two = rules((E, 0, 90), (E, 1, 70), otherwise=S)
    assert overall(two, ratings(8, 1, 1)) is E
    assert explain(two, ratings(8, 1, 1)) == "优秀 8 项 / 10 项 = 80.0% ≥ 70%，未达标不超过 1 项 → 优秀"
    # missed by a hair (2 / 3 = 66.7 % < 67 %): the next level's 50 % is the one spelled out
    close = rules((E, 0, 67), (E, 0, 50), otherwise=S)
    assert explain(close, ratings(2, 1, 0)) == "优秀 2 项 / 3 项 = 66.7% ≥ 50%，无未达标 → 优秀"
