"""Binary COPY from Arrow stores exactly what the generator built (and what CSV stored)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from tailor.db.connect import connect
from tailor.source.load import Loader, copy_into, load_one

pytestmark = pytest.mark.integration

TS = pa.timestamp("s", tz="UTC")
AT = [datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC), datetime(1999, 12, 31, 0, 0, 1, tzinfo=UTC)]
TABLES = {
    "customers": pa.table({
        "customer_id": pa.array([1, 2], pa.int64()),
        "email": ["ada@example.com", None],
        "birth_date": pa.array([date(1990, 5, 17), None], pa.date32()),
        "country": ["DE", None],                     # char(2)
        "is_guest": [False, True],
        "created_at": pa.array(AT, TS),
        "updated_at": pa.array(AT[::-1], TS),
    }),
    "orders": pa.table({
        "order_id": pa.array([10, 11], pa.int64()),
        "customer_id": pa.array([1, None], pa.int64()),
        "status": ["paid", "placed"],
        "currency": ["EUR", "EUR"],                  # char(3)
        "order_total": [12345678.99, 0.1],           # numeric(12, 2) from doubles
        "ordered_at": pa.array(AT, TS),
        "updated_at": pa.array(AT, TS),
    }),
    "order_items": pa.table({
        "order_id": pa.array([10, 10], pa.int64()),
        "line_no": pa.array([1, 2], pa.int16()),     # smallint
        "product_id": pa.array([7, 8], pa.int64()),  # integer in the shop
        "quantity": pa.array([3, 1], pa.int32()),
        "unit_price": [4.99, 19.95],
    }),
    "web_events": pa.table({
        "event_id": pa.array([100, 101], pa.int64()),
        "event_type": ["purchase", "page_view"],
        "product_id": pa.array([None, 7], pa.int64()),
        "url": ["https://shop.example/ä?q=1,2", None],  # non-ASCII, comma
        "properties": ['{"revenue": 12.5, "currency": "EUR"}', "{}"],  # jsonb
        "occurred_at": pa.array(AT, TS),
        "received_at": pa.array(AT, TS),
    }),
}


def dump(conn, name: str, columns: list[str]) -> list[tuple]:
    return conn.execute(f"select {', '.join(columns)} from {name} order by 1, 2").fetchall()


def test_binary_load_round_trips_exactly(fresh_db) -> None:
    loader = Loader(fresh_db, workers=1)
    loader.submit(TABLES.items())
    stats = loader.wait()
    assert stats.rows == {name: table.num_rows for name, table in TABLES.items()}
    with connect("shop", fresh_db) as conn:
        customers = dump(conn, "customers", TABLES["customers"].column_names)
        assert customers == [tuple(row.values()) for row in TABLES["customers"].to_pylist()]
        assert dump(conn, "orders", ["order_id", "customer_id", "order_total", "ordered_at"]) == [
            (10, 1, Decimal("12345678.99"), AT[0]), (11, None, Decimal("0.10"), AT[1]),
        ]
        assert dump(conn, "order_items", ["line_no", "product_id", "unit_price"]) == [
            (1, 7, Decimal("4.99")), (2, 8, Decimal("19.95")),
        ]
        events = dump(conn, "web_events", ["event_id", "product_id", "url", "properties"])
        assert events == [
            (100, None, "https://shop.example/ä?q=1,2", {"revenue": 12.5, "currency": "EUR"}),
            (101, 7, None, {}),
        ]
        assert conn.execute("select pg_typeof(properties)::text from web_events limit 1").fetchone()[0] == "jsonb"


def test_binary_and_csv_routes_store_the_same_text(fresh_db) -> None:
    """The incremental slices still go through CSV: both routes must agree to the last character."""
    tables = {name: table for name, table in TABLES.items() if name != "order_items"}  # no products here
    texts = {}
    for route in ("binary", "csv"):
        with connect("shop", fresh_db) as conn:
            conn.execute("truncate customers, orders, web_events cascade")
        for name, table in tables.items():
            if route == "binary":
                load_one(fresh_db, name, table, bulk=True)
            else:
                with connect("shop", fresh_db) as conn:
                    copy_into(conn, name, table)
        with connect("shop", fresh_db) as conn:
            texts[route] = {
                name: conn.execute(f"select json_agg(t order by 1)::text from {name} t").fetchone()[0]
                for name in tables
            }
    assert texts["binary"] == texts["csv"]
    assert json.loads(texts["binary"]["orders"])[1]["customer_id"] is None
