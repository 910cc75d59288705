"""tailor.transform.dbt helpers that need no database."""

from __future__ import annotations

import json

import pytest

from tailor.config import get_settings
from tailor.transform.dbt import (
    DbtResult,
    NodeOutcome,
    _split_user_vars,
    default_vars,
    segment_models,
)


def test_segment_models_are_discovered_from_the_folder():
    names = segment_models(get_settings())
    assert {"seg_champions", "seg_at_risk", "seg_cart_abandoners", "seg_new_customers"} <= set(names)
    assert names == sorted(names)
    assert default_vars(get_settings())["segment_models"] == names


def test_user_vars_are_pulled_out_of_args_to_be_merged():
    args, user_vars = _split_user_vars(["build", "--vars", '{"as_of": "2024-06-30"}', "-s", "marts"])
    assert args == ["build", "-s", "marts"]
    assert user_vars == {"as_of": "2024-06-30"}
    args, user_vars = _split_user_vars(["run", "--vars=as_of: x"])
    assert (args, user_vars) == (["run"], {"as_of": "x"})


def test_user_vars_must_be_a_mapping():
    with pytest.raises(ValueError, match="mapping"):
        _split_user_vars(["build", "--vars", "[1, 2]"])


def test_summary_names_failing_nodes_with_their_messages():
    result = DbtResult(
        command=["build"],
        success=False,
        nodes=[
            NodeOutcome("customer_profiles", "model", "success"),
            NodeOutcome("unique_customer_profiles_person_id", "test", "fail", "Got 2 results"),
            NodeOutcome("at_least_one_row_x", "test", "warn", "Got 1 result"),
            NodeOutcome("segment_assignments", "model", "skipped"),
        ],
        elapsed_s=1.5,
    )
    text = result.summary()
    assert text.splitlines()[0] == "dbt build FAILED: 1 passed, 1 failed, 1 warned, 1 skipped in 1.5s"
    assert "FAILED test unique_customer_profiles_person_id: Got 2 results" in text
    assert "WARN   test at_least_one_row_x" in text
    json.dumps(text)  # plain text, loggable anywhere
