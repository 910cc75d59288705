"""int_web_events_stitched built incrementally equals the same model rebuilt from scratch.

A run rewrites only the web events the change log says may have a new row
or a new stitching: the new events, and the anonymous events of the
anonymous ids whose stitching inputs changed (a new identified event with
that anonymous id, its anonymous_ids row, the customer_devices rows of its
device). Shown on a small captured shop, one change at a time: a login of
another customer on an anonymous id (its old anonymous events move to
them) with a new anonymous event elsewhere; a second owner on a device
(its anonymous visitor is no longer stitched) and the first owner leaving
(stitched to the second); the anonymous id moving to another device. After
each, exactly the expected events were rewritten (the others keep their
physical row) and the result equals a full refresh. An updated web event,
a deleted one (its anonymous id goes back to who it was seen with before),
a truncated customer_devices and a mark beyond the log's end recompute
every row, again equal to a rebuild.
"""

from __future__ import annotations

import pytest

from tailor.cdc.capture import run_capture
from tailor.config import Settings
from tailor.db.connect import connect
from tailor.source.generate import seed
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration

MODEL = "intermediate.int_web_events_stitched"


def build(settings: Settings, *extra: str) -> None:
    result = run_dbt(["run", "--select", "+int_web_events_stitched", *extra], settings=settings)
    assert result.success, result.summary()


def rows(settings: Settings) -> list[tuple]:
    with connect("warehouse", settings) as conn:
        return conn.execute(f"select * from {MODEL} order by web_event_id").fetchall()


def physical_rows(settings: Settings) -> dict[int, str]:
    with connect("warehouse", settings) as conn:
        return dict(conn.execute(f"select web_event_id, ctid::text from {MODEL}").fetchall())


def stitching(settings: Settings, web_event_ids: list[int]) -> dict[int, tuple]:
    """web_event_id -> (customer_id, stitched_by)."""
    with connect("warehouse", settings) as conn:
        found = conn.execute(
            f"select web_event_id, customer_id, stitched_by from {MODEL} where web_event_id = any(%s)",
            (web_event_ids,),
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in found}


def anonymous_events(settings: Settings, anonymous_id: str) -> list[int]:
    """The events of an anonymous id that carry no customer of their own."""
    with connect("warehouse", settings) as conn:
        found = conn.execute(
            f"select web_event_id from {MODEL} "
            "where anonymous_id = %s and stitched_by is distinct from 'event' order by 1",
            (anonymous_id,),
        ).fetchall()
    return [r[0] for r in found]


def assert_equals_rebuild(settings: Settings) -> None:
    """The incremental result, checked against a full refresh of the model on the same data."""
    incremental = rows(settings)
    build(settings, "--full-refresh")
    assert rows(settings) == incremental


def capture_and_build(settings: Settings) -> set[int]:
    """An incremental run after capture; the web events whose row it (re)wrote."""
    before = physical_rows(settings)
    run_capture(settings, max_seconds=120)
    build(settings)
    after = physical_rows(settings)
    assert before.keys() - after.keys() == set(), "no web event was deleted"
    return {event for event, ctid in after.items() if before.get(event) != ctid}


def insert_event(shop, message_id: str, customer_id: int | None, anonymous_id: str) -> int:
    (event_id,) = shop.execute(
        "insert into web_events (message_id, event_type, customer_id, anonymous_id, occurred_at, received_at) "
        "select %s, 'page_view', %s, %s, max(occurred_at) + interval '1 hour', "
        "max(occurred_at) + interval '1 hour' from web_events returning event_id",
        (message_id, customer_id, anonymous_id),
    ).fetchone()
    return event_id


