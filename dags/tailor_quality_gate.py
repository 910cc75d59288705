"""
### tailor_quality_gate

Validates the marts with Great Expectations whenever the transform publishes
them (Asset `marts`), and emits Asset `gate_passed` - which starts the
export - **only when every check passed**.

**Checks** (suites in `include/gx/expectations/`)

- `customer_profiles`: rows exist, `person_id` present and unique, every
  profile has an email, R/F/M scores within 1-5.
- `email_audience`: rows exist, `person_id` unique, emails present and valid.
- `email_audience_consent`: no audience row without a current
  `email_marketing` consent (checked against staging, i.e. consent as of now).
- `raw_freshness`: the latest CDC landing is at most
  `TAILOR_MAX_STALENESS_HOURS` (default 24) before the run's logical date.

**Notes**

- A failing gate fails the task without retries (a data problem does not
  heal by retrying); the log lists each failing check, and the Data Docs
  (`include/gx/uncommitted/data_docs/local_site/index.html`) show the details.
- Run it alone: `tailor gate --logical-date 2024-06-30T00:00:00Z`.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from tailor.orchestration import DAG_DEFAULTS, GATE_PASSED, MARTS


@dag(
    dag_id="tailor_quality_gate",
    schedule=[MARTS],
    doc_md=__doc__,
    tags=["tailor", "quality", "great_expectations"],
    **DAG_DEFAULTS,
)
def tailor_quality_gate() -> None:
    @task(outlets=[GATE_PASSED], retries=0)
    def validate(**context) -> dict:
        """Runs the gate; raising here is what withholds Asset `gate_passed`."""
        from tailor.quality.runner import gate_task

        return gate_task(context)

    validate()


tailor_quality_gate()
