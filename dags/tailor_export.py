"""
### tailor_export — audiences and personalized emails, only behind a passed gate

Triggered by the `gate_passed` Asset, which only a passing
`tailor_quality_gate` run emits: nothing leaves the warehouse otherwise.

1. `export_files` writes each segment's audience (and the whole audience) as CSV.
2. `send_emails` renders one personalized email per member and sends it over
   SMTP (embedded: a local SMTP sink writing `.eml` files). Consent is checked
   again at send time; every row's outcome is in `audit.export_results`.

**Idempotent**: a re-run for the same day sends nothing twice (rows already
sent for the campaign and day are skipped).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from tailor.orchestration import DAG_DEFAULTS, GATE_PASSED


@dag(
    dag_id="tailor_export",
    schedule=[GATE_PASSED],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    doc_md=__doc__,
    tags=["tailor", "export"],
    dagrun_timeout=timedelta(hours=2),
    **DAG_DEFAULTS,
)
def tailor_export():
    @task
    def export_files(**context) -> dict:
        from tailor.config import get_settings
        from tailor.export.csvfile import export_csv
        from tailor.orchestration import run_date

        return export_csv(get_settings(), run_date(context).date()).as_dict()

    @task(execution_timeout=timedelta(hours=1))
    def send_emails(**context) -> dict:
        from tailor.config import get_settings
        from tailor.export.send import send_campaign
        from tailor.orchestration import run_date

        return send_campaign(get_settings(), run_date(context).date(), campaign="weekly").as_dict()

    export_files() >> send_emails()


tailor_export()