def test_incremental_runs_equal_a_rebuild(fresh_db: Settings) -> None:
    settings = fresh_db
    seed(settings, customers=60, seed=17)
    with connect("shop", settings) as shop:
        ids = [r[0] for r in shop.execute("select customer_id from customers order by 1").fetchall()]
        owner, second_owner, other_owner = ids[-1], ids[-2], ids[-3]
        # two devices of one owner each, the first with an anonymous id no event carries yet
        for device, device_owner in (("test-device-1", owner), ("test-device-2", other_owner)):
            shop.execute(
                "insert into devices (device_id, device_type, first_seen_at) values (%s, 'desktop', now())",
                (device,),
            )
            shop.execute(
                "insert into customer_devices (customer_id, device_id, first_seen_at, last_seen_at) "
                "values (%s, %s, now(), now())",
                (device_owner, device),
            )
        shop.execute(
            "insert into anonymous_ids (anonymous_id, device_id, first_seen_at) "
            "values ('test-anonymous-id', 'test-device-1', now())"
        )
    run_capture(settings, max_seconds=120)
    build(settings)

    with connect("warehouse", settings) as conn:
        # an anonymous id whose anonymous events are stitched to the customer it was seen with
        (seen, seen_with) = conn.execute(
            f"select anonymous_id, customer_id from {MODEL} where stitched_by = 'anonymous_id' "
            "order by web_event_id limit 1"
        ).fetchone()
        (elsewhere,) = conn.execute(
            f"select anonymous_id from {MODEL} where stitched_by = 'event' and anonymous_id <> %s "
            "order by web_event_id limit 1",
            (seen,),
        ).fetchone()
    (newcomer,) = [c for c in ids if c not in (seen_with, owner, second_owner, other_owner)][:1]
    reattributed = anonymous_events(settings, seen)
    assert reattributed, "the seeded shop must have an anonymous id stitched through its events"

    # a login of another customer on that anonymous id; anonymous events elsewhere
    with connect("shop", settings) as shop:
        login = insert_event(shop, "test-login", newcomer, seen)
        anonymous = insert_event(shop, "test-anonymous", None, elsewhere)
        on_device = insert_event(shop, "test-on-device", None, "test-anonymous-id")
    rewritten = capture_and_build(settings)
    assert rewritten == {login, anonymous, on_device, *reattributed}
    assert set(stitching(settings, reattributed).values()) == {(newcomer, "anonymous_id")}
    assert stitching(settings, [on_device]) == {on_device: (owner, "device")}
    assert stitching(settings, [anonymous])[anonymous][1] == "anonymous_id"
    assert_equals_rebuild(settings)

    # a second owner: the device is shared, its anonymous visitor no one's
    with connect("shop", settings) as shop:
        shop.execute(
            "insert into customer_devices (customer_id, device_id, first_seen_at, last_seen_at) "
            "values (%s, 'test-device-1', now(), now())",
            (second_owner,),
        )
    assert capture_and_build(settings) == {on_device}
    assert stitching(settings, [on_device]) == {on_device: (None, None)}
    assert_equals_rebuild(settings)

    # the first owner leaves: single-owned again, by the second
    with connect("shop", settings) as shop:
        shop.execute(
            "delete from customer_devices where customer_id = %s and device_id = 'test-device-1'",
            (owner,),
        )
    assert capture_and_build(settings) == {on_device}
    assert stitching(settings, [on_device]) == {on_device: (second_owner, "device")}
    assert_equals_rebuild(settings)

    # the anonymous id moves to the other device
    with connect("shop", settings) as shop:
        shop.execute(
            "update anonymous_ids set device_id = 'test-device-2' where anonymous_id = 'test-anonymous-id'"
        )
    assert capture_and_build(settings) == {on_device}
    assert stitching(settings, [on_device]) == {on_device: (other_owner, "device")}
    assert_equals_rebuild(settings)

    # an updated web event: every row is recomputed
    with connect("shop", settings) as shop:
        shop.execute("update web_events set url = '/changed' where event_id = %s", (anonymous,))
    every = physical_rows(settings).keys()
    assert capture_and_build(settings) == every, "an updated web event must recompute every row"
    assert_equals_rebuild(settings)

    # a deleted one (the log keeps only its key): every row, and the login's
    # anonymous id goes back to the customer it was seen with before
    with connect("shop", settings) as shop:
        shop.execute("delete from web_events where event_id = %s", (login,))
    before = physical_rows(settings)
    run_capture(settings, max_seconds=120)
    build(settings)
    after = physical_rows(settings)
    assert after.keys() == before.keys() - {login}
    assert all(after[event] != before[event] for event in after), "a delete must recompute every row"
    assert set(stitching(settings, reattributed).values()) == {(seen_with, "anonymous_id")}
    assert_equals_rebuild(settings)

    # a truncated input: every row, and no device stitches anyone
    with connect("shop", settings) as shop:
        shop.execute("truncate customer_devices")
    every = physical_rows(settings).keys()
    assert capture_and_build(settings) == every, "a truncate must recompute every row"
    assert stitching(settings, [on_device]) == {on_device: (None, None)}
    with connect("warehouse", settings) as conn:
        (by_device,) = conn.execute(
            f"select count(*) from {MODEL} where stitched_by = 'device'"
        ).fetchone()
    assert by_device == 0
    assert_equals_rebuild(settings)

    # a mark beyond the log's end (a log restored from an older copy): every row
    with connect("warehouse", settings) as conn:
        (comment,) = conn.execute(
            f"select obj_description('{MODEL}'::regclass, 'pg_class')"
        ).fetchone()
        ahead = comment.replace("applied_through=", "applied_through=9")
        conn.execute(f"comment on table {MODEL} is '{ahead}'")
    before = physical_rows(settings)
    build(settings)
    after = physical_rows(settings)
    assert all(after[event] != before[event] for event in after), "a mark ahead must recompute"
    assert_equals_rebuild(settings)
