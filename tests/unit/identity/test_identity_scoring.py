"""Pairwise scoring and components: the arithmetic the identity benchmark reports."""

from __future__ import annotations

import pytest

from tailor.identity.scoring import components, pairwise_score


def test_perfect_clustering_scores_one():
    truth = {1: "a", 2: "a", 3: "b"}
    score = pairwise_score({1: "x", 2: "x", 3: "y"}, truth)
    assert (score.precision, score.recall, score.f1) == (1.0, 1.0, 1.0)


def test_over_merging_costs_precision_and_splitting_costs_recall():
    truth = {1: "a", 2: "a", 3: "b", 4: "b"}
    merged = pairwise_score({1: 0, 2: 0, 3: 0, 4: 0}, truth)   # 6 predicted pairs, 2 right
    assert (merged.predicted_pairs, merged.correct_pairs) == (6, 2)
    assert merged.precision == pytest.approx(1 / 3) and merged.recall == 1.0
    split = pairwise_score({1: 1, 2: 2, 3: 3, 4: 3}, truth)
    assert split.precision == 1.0 and split.recall == 0.5


def test_records_missing_from_the_prediction_stand_alone():
    score = pairwise_score({}, {1: "a", 2: "a"})
    assert (score.predicted_pairs, score.recall) == (0, 0.0)


def test_components_are_keyed_by_their_smallest_record():
    assert components([1, 2, 3, 4, 5], [(2, 4), (4, 5)]) == {1: 1, 2: 2, 4: 2, 5: 2, 3: 3}
