"""The constraints the YAML declares are kept: by Postgres on tables, by constraints_hold on views.

Row-level rules (not null, accepted values, ranges, keys) are declared as
dbt constraints. A table with an enforced contract gets them from
macros/contracts.sql (CREATE TABLE AS, then one ALTER TABLE); a view cannot
hold constraints, so its constraints_hold test checks them in one read.
Both are shown failing here on a customer whose gender the shop's rules do
not allow, landed in raw after the build, and the failure names the rule but
not the customer's data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fixtures.warehouse_build import AS_OF, load_raw_fixture, reset_warehouse

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration

BAD_EMAIL = "mallory.constraint@example.com"
CUSTOMERS_VIEW_TEST = "constraints_hold_stg_shop__customers_"


@pytest.fixture(scope="module")
def built(pg: Settings) -> Iterator[Settings]:
    reset_warehouse(pg)
    load_raw_fixture(pg)
    result = run_dbt(
        ["run", "--select", "+int_customers_resolved"], vars={"as_of": AS_OF}, settings=pg
    )
    assert result.success, result.summary()
    yield pg


def land_customer(settings: Settings, customer_id: int, gender: str) -> None:
    """A customer as the capture lands it: after the build, so only the staging view's tail has it."""
    after = {
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
    with connect("warehouse", settings) as conn:
        conn.execute(
            "insert into raw.cdc_events (source_table, op, pk, before, after, source_lsn, tx_id, source_ts, captured_at) "
            "values ('customers', 'c', %s, null, %s, 99000 + %s, 99000 + %s, '2024-06-01T00:00:00Z', '2024-06-01T00:00:00Z')",
            (json.dumps({"customer_id": customer_id}), json.dumps(after), customer_id, customer_id),
        )


def failed_constraints(settings: Settings, test_name: str) -> list[tuple[str, int]]:
    """What the compiled constraints_hold test returns: (constraint, rows breaking it)."""
    compiled = next((settings.dbt_target_dir / "compiled").rglob(f"{test_name}.sql")).read_text()
    with connect("warehouse", settings) as conn:
        return conn.execute(compiled).fetchall()


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
        assert failed_constraints(built, CUSTOMERS_VIEW_TEST) == [
            ("check (gender in ('female', 'male', 'non_binary'))", 1)
        ]

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
        with connect("warehouse", built) as conn:
            conn.execute("delete from raw.cdc_events where source_lsn > 99000")
