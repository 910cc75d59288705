"""The constraints the YAML declares are kept: by Postgres on tables, by constraints_hold on views.

Row-level rules (not null, accepted values, ranges, keys) are declared as
dbt constraints. A table with an enforced contract gets them from
macros/contracts.sql (CREATE TABLE AS, then one ALTER TABLE); a view cannot
hold constraints, so its constraints_hold test checks them in one read.
Both are shown failing here on a customer whose gender the shop's rules do
not allow, landed in raw after the build, and the failure names the rule but
not the customer's data.

A staging (cdc_incremental) view is its state table plus the tail landed
since: Postgres enforces the rules on the state table's live rows
(macros/cdc_incremental.sql), so an incremental build that would apply a
broken row fails naming the rule, before any row reaches an error message,
and keeps the previous state; the view's test reads only the tail and the
keys where tail and state could collide; a state table built before the
constraints gets them on its next run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.warehouse_build import AS_OF, load_raw_fixture, reset_warehouse

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.transform.dbt import DbtResult, run_dbt

pytestmark = pytest.mark.integration

BAD_EMAIL = "mallory.constraint@example.com"
CUSTOMERS_VIEW_TEST = "constraints_hold_stg_shop__customers_"
INTERESTS_VIEW_TEST = "constraints_hold_stg_shop__interests_"
GENDER_RULE = "check (gender in ('female', 'male', 'non_binary'))"
# What this module lands in raw: removed again after each test.
LANDED = "source_lsn > 99000"


@pytest.fixture(scope="module")
def built(pg: Settings) -> Iterator[Settings]:
    reset_warehouse(pg)
    load_raw_fixture(pg)
    result = run_dbt(
        ["run", "--select", "+int_customers_resolved"], vars={"as_of": AS_OF}, settings=pg
    )
    assert result.success, result.summary()
    yield pg


def land(settings: Settings, table: str, pk: dict, after: dict, lsn: int, op: str = "c") -> None:
    """One change as the capture lands it, at source_lsn 99000 + lsn (later than the fixture's)."""
    with connect("warehouse", settings) as conn:
        conn.execute(
            "insert into raw.cdc_events (source_table, op, pk, before, after, source_lsn, tx_id, source_ts, captured_at) "
            "values (%s, %s, %s, null, %s, 99000 + %s, 99000 + %s, '2024-06-01T00:00:00Z', '2024-06-01T00:00:00Z')",
            (table, op, json.dumps(pk), json.dumps(after), lsn, lsn),
        )


def land_customer(settings: Settings, customer_id: int, gender: str) -> None:
    """A customer as the capture lands it: after the build, so only the staging view's tail has it."""
    land(settings, "customers", {"customer_id": customer_id}, customer_row(customer_id, gender), customer_id)


def customer_row(customer_id: int, gender: str) -> dict:
    return {
        "customer_id": customer_id,
        "email": BAD_EMAIL,
        "first_name": "Mallory",
        "last_name": "Constraint",
        "birth_date": "1990-01-01",
        "gender": gender,
        "phone": None,
        "city": "Berlin",
        "postcode": "10115",
        "country": "DE",
        "timezone": "Europe/Berlin",
        "income_band": "low",
        "is_guest": False,
        "created_at": "2024-06-01T00:00:00Z",
        "updated_at": "2024-06-01T00:00:00Z",
    }


def remove_landed(settings: Settings) -> None:
    with connect("warehouse", settings) as conn:
        conn.execute(f"delete from raw.cdc_events where {LANDED}")


def compiled_test(settings: Settings, test_name: str) -> str:
    return next((settings.dbt_target_dir / "compiled").rglob(f"{test_name}.sql")).read_text()


def failed_constraints(settings: Settings, test_name: str) -> list[tuple[str, int]]:
    """What the compiled constraints_hold test returns: (constraint, rows breaking it)."""
    with connect("warehouse", settings) as conn:
        return conn.execute(compiled_test(settings, test_name)).fetchall()


def view_test(settings: Settings, test_name: str) -> DbtResult:
    return run_dbt(["test", "--select", test_name], vars={"as_of": AS_OF}, settings=settings)


def build(settings: Settings, model: str) -> DbtResult:
    return run_dbt(["run", "--select", model], vars={"as_of": AS_OF}, settings=settings)


def state_of(settings: Settings, model: str) -> tuple[str, int, str]:
    """The state table's watermark (its comment), row count and a digest of its rows."""
    with connect("warehouse", settings) as conn:
        (comment,) = conn.execute(
            "select obj_description(%s::regclass, 'pg_class')", (f"staging.{model}__state",)
        ).fetchone()
        count, digest = conn.execute(
            f"select count(*), md5(string_agg(t::text, '|' order by t::text)) from staging.{model}__state as t"
        ).fetchone()
    return comment, count, digest


def state_rules(settings: Settings, model: str) -> dict[str, str]:
    """The state table's constraints and unique indexes from the YAML (named tailor_...): name -> definition."""
    state = f"staging.{model}__state"
    with connect("warehouse", settings) as conn:
        return dict(
            conn.execute(
                r"select conname::text, pg_get_constraintdef(oid) from pg_constraint "
                r"where conrelid = %s::regclass and conname like 'tailor\_%%' "
                r"union all "
                r"select index.relname::text, pg_get_indexdef(index.oid) from pg_index "
                r"join pg_class as index on index.oid = pg_index.indexrelid "
                r"where pg_index.indrelid = %s::regclass and index.relname like 'tailor\_%%'",
                (state, state),
            ).fetchall()
        )


def dbt_log(settings: Settings) -> Path:
    return settings.home / "dbt" / "logs" / "dbt.log"


def state_rows_read(plan: dict, relation: str) -> float:
    """Rows the plan read from `relation` (returned or filtered away, over all loops)."""
    own = 0.0
    if plan.get("Relation Name") == relation:
        own = plan.get("Actual Loops", 1) * (
            plan.get("Actual Rows", 0)
            + plan.get("Rows Removed by Filter", 0)
            + plan.get("Rows Removed by Index Recheck", 0)
        )
    return own + sum(state_rows_read(child, relation) for child in plan.get("Plans", []))


def test_views_and_tables_pass_on_good_data(built):
    view = run_dbt(["test", "--select", CUSTOMERS_VIEW_TEST], vars={"as_of": AS_OF}, settings=built)
    assert view.success and view.count("pass") == 1, view.summary()
    with connect("warehouse", built) as conn:
        kinds = {
            kind
            for (kind,) in conn.execute(
                "select contype from pg_constraint where conrelid = 'intermediate.int_customers_resolved'::regclass"
            )
        }
        not_null = {
            column
            for (column,) in conn.execute(
                "select attname from pg_attribute where attrelid = 'intermediate.int_customers_resolved'::regclass "
                "and attnum > 0 and attnotnull"
            )
        }
    assert kinds == {"p", "c"}, "the contract's primary key and checks must be on the table"
    assert {"customer_id", "person_id", "is_valid_email"} <= not_null


def test_a_broken_rule_fails_the_view_test_and_the_table_build_without_showing_the_row(built):
    land_customer(built, 9001, "robot")
    try:
        view = run_dbt(
            ["test", "--select", CUSTOMERS_VIEW_TEST], vars={"as_of": AS_OF}, settings=built
        )
        assert not view.success and [n.name for n in view.failures] == [CUSTOMERS_VIEW_TEST], (
            view.summary()
        )
        assert failed_constraints(built, CUSTOMERS_VIEW_TEST) == [(GENDER_RULE, 1)]
        assert "tail as materialized" in compiled_test(built, CUSTOMERS_VIEW_TEST), (
            "the state table holds the rules: the staging view's test must read only its tail"
        )

        table = run_dbt(
            ["run", "--select", "+int_customers_resolved", "--exclude", "staging"],
            vars={"as_of": AS_OF},
            settings=built,
        )
        assert not table.success, table.summary()
        (failure,) = table.failures
        assert (
            "check constraint" in failure.message and "violated by some row" in failure.message
        ), failure.message
        assert "mallory" not in failure.message.lower(), (
            "a constraint failure must not print the row's data"
        )
        with connect("warehouse", built) as conn:
            (kept,) = conn.execute(
                "select count(*) from intermediate.int_customers_resolved where customer_id = 9001"
            ).fetchone()
        assert kept == 0, "the failed build must leave the previous table in place"
    finally:
        remove_landed(built)


# ---- staging: cdc_incremental state tables --------------------------------------


def test_a_staging_view_test_right_after_a_build_reads_no_state_row(built):
    """The tail is empty right after a build, so the test reads no row of the state table.

    Its rows are the view's above the watermark, which reach the state table
    through its `_landing_id` index. Sequential scans are off for the plan:
    on a table of the fixture's size the planner would read the few rows
    whatever the query, and a large table is where this matters.
    """
    assert build(built, "stg_shop__customers").success
    view = view_test(built, CUSTOMERS_VIEW_TEST)
    assert view.success, view.summary()
    with connect("warehouse", built) as conn:
        conn.execute("set enable_seqscan = off")
        ((plan,),) = conn.execute(
            "explain (analyze, format json) " + compiled_test(built, CUSTOMERS_VIEW_TEST)
        ).fetchone()
        (state_rows,) = conn.execute("select count(*) from staging.stg_shop__customers__state").fetchone()
    assert state_rows > 0
    assert state_rows_read(plan["Plan"], "stg_shop__customers__state") == 0


def test_an_incremental_build_that_would_apply_a_broken_rule_fails_naming_it_and_keeps_the_state(built):
    """The change is counted against the rules before it is inserted: the build stops naming the rule
    and its count, the log never shows the row (an INSERT breaking a constraint would print it in its
    DETAIL), and the state table keeps its rows and watermark."""
    model = "stg_shop__customers"
    assert build(built, model).success
    assert state_rules(built, model), "the state table must hold the YAML's constraints"
    before = state_of(built, model)
    log = dbt_log(built)
    offset = log.stat().st_size
    land_customer(built, 9002, "robot")
    try:
        result = build(built, model)
        assert not result.success, result.summary()
        written = log.read_bytes()[offset:].decode()
        assert "mallory" not in written.lower(), "a constraint failure must not print the row's data"
        (failure,) = result.failures
        assert f"{GENDER_RULE} (tailor_" in failure.message and "1 row(s)" in failure.message, failure.message
        assert state_of(built, model) == before, "the failed build must keep the previous state"
    finally:
        remove_landed(built)
    assert build(built, model).success


def test_a_rebuilt_state_table_breaking_a_rule_fails_naming_the_constraint_not_the_row(built):
    """Rebuilt (a full refresh, a changed column, new rules), the state table gets its rules in one
    ALTER TABLE after CREATE TABLE AS, as contracted tables do: Postgres names the constraint, not
    the row, and the state being replaced stays."""
    model = "stg_shop__customers"
    assert build(built, model).success
    before = state_of(built, model)
    log = dbt_log(built)
    offset = log.stat().st_size
    land_customer(built, 9003, "robot")
    try:
        result = run_dbt(["run", "--select", model, "--full-refresh"], vars={"as_of": AS_OF}, settings=built)
        assert not result.success, result.summary()
        assert "mallory" not in log.read_bytes()[offset:].decode().lower(), (
            "a constraint failure must not print the row's data"
        )
        (failure,) = result.failures
        assert (
            "check constraint" in failure.message
            and "_gender_check" in failure.message
            and "violated by some row" in failure.message
        ), failure.message
        assert state_of(built, model) == before, "the failed build must keep the previous state"
    finally:
        remove_landed(built)


def test_a_tail_change_of_a_key_the_state_holds_replaces_its_row(built):
    """Most staging keys are the change log's own key (`_pk`): a tail row of a key the state holds
    supersedes the state's row (or loses to a later one), so the view never shows both and a key
    cannot repeat between them."""
    model = "stg_shop__customers"
    assert build(built, model).success
    land(built, "customers", {"customer_id": 1}, customer_row(1, "female") | {"city": "Tailorville"}, 1, "u")
    try:
        view = view_test(built, CUSTOMERS_VIEW_TEST)
        assert view.success, view.summary()
        with connect("warehouse", built) as conn:
            rows = conn.execute("select city from staging.stg_shop__customers where customer_id = 1").fetchall()
        assert rows == [("Tailorville",)]
    finally:
        remove_landed(built)


def interest(customer_id: int, name: str) -> tuple[dict, dict]:
    """An interests row: its key in the shop and its image."""
    return (
        {"customer_id": customer_id, "interest": name},
        {"customer_id": customer_id, "interest": name, "source": "survey", "recorded_at": "2024-06-01T00:00:00Z"},
    )


def test_a_key_repeating_between_the_state_and_the_tail_fails_the_view_test_and_the_next_build(built):
    """A key computed from more than the change log's key can repeat: interests are keyed
    (customer_id, interest) with the interest lower-cased and trimmed, so the shop's 'running'
    and ' Running' are two rows there and one key in staging."""
    model = "stg_shop__interests"
    rule = "primary_key (customer_id, interest): repeated"
    land(built, "interests", *interest(1, "running"), 201)
    try:
        assert build(built, model).success
        land(built, "interests", *interest(1, " Running"), 202)  # in the tail only

        view = view_test(built, INTERESTS_VIEW_TEST)
        assert not view.success, view.summary()
        assert "tail as materialized" in compiled_test(built, INTERESTS_VIEW_TEST)
        assert failed_constraints(built, INTERESTS_VIEW_TEST) == [(rule, 1)]

        before = state_of(built, model)
        applied = build(built, model)
        assert not applied.success, applied.summary()
        (failure,) = applied.failures
        assert f"{rule} (tailor_" in failure.message and "1 row(s)" in failure.message, failure.message
        assert state_of(built, model) == before, "the failed build must keep the previous state"
    finally:
        remove_landed(built)
    assert build(built, model).success  # the state is ahead of the log now: rebuilt from it


def test_a_state_table_built_without_the_constraints_gets_them_on_its_next_run(built):
    """A warehouse deployed before the state tables held the rules picks them up without a full
    refresh; until then the view's test cannot trust the state table and reads the whole view."""
    model = "stg_shop__customers"
    assert build(built, model).success
    rules = state_rules(built, model)
    assert len(rules) == 4, rules  # customer_id (not null, unique), is_valid_email, gender
    with connect("warehouse", built) as conn:
        rows = conn.execute("select * from staging.stg_shop__customers order by customer_id").fetchall()
        for name, definition in rules.items():
            if definition.startswith("CREATE UNIQUE INDEX"):
                conn.execute(f"drop index staging.{name}")
            else:
                conn.execute(f"alter table staging.{model}__state drop constraint {name}")

    view = view_test(built, CUSTOMERS_VIEW_TEST)
    assert view.success, view.summary()
    assert "tail as materialized" not in compiled_test(built, CUSTOMERS_VIEW_TEST)

    assert build(built, model).success
    assert state_rules(built, model) == rules
    with connect("warehouse", built) as conn:
        assert conn.execute("select * from staging.stg_shop__customers order by customer_id").fetchall() == rows
    view = view_test(built, CUSTOMERS_VIEW_TEST)
    assert view.success, view.summary()
    assert "tail as materialized" in compiled_test(built, CUSTOMERS_VIEW_TEST)
