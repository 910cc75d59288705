"""The gate as an Airflow task body: run it, log it, fail the task if it failed.

Kept here rather than in the DAG file so the DAG stays wiring only and this
logic is testable without a scheduler.
"""

from __future__ import annotations

import logging
from typing import Any

from tailor.orchestration import run_date
from tailor.quality.gate import GateResult, run_gate

log = logging.getLogger(__name__)


def gate_task(context: dict[str, Any]) -> dict[str, Any]:
    """Run the gate for the DAG run; raise AirflowFailException when it fails."""
    from airflow.sdk.exceptions import AirflowFailException

    result: GateResult = run_gate(logical_date=run_date(context))
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
