"""TAILOR_CDC_FAULT: understood, or refused with a message saying what is expected."""

from __future__ import annotations

import pytest

from tailor.cdc.faults import AFTER_COMMIT, BEFORE_COMMIT, FaultPlan, FaultSpecError


def test_unset_means_no_crash_point():
    plan = FaultPlan.parse(None)
    assert plan.point is None
    plan.check(BEFORE_COMMIT, 1)  # returns: nothing planned


def test_points_and_batch_numbers():
    assert FaultPlan.parse("crash_before_commit:3") == FaultPlan(BEFORE_COMMIT, 3)
    assert FaultPlan.parse("crash_after_commit:1") == FaultPlan(AFTER_COMMIT, 1)
    FaultPlan(AFTER_COMMIT, 2).check(AFTER_COMMIT, 1)  # another batch: no exit


@pytest.mark.parametrize("spec", ["crash", "crash_before_commit", "crash_after_commit:0",
                                  "explode:2", "crash_before_commit:x"])
def test_nonsense_is_refused_with_the_expected_forms(spec):
    with pytest.raises(FaultSpecError, match="crash_before_commit:N"):
        FaultPlan.parse(spec)
