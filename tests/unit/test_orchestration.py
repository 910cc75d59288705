from datetime import UTC, datetime

from tailor.orchestration import DAG_DEFAULTS, run_date


def test_run_date_prefers_the_data_interval_end():
    end = datetime(2024, 6, 30, tzinfo=UTC)
    assert run_date({"data_interval_end": end, "logical_date": datetime(2024, 6, 29, tzinfo=UTC)}) == end


def test_run_date_falls_back_for_asset_triggered_runs():
    when = datetime(2024, 6, 30, tzinfo=UTC)

    class Run:
        run_after = when

    assert run_date({"data_interval_end": None, "logical_date": None, "dag_run": Run()}) == when


def test_dag_defaults_follow_the_house_rules():
    assert DAG_DEFAULTS["max_active_runs"] == 1
    assert DAG_DEFAULTS["catchup"] is False
    assert DAG_DEFAULTS["default_args"]["retries"] >= 1
    assert callable(DAG_DEFAULTS["default_args"]["on_failure_callback"])
