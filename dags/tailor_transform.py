"""
### tailor_transform

Builds the warehouse's modelled layers with dbt whenever CDC capture lands
new changes (Asset `raw`): staging views over the change log, intermediate
identity/orders/engagement/consent tables, and the marts (`customer_profiles`,
segments, `sync_email__audience`). Emits Asset `marts`, which starts the
quality gate.

**Notes**

- Three steps: dbt staging (task group `dbt_staging`), the identity matcher
  (`identity_matcher`: Splink scores customer records sharing no key into
  `ml.identity_links`), then dbt for everything else (task group `dbt`),
  whose identity graph turns those links into person merges. The matcher
  reads only `stg_shop__customers`: it starts as soon as that model's task
  is done and runs alongside the rest of staging. Only the models reading
  its links (through `stg_ml__identity_links`) wait for it: the rest of
  the `dbt` group starts when staging is done.
- After staging, `weather_refresh` loads the weather at known
  customers' locations for the run's date (and the days before it) into
  `enrich.weather_observations` from the provider `TAILOR_WEATHER_PROVIDER`
  names (default: the bundled offline sample); the models reading it
  (`int_persons_weather`, through `stg_enrich__weather_observations`) wait
  for it.
- One Airflow task per dbt model (rendered by astronomer-cosmos from the
  project's manifest), then one task per group running its dbt tests.
- Every model is computed *as of* the run's data interval end (logical
  date), passed to dbt as `TAILOR_AS_OF` (an environment variable, not a var:
  a var that changes every run makes dbt re-parse the whole project):
  re-running a run gives the same marts.
- The warehouse connection is the Airflow connection `tailor_warehouse`
  (`AIRFLOW_CONN_TAILOR_WAREHOUSE`).
- Run it alone: `airflow dags test tailor_transform`; the same build without
  Airflow: `tailor dbt build`.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from tailor.enrich.weather import OUTPUT_MODEL as WEATHER_OUTPUT
from tailor.identity.matcher import INPUT_MODEL as MATCHER_INPUT
from tailor.identity.matcher import OUTPUT_MODEL as MATCHER_OUTPUT
from tailor.orchestration import DAG_DEFAULTS, MARTS, RAW
from tailor.transform import cosmos_config


@dag(
    dag_id="tailor_transform",
    schedule=[RAW],
    doc_md=__doc__,
    tags=["tailor", "dbt", "transform"],
    **DAG_DEFAULTS,
)
def tailor_transform() -> None:
    dbt_staging = cosmos_config.DbtTaskGroup(
        group_id="dbt_staging",
        project_config=cosmos_config.project_config(),
        profile_config=cosmos_config.profile_config(),
        render_config=cosmos_config.render_config(select=cosmos_config.STAGING),
        execution_config=cosmos_config.execution_config(),
        operator_args=cosmos_config.operator_args(),
    )

    @task
    def identity_matcher() -> str:
        """Scores customer records with the Splink matcher into ml.identity_links."""
        from tailor.identity.matcher import run_matcher

        return run_matcher().summary()

    @task
    def weather_refresh(**context) -> dict:
        """Upserts the weather at customers' locations for the run's date (tailor.enrich.weather)."""
        from tailor.enrich.weather import load_weather
        from tailor.orchestration import run_date

        return load_weather(run_date(context).date()).as_dict()

    dbt_build = cosmos_config.DbtTaskGroup(
        group_id="dbt",
        project_config=cosmos_config.project_config(),
        profile_config=cosmos_config.profile_config(),
        render_config=cosmos_config.render_config(exclude=cosmos_config.STAGING),
        execution_config=cosmos_config.execution_config(),
        operator_args=cosmos_config.operator_args(),
    )

    @task(outlets=[MARTS])
    def marts_published() -> None:
        """Emits Asset `marts` once every model and test above succeeded."""

    matcher = identity_matcher()
    weather = weather_refresh()
    dbt_staging.tasks_map[MATCHER_INPUT] >> matcher
    dbt_staging >> [weather, dbt_build]
    matcher >> cosmos_config.readers(dbt_build, MATCHER_OUTPUT)
    weather >> cosmos_config.readers(dbt_build, WEATHER_OUTPUT)
    dbt_build >> marts_published()


tailor_transform()
