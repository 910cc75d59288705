"""`tailor run --logical-date D` computes the marts as of D.

The chain, without any service: the CLI parses D (UTC when naive), the runner
hands it to ``airflow dags test``, Airflow gives the asset-triggered
transform DAG a manual data interval ending at D, and Cosmos renders
``TAILOR_AS_OF`` (what the ``as_of()`` macro reads) from that interval end
into every dbt task's environment. Each link is
checked here; the dbt side (``as_of()`` and models honouring it) is covered
by tests/integration/transform/test_point_in_time.py.
"""

from __future__ import annotations

import ast
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pendulum
from typer.testing import CliRunner

from tailor import runner
from tailor.cli import app
from tailor.config import get_settings

DAGS = Path(__file__).resolve().parents[3] / "dags"


def test_cli_logical_date_reaches_airflow_dags_test(monkeypatch, tmp_path):
    monkeypatch.setenv("TAILOR_HOME", str(tmp_path))
    get_settings.cache_clear()
    monkeypatch.setattr("tailor.db.service.ensure_database", lambda *a, **k: None)
    monkeypatch.setattr("tailor.db.migrate.migrate", lambda *a, **k: None)
    monkeypatch.setattr(runner, "ensure_airflow_db", lambda *a, **k: None)
    monkeypatch.setattr(runner, "airflow_env", lambda *a, **k: {})
    commands: list[list[str]] = []

    def fake_airflow(command, stdout, **kwargs):
        commands.append(command)
        stdout.write(f"DagRun Finished: dag_id={command[3]}, run_id=manual, state=success\n")
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(runner.subprocess, "run", fake_airflow)
    try:
        result = CliRunner().invoke(app, ["run", "tailor_transform", "--logical-date", "2024-06-30"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert [c[1:] for c in commands] == [["dags", "test", "tailor_transform", "2024-06-30T00:00:00+00:00"]]


def test_transform_dag_is_asset_triggered():
    # the as_of template below relies on it: a manual (dags test) run of an
    # asset-triggered DAG has the data interval [D, D]
    tree = ast.parse((DAGS / "tailor_transform.py").read_text())
    schedules = [
        kw.value for node in ast.walk(tree) if isinstance(node, ast.Call)
        for kw in node.keywords if kw.arg == "schedule"
    ]
    assert len(schedules) == 1
    assert isinstance(schedules[0], ast.List), "tailor_transform must stay triggered by the raw Asset"


def test_cosmos_renders_as_of_from_the_logical_date():
    from airflow.timetables.simple import AssetTriggeredTimetable

    from tailor.orchestration import RAW
    from tailor.transform.cosmos_config import AS_OF_TEMPLATE, operator_args

    assert operator_args()["env"]["TAILOR_AS_OF"] == AS_OF_TEMPLATE
    assert "as_of" not in operator_args()["vars"]  # a var would re-parse the project every run
    logical_date = pendulum.instance(datetime(2024, 6, 30, tzinfo=UTC))
    interval = AssetTriggeredTimetable(RAW).infer_manual_data_interval(run_after=logical_date)
    rendered = jinja2.Environment().from_string(AS_OF_TEMPLATE).render(
        data_interval_end=interval.end, logical_date=logical_date, dag_run=None,
    )
    assert datetime.fromisoformat(rendered) == datetime(2024, 6, 30, tzinfo=UTC)
    # an asset-triggered run without a data interval or logical date falls
    # back to when it was queued, never to the wall clock at task time
    queued = pendulum.instance(datetime(2024, 7, 1, 6, tzinfo=UTC))
    rendered = jinja2.Environment().from_string(AS_OF_TEMPLATE).render(
        data_interval_end=None, logical_date=None, dag_run=type("DagRun", (), {"run_after": queued})(),
    )
    assert datetime.fromisoformat(rendered) == datetime(2024, 7, 1, 6, tzinfo=UTC)
