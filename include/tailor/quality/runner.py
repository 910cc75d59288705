"""The gate as an Airflow task body: run it, log it, fail the task if it failed.

Kept here rather than in the DAG file so the DAG stays wiring only and this
logic is testable without a scheduler.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from tailor.quality.gate import GateResult, run_gate

log = logging.getLogger(__name__)


def run_logical_date(context: dict[str, Any]) -> datetime | None:
    """The instant a run validates for (asset-triggered runs may lack a logical date)."""
    dag_run = context.get("dag_run")
    return (
        context.get("data_interval_end")
        or context.get("logical_date")
        or getattr(dag_run, "run_after", None)
    )


def gate_task(context: dict[str, Any]) -> dict[str, Any]:
    """Run the gate for the DAG run; raise AirflowFailException when it fails."""
    from airflow.sdk.exceptions import AirflowFailException

    result: GateResult = run_gate(logical_date=run_logical_date(context))
    for check in result.checks:
        log.info("%s %s %s", "PASS" if check.passed else "FAIL", check.label(), check.observed)
    log.info("Data Docs: %s", result.data_docs_index)
    if not result.passed:
        failed = "; ".join(f"{c.label()} ({c.observed})" for c in result.failed_checks)
        raise AirflowFailException(
            f"Quality gate failed, so nothing will be exported: {failed}. "
            f"Details in the Data Docs at {result.data_docs_index}."
        )
    return result.as_dict()
