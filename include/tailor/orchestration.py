"""What every Tailor DAG shares: the Assets that chain them and default args.

Kept free of heavy imports: DAG files import this at parse time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from airflow.sdk import Asset

# The chain capture -> transform -> gate -> export (DESIGN.md). Export runs
# only on GATE_PASSED, which only a passing quality gate emits.
RAW = Asset("tailor://warehouse/raw", group="tailor")
MARTS = Asset("tailor://warehouse/marts", group="tailor")
GATE_PASSED = Asset("tailor://warehouse/gate_passed", group="tailor")

log = logging.getLogger(__name__)


def on_failure(context) -> None:
    """Failure callback: one log line a person can act on (alerting hooks in here)."""
    ti = context.get("task_instance")
    log.error(
        "Tailor task failed: dag=%s task=%s run=%s try=%s error=%s",
        getattr(ti, "dag_id", "?"), getattr(ti, "task_id", "?"), context.get("run_id"),
        getattr(ti, "try_number", "?"), context.get("exception"),
    )


def run_date(context) -> datetime:
    """The instant a run is "as of": the end of its data interval.

    Manual and scheduled runs have a data interval / logical date; Airflow 3
    asset-triggered runs may have neither, so they fall back to when the run
    was due (``run_after``). Tasks read this, never ``now()``, so a re-run
    reproduces the same state.
    """
    return (
        context.get("data_interval_end")
        or context.get("logical_date")
        or context["dag_run"].run_after
    )


DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "on_failure_callback": on_failure,
}

DAG_DEFAULTS = {
    "catchup": False,
    "max_active_runs": 1,
    "default_args": DEFAULT_ARGS,
}
