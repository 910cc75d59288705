"""How far each staging state table has applied the change log (macros/cdc_incremental.sql).

The watermark is the whole log's highest landing_id at the run, kept in the
state table's comment, so a table that did not change (devices) starts its
next batch, and its view's tail, at the log's end rather than at its own last
change. A state table ahead of the log (a log restored from an older copy)
is rebuilt from the log instead of trusting a watermark that would skip
changes. Between builds, the view shows each key once: an edit landed since
replaces the state's row, a delete removes it.
"""

from __future__ import annotations

import pytest

from tailor.cdc.capture import run_capture
from tailor.config import Settings
from tailor.db.connect import connect
from tailor.source.generate import seed
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration

STAGED = ("stg_shop__devices", "stg_shop__web_events", "stg_shop__customers")


def build_staging(settings: Settings) -> None:
    result = run_dbt(["run", "--select", "staging"], settings=settings)
    assert result.success, result.summary()


def seeded_and_built(settings: Settings, seed_value: int) -> Settings:
    """A small shop, captured, its staging built once."""
    seed(settings, customers=40, seed=seed_value)
    run_capture(settings, max_seconds=120)
    build_staging(settings)
    return settings


def applied_through(settings: Settings) -> dict[str, str | None]:
    with connect("warehouse", settings) as conn:
        return {
            model: conn.execute(
                "select obj_description(%s::regclass, 'pg_class')", (f"staging.{model}__state",)
            ).fetchone()[0]
            for model in STAGED
        }


def log_end(settings: Settings) -> int:
    with connect("warehouse", settings) as conn:
        return conn.execute("select max(landing_id) from raw.cdc_events").fetchone()[0]


def test_every_state_table_applies_through_the_end_of_the_log(fresh_db: Settings) -> None:
    settings = seeded_and_built(fresh_db, 3)
    assert set(applied_through(settings).values()) == {f"cdc_applied_through={log_end(settings)}"}

    with connect("shop", settings) as shop:  # a change to web_events only
        shop.execute(
            "insert into web_events (event_type, url, properties, occurred_at, received_at) "
            "select 'page_view', '/only-web', '{}', max(occurred_at), max(occurred_at) from web_events"
        )
    run_capture(settings, max_seconds=120)
    with connect("warehouse", settings) as conn:
        (devices_last_change,) = conn.execute(
            "select max(landing_id) from raw.cdc_events where source_table = 'devices'"
        ).fetchone()
    assert devices_last_change < log_end(settings)

    build_staging(settings)
    # devices did not change, yet its state is through the log's end too
    assert set(applied_through(settings).values()) == {f"cdc_applied_through={log_end(settings)}"}
    with connect("warehouse", settings) as conn:
        urls = conn.execute("select count(*) from staging.stg_shop__web_events where url = '/only-web'").fetchone()
    assert urls == (1,)


def test_a_state_table_ahead_of_the_log_is_rebuilt_from_it(fresh_db: Settings) -> None:
    settings = seeded_and_built(fresh_db, 4)
    with connect("warehouse", settings) as conn:
        expected = conn.execute("select count(*) from staging.stg_shop__customers").fetchone()[0]
        # as if the state had applied a log that was since restored to an
        # older copy, and one customer was lost from the state meanwhile
        conn.execute("comment on table staging.stg_shop__customers__state is 'cdc_applied_through=999999999'")
        conn.execute("delete from staging.stg_shop__customers__state where _pk = "
                     "(select min(_pk::text)::jsonb from staging.stg_shop__customers__state)")

    build_staging(settings)
    with connect("warehouse", settings) as conn:
        rebuilt = conn.execute("select count(*) from staging.stg_shop__customers").fetchone()[0]
    assert rebuilt == expected
    assert applied_through(settings)["stg_shop__customers"] == f"cdc_applied_through={log_end(settings)}"


def test_the_view_shows_changes_landed_since_the_build_once_per_key(fresh_db: Settings) -> None:
    settings = seeded_and_built(fresh_db, 5)
    with connect("shop", settings) as shop:
        (edited,) = shop.execute(
            "update customers set city = 'Tailorville' where customer_id = (select min(customer_id) from customers) "
            "returning customer_id").fetchone()
        (deleted,) = shop.execute(
            "delete from customers where customer_id = (select max(customer_id) from customers "
            "where customer_id not in (select customer_id from orders where customer_id is not null)) "
            "returning customer_id").fetchone()
    run_capture(settings, max_seconds=120)  # landed, not built: only the view's tail has them

    with connect("warehouse", settings) as conn:
        rows = conn.execute(
            "select customer_id, city from staging.stg_shop__customers where customer_id = any(%s)",
            ([edited, deleted],),
        ).fetchall()
        (state_city,) = conn.execute(
            "select city from staging.stg_shop__customers__state where customer_id = %s", (edited,)).fetchone()
    assert state_city != "Tailorville", "the state table must still hold the old row, or the tail proves nothing"
    assert rows == [(edited, "Tailorville")]


def state_index_columns(settings: Settings, model: str) -> list[str]:
    with connect("warehouse", settings) as conn:
        return sorted(
            definition.split("USING btree ", 1)[1]
            for (definition,) in conn.execute(
                "select indexdef from pg_indexes where schemaname = 'staging' and tablename = %s",
                (f"{model}__state",),
            ).fetchall()
        )


def test_an_index_added_to_the_config_reaches_an_existing_state_table(fresh_db: Settings) -> None:
    # dbt creates a model's configured indexes with its table only; a state
    # built before its config gained one (the customer_id lookup of
    # stg_shop__web_events) gets it on the next incremental run, once
    settings = seeded_and_built(fresh_db, 5)
    configured = state_index_columns(settings, "stg_shop__web_events")
    assert "(customer_id)" in configured
    with connect("warehouse", settings) as conn:
        (name,) = conn.execute(
            "select indexname from pg_indexes where schemaname = 'staging' "
            "and tablename = 'stg_shop__web_events__state' and indexdef like '%%(customer_id)'"
        ).fetchone()
        conn.execute(f'drop index staging."{name}"')

    build_staging(settings)
    assert state_index_columns(settings, "stg_shop__web_events") == configured
    build_staging(settings)
    assert state_index_columns(settings, "stg_shop__web_events") == configured
