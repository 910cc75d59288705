"""Every DAG imports, is wired the house way, and the asset chain holds.

capture -> transform -> gate -> export, and export is scheduled on nothing
but the gate's asset (DESIGN.md: nothing leaves without a passed gate).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {"tailor_capture", "tailor_transform", "tailor_quality_gate", "tailor_export", "tailor_train"}


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow")))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] = "False"
    # The transform DAG parses dbt's manifest on a first import: Airflow's
    # default 30 s runs out when another xdist worker keeps the CPU busy.
    # 120 s, as tailor.runner gives every Airflow process.
    os.environ["AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT"] = "120"
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_every_dag_imports(dagbag):
    assert dagbag.import_errors == {}, dagbag.import_errors
    assert set(dagbag.dag_ids) >= EXPECTED


def test_one_dag_per_file(dagbag):
    files = [dag.fileloc for dag in dagbag.dags.values()]
    assert len(files) == len(set(files))


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_house_rules(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.doc_md and len(dag.doc_md) > 80, "doc_md explains purpose and notes"
    assert "tailor" in dag.tags
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.default_args.get("on_failure_callback"), "failure callback"
    for task in dag.tasks:
        assert task.retries is not None


def _asset_uris(dag) -> set[str]:
    """URIs of the assets a DAG is scheduled on (walking any/all conditions)."""

    def walk(condition) -> set[str]:
        if hasattr(condition, "uri"):
            return {condition.uri}
        return set().union(*(walk(c) for c in getattr(condition, "objects", [])))

    condition = getattr(dag.timetable, "asset_condition", None)
    return walk(condition) if condition is not None else set()


def _outlet_uris(dag) -> set[str]:
    return {o.uri for task in dag.tasks for o in getattr(task, "outlets", []) if hasattr(o, "uri")}


def test_asset_chain(dagbag):
    capture, transform, gate, export = (
        dagbag.dags[d] for d in ("tailor_capture", "tailor_transform", "tailor_quality_gate", "tailor_export")
    )
    raw, marts, gate_passed = (
        "tailor://warehouse/raw", "tailor://warehouse/marts", "tailor://warehouse/gate_passed",
    )
    assert raw in _outlet_uris(capture)
    assert _asset_uris(transform) == {raw}
    assert marts in _outlet_uris(transform)
    assert _asset_uris(gate) == {marts}
    assert gate_passed in _outlet_uris(gate)
    assert _asset_uris(export) == {gate_passed}, "export runs only behind a passed gate"


def test_matcher_runs_alongside_staging(dagbag):
    """The matcher reads one staging model: its task waits for that model's task, not for all of
    staging (it runs alongside the rest). After staging, only the models reading what the matcher
    and the weather load write wait for them; the rest of the build starts when staging is done."""
    transform = dagbag.dags["tailor_transform"]
    matcher = transform.get_task("identity_matcher")
    assert matcher.upstream_task_ids == {"dbt_staging.stg_shop__customers_run"}
    assert transform.get_task("weather_refresh").upstream_task_ids == {"dbt_staging.dbt_project_test"}
    assert matcher.downstream_task_ids == {"dbt.int_identity_edges_run"}
    assert transform.get_task("weather_refresh").downstream_task_ids == {"dbt.int_persons_weather_run"}
    first_of_rest = [
        task for task in transform.tasks
        if task.task_id.startswith("dbt.") and not any(up.startswith("dbt.") for up in task.upstream_task_ids)
    ]
    assert {"dbt.int_identifiers_normalized_run", "dbt.int_web_events_stitched_run"} <= {
        task.task_id for task in first_of_rest}
    for task in first_of_rest:
        assert "dbt_staging.dbt_project_test" in task.upstream_task_ids, task.task_id
    # what reads the links comes after the matcher, however far down the identity graph
    assert "identity_matcher" in transform.get_task("dbt.int_person_map_run").get_flat_relative_ids(upstream=True)


def test_no_heavy_imports_at_dag_top_level():
    """pandas, GX, sklearn, pydbzengine are imported inside tasks, not at parse time."""
    heavy = ("import pandas", "import great_expectations", "import sklearn", "import pydbzengine", "from pydbzengine")
    for path in DAGS_DIR.glob("*.py"):
        top_level = [line for line in path.read_text().splitlines() if not line.startswith((" ", "\t"))]
        for line in top_level:
            assert not line.startswith(heavy), f"{path.name}: '{line}' at top level"
