"""tailor.transform.dbt helpers that need no database."""

from __future__ import annotations

import json

import pytest

from tailor.config import get_settings
from tailor.transform.dbt import (
    DbtResult,
    NodeOutcome,
    _split_user_vars,
    _unread_events_skipped,
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


def test_events_are_built_when_read_and_fired_only_when_a_logger_takes_them(monkeypatch):
    """Inside run_dbt an event keeps its fields until read, and one no logger writes is never
    built: dbt's own classes otherwise build a protobuf message per event, twice when fired."""
    import io
    import logging

    from dbt.adapters.events.types import SQLQuery
    from dbt_common.events import base_types
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.event_manager import EventManager
    from dbt_common.events.logger import LoggerConfig

    built: list[str] = []
    original = base_types.msg_from_base_event

    def counting(event, level=None):
        built.append(type(event).__name__)
        return original(event, level=level)

    monkeypatch.setattr("dbt_common.events.event_manager.msg_from_base_event", counting)
    stream = io.StringIO()
    manager = EventManager()
    manager.add_logger(LoggerConfig(name="probe_events", level=EventLevel.INFO, output_stream=stream))
    with _unread_events_skipped():
        event = SQLQuery(conn_name="probe", sql="select 1", node_info={})
        assert "pb_msg" not in event.__dict__  # not built yet
        manager.fire_event(event)  # debug, and the logger is at info
        assert built == [] and "pb_msg" not in event.__dict__
        assert event.sql == "select 1"  # read: built now
        manager.fire_event(event, level=EventLevel.INFO)
        assert built == ["SQLQuery"] and "select 1" in stream.getvalue()
        logging.getLogger("probe_events").setLevel(logging.DEBUG)  # a caller's logger at debug gets it
        manager.fire_event(SQLQuery(conn_name="probe", sql="select 2", node_info={}))
        assert built == ["SQLQuery", "SQLQuery"]
        logging.getLogger("probe_events").setLevel(logging.INFO)
        from dbt.tracking import track_behavior_change_warn

        manager.add_callback(track_behavior_change_warn)  # dbt's own: reads behaviour-change warnings only
        manager.fire_event(SQLQuery(conn_name="probe", sql="select 3", node_info={}))
        assert built == ["SQLQuery", "SQLQuery"]
        manager.add_callback(lambda msg: None)  # a caller's callback reads everything
        manager.fire_event(SQLQuery(conn_name="probe", sql="select 4", node_info={}))
        assert built == ["SQLQuery", "SQLQuery", "SQLQuery"]
    assert "pb_msg" in SQLQuery(conn_name="probe", sql="select 5", node_info={}).__dict__
