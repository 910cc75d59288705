"""
### tailor_train

Retrains the identity matcher once a week: estimates the Splink
(Fellegi-Sunter) model on the current customer records, stores it as a new
version in `ml.identity_models` (model JSON plus the term-frequency tables
of first name, last name and city), then rescores every candidate pair with
it so `ml.identity_links` all come from the newest model.

**Notes**

- The transform DAG only scores (incrementally, with the newest stored
  model); nothing but this DAG and `tailor identity train` trains, so link
  scores stay put between trainings.
- Training twice on the same data gives the same model version.
- The rescored links become graph edges at the next `tailor_transform` run
  (it follows every capture); its matcher step then finds nothing changed.
- Reads the staging views: a warehouse whose staging was never built fails
  with a message saying so.
- Run it alone: `airflow dags test tailor_train`; without Airflow:
  `tailor identity train && tailor identity resolve --full`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from tailor.orchestration import DAG_DEFAULTS


@dag(
    dag_id="tailor_train",
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    doc_md=__doc__,
    tags=["tailor", "identity", "ml"],
    dagrun_timeout=timedelta(hours=2),
    **DAG_DEFAULTS,
)
def tailor_train() -> None:
    @task
    def train_identity_model() -> str:
        """Trains the matcher on the current records and registers the new model version."""
        from tailor.identity.matcher import train_model

        return train_model().summary()

    @task
    def rescore_all_pairs() -> str:
        """Rescores every pair with the newest model, replacing ml.identity_links."""
        from tailor.identity.matcher import run_matcher

        return run_matcher(full=True).summary()

    train_identity_model() >> rescore_all_pairs()


tailor_train()
