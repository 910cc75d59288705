"""
### tailor_capture — change data capture from the shop into `warehouse.raw`

Runs the Debezium Postgres connector (embedded engine, `pgoutput`) until it has
caught up with the shop's WAL position at the start of the run, or until the
time limit, and lands every change envelope in `raw.cdc_events`.

**Guarantees**: landing is idempotent (a re-delivered change lands nothing) and
Debezium's offsets advance only after the landing transaction commits, so a
retry or a crash at any moment neither loses nor duplicates a change.

**Produces**: the `raw` Asset, which triggers `tailor_transform`.

**Notes**: `TAILOR_CAPTURE_MAX_SECONDS` bounds a run (default 300). With
`TAILOR_KAFKA_BOOTSTRAP_SERVERS` set (production), the task consumes the change
topics Debezium writes from Kafka Connect instead, landing them with the same
code and committing Kafka offsets only after each landing commits.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from tailor.orchestration import DAG_DEFAULTS, RAW


@dag(
    dag_id="tailor_capture",
    schedule=timedelta(minutes=5),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    doc_md=__doc__,
    tags=["tailor", "cdc"],
    dagrun_timeout=timedelta(minutes=30),
    **DAG_DEFAULTS,
)
def tailor_capture():
    @task(outlets=[RAW], execution_timeout=timedelta(minutes=20))
    def capture_changes() -> dict:
        from dataclasses import asdict

        max_seconds = float(os.environ.get("TAILOR_CAPTURE_MAX_SECONDS", "300"))
        bootstrap = os.environ.get("TAILOR_KAFKA_BOOTSTRAP_SERVERS")
        if bootstrap:  # production: Debezium runs in Kafka Connect
            from tailor.cdc.kafka_source import capture_from_kafka

            result = capture_from_kafka(bootstrap_servers=bootstrap, max_seconds=max_seconds)
            return {k: v for k, v in asdict(result).items() if k not in ("targets", "committed")}
        from tailor.cdc.capture import run_capture

        return run_capture(max_seconds=max_seconds, until_caught_up=True).as_dict()

    capture_changes()


tailor_capture()
