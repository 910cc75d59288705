"""Schema changes in the shop while capture runs: landing keeps going, staging says what broke.

One continuous capture session (the JVM start dominates) sees four changes,
each on its own table so the outcomes do not mix:

==========  ================================================  ====================
case        change                                            staging
==========  ================================================  ====================
added       ``devices`` + ``os_version text``                 ignores it (not modelled)
retyped     ``orders.order_total`` numeric -> double          casts both shapes
dropped     ``products.currency`` dropped                     cdc_column_present fails
renamed     ``categories.parent_id`` -> ``parent_category``   cdc_column_present fails
==========  ================================================  ====================

Rows written after each change land with the new shape. For the dropped and
renamed columns, which the staging models read, the ``cdc_column_present``
test fails naming the column and the fix; for the other two it passes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import reset_databases

from tailor.cdc.capture import run_capture
from tailor.cdc.runs import CaptureResult
from tailor.config import Settings
from tailor.db.connect import connect
from tailor.transform.dbt import DbtResult, run_dbt

pytestmark = pytest.mark.integration

MODELS = ["stg_shop__devices", "stg_shop__orders", "stg_shop__products", "stg_shop__categories"]

SEED = """
insert into categories (category_id, name, parent_id) values (1, 'Tops', null), (2, 'Shirts', 1);
insert into products (product_id, sku, name, category_id, price, created_at, updated_at)
values (10, 'SKU-10', 'Shirt', 2, 19.90, now(), now());
insert into devices (device_id, device_type, os, browser, first_seen_at)
values ('d1', 'mobile', 'iOS', 'Safari', now());
insert into orders (order_id, email, status, order_total, ordered_at, updated_at)
values (100, 'a@example.com', 'paid', 123.45, now(), now());
"""
CHANGES = """
alter table devices add column os_version text;
insert into devices (device_id, device_type, os, browser, first_seen_at, os_version)
values ('d2', 'desktop', 'macOS', 'Firefox', now(), '14.1');
update devices set os_version = '17.1' where device_id = 'd1';

alter table orders alter column order_total type double precision;
insert into orders (order_id, email, status, order_total, ordered_at, updated_at)
values (101, 'b@example.com', 'placed', 9.5, now(), now());

alter table products drop column currency;
insert into products (product_id, sku, name, category_id, price, created_at, updated_at)
values (11, 'SKU-11', 'Blouse', 2, 29.00, now(), now());

alter table categories rename column parent_id to parent_category;
insert into categories (category_id, name, parent_category) values (3, 'Polos', 1);
"""
SNAPSHOT_ROWS = 5
STREAMED_ROWS = 5  # d2, d1 update, order 101, product 11, category 3


@dataclass
class Session:
    capture: CaptureResult
    build: DbtResult
    settings: Settings

    def raw_after(self, table: str, pk: str) -> dict[str, Any]:
        with connect("warehouse", self.settings) as wh:
            row = wh.execute(
                "select after from raw.cdc_events where source_table = %s and pk::text = %s "
                "order by landing_id desc limit 1",
                (table, pk),
            ).fetchone()
        assert row is not None, f"no change of {table} {pk} landed"
        return row[0]

    def staging(self, sql: str) -> list[tuple]:
        with connect("warehouse", self.settings) as wh:
            return wh.execute(sql).fetchall()

    def column_test(self, model: str) -> tuple[str, str]:
        (node,) = [
            n for n in self.build.nodes
            if n.name.startswith("cdc_column_present") and model in n.name
        ]
        return node.status, node.message


def landed(settings: Settings) -> int:
    with connect("warehouse", settings) as wh:
        return wh.execute("select count(*) from raw.cdc_events").fetchone()[0]


def wait_for(settings: Settings, count: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while landed(settings) < count:
        assert time.monotonic() < deadline, f"only {landed(settings)} of {count} changes landed"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def session(pg: Settings) -> Iterator[Session]:
    """Snapshot, then the four schema changes while a continuous capture runs; then dbt."""
    reset_databases(pg)
    with connect("shop", pg) as shop:
        shop.execute(SEED)
    stop = threading.Event()
    outcome: dict[str, Any] = {}

    def capture() -> None:
        try:
            outcome["result"] = run_capture(pg, continuous=True, max_seconds=120, stop=stop)
        except Exception as exc:  # surfaced below
            outcome["error"] = exc

    runner = threading.Thread(target=capture, name="schema-evolution-capture")
    runner.start()
    try:
        wait_for(pg, SNAPSHOT_ROWS)
        with connect("shop", pg) as shop:
            shop.execute(CHANGES)
        wait_for(pg, SNAPSHOT_ROWS + STREAMED_ROWS)
    finally:
        stop.set()
        runner.join(timeout=120)
    assert "error" not in outcome, outcome.get("error")
    build = run_dbt(["build", "-s", *MODELS, "--indirect-selection", "buildable"], settings=pg)
    yield Session(outcome["result"], build, pg)


def test_capture_kept_landing_through_every_change(session: Session) -> None:
    assert session.capture.status == "succeeded"
    assert session.capture.events_landed == SNAPSHOT_ROWS + STREAMED_ROWS


def test_added_column_lands_and_staging_ignores_it_until_modelled(session: Session) -> None:
    assert session.raw_after("devices", '{"device_id": "d2"}')["os_version"] == "14.1"
    assert session.raw_after("devices", '{"device_id": "d1"}')["os_version"] == "17.1"
    assert session.staging(
        "select device_id, os from staging.stg_shop__devices order by 1"
    ) == [("d1", "iOS"), ("d2", "macOS")]
    columns = session.staging(
        "select column_name from information_schema.columns "
        "where table_schema = 'staging' and table_name = 'stg_shop__devices'"
    )
    assert ("os_version",) not in columns
    assert session.column_test("stg_shop__devices")[0] == "pass"


def test_retyped_column_lands_in_its_new_shape_and_staging_casts_both(session: Session) -> None:
    assert session.raw_after("orders", '{"order_id": 100}')["order_total"] == "123.45"  # numeric
    assert session.raw_after("orders", '{"order_id": 101}')["order_total"] == 9.5  # double
    totals = session.staging("select order_id, order_total from staging.stg_shop__orders order by 1")
    assert [(order_id, float(total)) for order_id, total in totals] == [(100, 123.45), (101, 9.5)]
    assert session.column_test("stg_shop__orders")[0] == "pass"


def test_dropped_column_fails_the_staging_check_naming_column_and_fix(session: Session) -> None:
    assert "currency" not in session.raw_after("products", '{"product_id": 11}')  # landed anyway
    status, message = session.column_test("stg_shop__products")
    assert status == "error"
    assert (
        "column currency of shop.products no longer arrives in the change log "
        "(dropped or renamed?): update stg_shop__products"
    ) in message
    assert not session.build.success


def test_renamed_column_fails_the_staging_check_naming_the_old_name(session: Session) -> None:
    after = session.raw_after("categories", '{"category_id": 3}')
    assert after["parent_category"] == 1 and "parent_id" not in after
    status, message = session.column_test("stg_shop__categories")
    assert status == "error"
    assert (
        "column parent_id of shop.categories no longer arrives in the change log "
        "(dropped or renamed?): update stg_shop__categories"
    ) in message
