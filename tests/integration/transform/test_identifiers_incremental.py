"""int_identifiers_normalized built incrementally equals the same model rebuilt from scratch.

A run recomputes only the customer records the change log says may have new
identifiers (the record, its devices, a new web event of theirs) and recounts
customers_sharing for every record sharing an identifier they have or had.
Shown on a small captured shop: an email edited onto another customer's
address (the untouched customer's count goes up), a phone removed, an
anonymous id shared by a second customer's new web event, a customer deleted;
then the email moved on again (the owner's count goes back down).
The rows of records nobody touched are not rewritten (same physical row
before and after), so the run really was incremental. A deleted web event
(whose anonymous id the log no longer has), a changed identity var and a
mark beyond the log's end make the next run recompute everything, again
equal to a rebuild.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tailor.cdc.capture import run_capture
from tailor.config import Settings
from tailor.db.connect import connect
from tailor.source.generate import seed
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration

# The seed's history ends here, not today: the generator's data depends on
# (seed, until), and the changes this test makes need a shape some days' data
# lacks (a seed ending 2026-12-04 gave the email owner a second namesake and
# the 5% change no cart).
SEED_UNTIL = datetime(2026, 12, 3, tzinfo=UTC)

MODEL = "intermediate.int_identifiers_normalized"


def build(settings: Settings, *extra: str, dbt_vars: dict | None = None) -> None:
    result = run_dbt(
        ["run", "--select", "+int_identifiers_normalized", *extra], vars=dbt_vars, settings=settings
    )
    assert result.success, result.summary()


def rows(settings: Settings) -> list[tuple]:
    with connect("warehouse", settings) as conn:
        return conn.execute(f"select * from {MODEL} order by 1, 2, 3").fetchall()


def physical_rows(settings: Settings, customer_ids: list[int]) -> list[tuple]:
    with connect("warehouse", settings) as conn:
        return conn.execute(
            f"select ctid::text, customer_id, identifier_type from {MODEL} "
            "where customer_id = any(%s) order by 2, 3",
            (customer_ids,),
        ).fetchall()


def assert_equals_rebuild(settings: Settings, dbt_vars: dict | None = None) -> list[tuple]:
    """The incremental result, checked against a full refresh of the model on the same data."""
    incremental = rows(settings)
    build(settings, "--full-refresh", dbt_vars=dbt_vars)
    assert rows(settings) == incremental
    return incremental


def test_incremental_runs_equal_a_rebuild(fresh_db: Settings) -> None:
    settings = fresh_db
    seed(settings, customers=60, seed=17, until=SEED_UNTIL)
    run_capture(settings, max_seconds=120)
    build(settings)

    with connect("shop", settings) as shop:
        ids = [r[0] for r in shop.execute("select customer_id from customers order by 1").fetchall()]
        taker, owner, phoneless, deleted = ids[0], ids[1], ids[2], ids[3]
        untouched = ids[-5:]
        shop.execute(
            "update customers set email = (select email from customers where customer_id = %s), "
            "updated_at = updated_at + interval '1 second' where customer_id = %s",
            (owner, taker),
        )
        shop.execute(
            "update customers set phone = null, updated_at = updated_at + interval '1 second' "
            "where customer_id = %s",
            (phoneless,),
        )
        (shared_anonymous_id, anonymous_owner) = shop.execute(
            "select anonymous_id, customer_id from web_events "
            "where customer_id is not null and anonymous_id is not null "
            "and customer_id not in (%s, %s, %s, %s) order by event_id limit 1",
            (taker, owner, phoneless, deleted),
        ).fetchone()
        shop.execute(
            "insert into web_events (message_id, event_type, customer_id, anonymous_id, occurred_at, received_at) "
            "values ('test-shared-anonymous-id', 'page_view', %s, %s, now(), now())",
            (taker, shared_anonymous_id),
        )
        shop.execute("delete from customers where customer_id = %s", (deleted,))
    untouched = [c for c in untouched if c != anonymous_owner]
    before = physical_rows(settings, untouched)
    assert before, "the untouched customers must have identifier rows to watch"
    run_capture(settings, max_seconds=120)
    build(settings)

    assert physical_rows(settings, untouched) == before, "rows of untouched records were rewritten"
    incremental = assert_equals_rebuild(settings)
    emails = {r[0]: r for r in incremental if r[1] == "email" and r[0] in (taker, owner)}
    assert emails[taker][2] == emails[owner][2] and emails[owner][3] == 2  # recounted, though untouched
    anonymous = [r for r in incremental if r[1] == "anonymous_id" and r[2] == shared_anonymous_id]
    assert {r[0] for r in anonymous} == {taker, anonymous_owner} and {r[3] for r in anonymous} == {2}
    assert not [r for r in incremental if r[0] == deleted]
    assert not [r for r in incremental if r[0] == phoneless and r[1] == "phone"]

    # the taker moves on to an address of their own: the owner, untouched, is alone again
    with connect("shop", settings) as shop:
        shop.execute(
            "update customers set email = 'moved.on@example.org', "
            "updated_at = updated_at + interval '2 seconds' where customer_id = %s",
            (taker,),
        )
    run_capture(settings, max_seconds=120)
    build(settings)
    moved = assert_equals_rebuild(settings)
    assert [r[3] for r in moved if r[0] == owner and r[1] == "email"] == [1]

    # a deleted web event: the log keeps only its key, so everything is recomputed
    with connect("shop", settings) as shop:
        shop.execute("delete from web_events where message_id = 'test-shared-anonymous-id'")
    run_capture(settings, max_seconds=120)
    before = physical_rows(settings, untouched)
    build(settings)
    assert physical_rows(settings, untouched) != before, "a deleted web event must recompute every row"
    after_delete = assert_equals_rebuild(settings)
    assert {r[0] for r in after_delete if r[2] == shared_anonymous_id} == {anonymous_owner}

    # a changed guardrail: every verdict is recomputed on the next run
    (owner_email,) = [r[2] for r in after_delete if r[0] == owner and r[1] == "email"]
    stricter = {"identity_blocked_values": ["", "null", owner_email]}
    build(settings, dbt_vars=stricter)
    stricter_rows = assert_equals_rebuild(settings, dbt_vars=stricter)
    (owner_row,) = [r for r in stricter_rows if r[0] == owner and r[1] == "email"]
    assert owner_row[5] == "blocked_value" and owner_row[6] is False

    # a mark beyond the log's end (a log restored from an older copy): recompute everything
    with connect("warehouse", settings) as conn:
        (comment,) = conn.execute(
            f"select obj_description('{MODEL}'::regclass, 'pg_class')"
        ).fetchone()
        ahead = comment.replace("applied_through=", "applied_through=9")
        conn.execute(f"comment on table {MODEL} is '{ahead}'")
    before = physical_rows(settings, untouched)
    build(settings, dbt_vars=stricter)
    assert physical_rows(settings, untouched) != before, "a mark ahead of the log must recompute"
    assert_equals_rebuild(settings, dbt_vars=stricter)
