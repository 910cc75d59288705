"""tailor.transform.dbt helpers that need no database."""

from __future__ import annotations

import json

import pytest

from tailor.config import get_settings
from tailor.transform.dbt import (
    DbtResult,
    NodeOutcome,
    _split_user_vars,
    blocking_chain,
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


def _node(name: str, kind: str, start: float, end: float, *reads: str) -> NodeOutcome:
    return NodeOutcome(name=name, resource_type=kind, status="success", seconds=end - start,
                       unique_id=f"{kind}.{name}", depends_on=tuple(f"model.{r}" for r in reads),
                       started_at=start, finished_at=end)


def test_the_blocking_chain_follows_what_each_node_waited_for():
    """b waits for a's test (dbt build runs a model's tests before its children), c for b;
    `side` runs beside them all and ends later than a: not on the chain."""
    nodes = [
        _node("a", "model", 0.0, 1.0),
        _node("a_unique", "test", 1.0, 1.5, "a"),
        _node("side", "model", 0.0, 1.8),
        _node("b", "model", 1.5, 3.0, "a"),
        _node("b_and_side", "test", 3.0, 3.2, "b", "side"),
        _node("c", "model", 3.2, 4.0, "b", "side"),
        _node("late_test", "test", 4.0, 4.1, "c"),
    ]
    assert blocking_chain(nodes) == [
        ("model a", 1.0), ("test a_unique", 0.5), ("model b", 1.5), ("test b_and_side", 0.2),
        ("model c", 0.8), ("test late_test", 0.1),
    ]
    assert blocking_chain([]) == []
    assert blocking_chain([NodeOutcome(name="untimed", resource_type="model", status="skipped")]) == []
