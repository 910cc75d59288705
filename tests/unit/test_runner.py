import pytest

from tailor.runner import PIPELINE, RunError, _summarise_failure, run_pipeline


def test_pipeline_order_is_the_asset_chain():
    assert PIPELINE == ("tailor_capture", "tailor_transform", "tailor_quality_gate", "tailor_export")


def test_unknown_dag_is_refused_before_anything_runs():
    with pytest.raises(RunError, match="tailor_nope"):
        run_pipeline(["tailor_nope"])


def test_failure_summary_names_task_and_exception():
    log = "\n".join([
        "[info] Task instance state updated ti=RuntimeTaskInstance(task_id='run_gate', dag_id='x') new_state=failed rows_affected=1",
        "Traceback (most recent call last):",
        '  File "gate.py", line 3, in run',
        "tailor.quality.gate.GateFailed: 2 checks failed: email_audience.person_id unique",
    ])
    summary = _summarise_failure(log)
    assert "run_gate" in summary
    assert "GateFailed: 2 checks failed" in summary
