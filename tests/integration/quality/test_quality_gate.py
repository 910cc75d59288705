"""The GX quality gate on a warehouse built from the hand-made CDC fixture.

Each failure test breaks one thing, checks the gate names it, and repairs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fixtures.warehouse_build import AS_OF, load_raw_fixture, reset_warehouse

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.quality.gate import run_gate
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(pg: Settings) -> Iterator[Settings]:
    reset_warehouse(pg)
    load_raw_fixture(pg)  # landed_at = now, so the data is fresh
    with connect("warehouse", pg) as conn:  # freshness falls back to landed_at without capture runs
        conn.execute("delete from raw.cdc_runs")
    result = run_dbt(["build"], vars={"as_of": AS_OF}, settings=pg)
    assert result.success, result.summary()
    yield pg


def failed(result) -> list[str]:
    return [check.label() for check in result.failed_checks]


def test_gate_passes_on_good_data_and_builds_data_docs(built):
    result = run_gate(built)
    assert result.passed, failed(result)
    assert len(result.checks) >= 12
    assert result.data_docs_index.exists()
    assert result.as_dict()["passed"] is True


def test_gate_fails_on_duplicate_person_id(built):
    # dbt's contract makes person_id the primary key of int_persons_profiled,
    # the table under the customer_profiles view; the gate checks the view as
    # it finds it, so it must still catch a duplicate from a table that lost
    # the key (rebuilt by hand, restored from elsewhere)
    table = "intermediate.int_persons_profiled"
    with connect("warehouse", built) as conn:
        (key,) = conn.execute(
            f"select conname from pg_constraint where conrelid = '{table}'::regclass and contype = 'p'"
        ).fetchone()
        conn.execute(f'alter table {table} drop constraint "{key}"')
        conn.execute(f"insert into {table} select * from {table} where email = 'alice@example.com'")
    try:
        result = run_gate(built)
    finally:
        with connect("warehouse", built) as conn:
            conn.execute(f"""
                delete from {table} where ctid in (
                    select max(ctid) from {table} where email = 'alice@example.com')
            """)
            conn.execute(f'alter table {table} add constraint "{key}" primary key (person_id)')
    assert not result.passed
    assert failed(result) == ["customer_profiles: expect_column_values_to_be_unique(person_id)"]


def test_gate_fails_on_audience_row_without_consent(built):
    # a well-formed audience row (a real segment, every required field) for
    # Erin, who withdrew consent: only the cross-table consent rule can catch it
    with connect("warehouse", built) as conn:
        conn.execute("""
            insert into marts.sync_email__audience
            select (jsonb_populate_record(
                null::marts.sync_email__audience,
                to_jsonb(audience) || jsonb_build_object('person_id', erin.person_id, 'email', erin.email)
            )).*
            from (select * from marts.sync_email__audience limit 1) as audience
            cross join (
                select person_id, email from marts.customer_profiles where email = 'erin@example.com'
            ) as erin
        """)
    try:
        result = run_gate(built)
    finally:
        with connect("warehouse", built) as conn:
            conn.execute("delete from marts.sync_email__audience where email = 'erin@example.com'")
    assert not result.passed
    assert len(failed(result)) == 1
    assert failed(result)[0].startswith("email_audience_consent:")
    assert "1 unexpected rows" in result.failed_checks[0].observed


def test_gate_fails_when_raw_is_stale(built, monkeypatch):
    monkeypatch.setenv("TAILOR_MAX_STALENESS_HOURS", "6")
    result = run_gate(built, logical_date=datetime.now(UTC) + timedelta(hours=7))
    assert not result.passed
    assert failed(result) == ["raw_freshness: expect_column_min_to_be_between(captured_through_epoch)"]
    assert "max 6 h" in result.failed_checks[0].observed


@pytest.fixture
def capture_runs(built) -> Iterator[Settings]:
    """raw.cdc_runs rows for one test, removed afterwards."""
    yield built
    with connect("warehouse", built) as conn:
        conn.execute("delete from raw.cdc_runs")


def _capture_run(settings: Settings, status: str, captured_through: datetime | None, lag_bytes: int) -> None:
    with connect("warehouse", settings) as conn:
        conn.execute(
            "insert into raw.cdc_runs (connector, started_at, finished_at, status, captured_through, lag_bytes) "
            "values ('tailor', %s, %s, %s, %s, %s)",
            (datetime.now(UTC), datetime.now(UTC), status, captured_through, lag_bytes),
        )


def test_freshness_reads_the_last_succeeded_capture_not_the_last_landing(capture_runs, monkeypatch):
    """Rows landed just now (the fixture) do not make raw fresh when capture says it is behind."""
    monkeypatch.setenv("TAILOR_MAX_STALENESS_HOURS", "6")
    _capture_run(capture_runs, "succeeded", datetime.now(UTC) - timedelta(hours=9), 1_000)
    _capture_run(capture_runs, "failed", None, 1_000)  # a later failed run proves nothing
    result = run_gate(capture_runs)
    assert not result.passed
    assert failed(result) == ["raw_freshness: expect_column_min_to_be_between(captured_through_epoch)"]
    assert "9.0 h before" in result.failed_checks[0].observed

    _capture_run(capture_runs, "succeeded", datetime.now(UTC) - timedelta(minutes=5), 1_000)
    assert run_gate(capture_runs).passed


def test_gate_fails_when_capture_lags_too_many_bytes(capture_runs, monkeypatch):
    monkeypatch.setenv("TAILOR_MAX_LAG_BYTES", str(64 * 1024**2))
    _capture_run(capture_runs, "succeeded", datetime.now(UTC), 200 * 1024**2)
    result = run_gate(capture_runs)
    assert not result.passed
    assert failed(result) == ["raw_freshness: expect_column_max_to_be_between(lag_bytes)"]
    assert "200.0 MB (max 64 MB)" in result.failed_checks[0].observed
