"""The generator and the importer against the real embedded PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tailor.db.connect import connect
from tailor.source.generate import seed
from tailor.source.importer import import_file

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
UNTIL = datetime(2024, 6, 30, tzinfo=UTC)


def count(conn, table: str) -> int:
    return conn.execute(f"select count(*) from {table}").fetchone()[0]


def test_fresh_then_incremental_seed(fresh_db) -> None:
    summary = seed(fresh_db, customers=500, seed=3, until=UNTIL)
    assert summary.mode == "fresh"
    with connect("shop", fresh_db) as conn:
        for table, rows in summary.inserted.items():
            assert count(conn, table) == rows, table
        assert count(conn, "customers") == 500
        assert count(conn, "truth.customer_persons") == 500
        persons_with_two = conn.execute(
            "select count(*) from (select person_key from truth.customer_persons group by 1 having count(*) > 1) x"
        ).fetchone()[0]
        assert persons_with_two >= 10
        assert conn.execute("select max(occurred_at) < %s from web_events", (UNTIL,)).fetchone()[0]
        before = {t: count(conn, t) for t in ("customers", "orders", "carts")}
        new_id = conn.execute(
            "insert into customers (email, created_at, updated_at) values ('seq@check.example', now(), now()) returning customer_id"
        ).fetchone()[0]
        assert new_id > 500, "identity sequences were moved past the generated ids"
        conn.rollback()
        latest = conn.execute("select max(occurred_at) from web_events").fetchone()[0]

    again = seed(fresh_db, seed=3)
    assert again.mode == "incremental"
    assert latest < again.window_start <= UNTIL
    assert again.customers >= 1
    assert again.updated.get("customers", 0) >= 1
    assert sum(again.deleted.values()) >= 0
    with connect("shop", fresh_db) as conn:
        assert count(conn, "customers") == before["customers"] + again.customers
        assert count(conn, "orders") == before["orders"] + again.inserted["orders"]
        assert count(conn, "carts") == before["carts"] + again.inserted["carts"] - again.deleted.get("carts", 0)
        edited = conn.execute("select count(*) from customers where updated_at >= %s", (again.window_start,)).fetchone()[0]
        assert edited >= again.updated["customers"]


def test_import_examples_load_good_rows_and_quarantine_bad(fresh_db) -> None:
    customers = import_file("customers", EXAMPLES / "customers.csv", EXAMPLES / "customers_mapping.yml", fresh_db)
    assert customers.rows == 20
    assert customers.loaded + customers.quarantined == 20
    assert customers.quarantined == 7
    assert customers.by_reason["invalid email"] == 2
    assert set(customers.unknown_columns) == {"Kundennummer", "Newsletter"}
    orders = import_file("orders", EXAMPLES / "orders.csv", EXAMPLES / "orders_mapping.yml", fresh_db)
    assert orders.loaded == 4 and orders.quarantined == 6
    with connect("shop", fresh_db) as conn:
        assert count(conn, "customers") == customers.loaded
        assert count(conn, "orders") == orders.loaded
        rows = conn.execute(
            "select entity, row_number, raw_row ->> 'E-Mail', reason from import_quarantine where entity = 'customers' order by row_number"
        ).fetchall()
        assert len(rows) == 7
        assert rows[0][1:3] == (6, "paul.becker@@web.de")
        assert rows[0][3].startswith("email 'paul.becker@@web.de' is not a valid address")
        assert conn.execute("select count(*) from import_quarantine where entity = 'orders'").fetchone()[0] == 6
