"""An incremental build after shop changes equals a full refresh of the same data.

A small generated shop goes through the real capture and the transform DAG's
steps (dbt staging, the matcher, dbt for the rest); then the shop changes
(``tailor.source.changes``: orders, events, consent, profile edits, cart
deletes) plus the three cases incremental staging gets wrong most easily:

* a customer deleted (its key must leave staging, and its links the graph);
* ``TRUNCATE interests`` then one new interest (everything landed before the
  truncate must go, even rows the state table already held);
* an update that leaves a TOASTed value out of the WAL (the marker must be
  replaced by the value from an earlier change, landed before the watermark).

After capture, an incremental build and a ``--full-refresh`` build (same
as_of) must give the same rows in every staging view, intermediate table and
mart, compared by md5 checksums. The person map is never fully refreshed (by
design), so both builds share it.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from tailor.cdc.capture import run_capture
from tailor.cdc.envelope import UNAVAILABLE_VALUE
from tailor.config import Settings
from tailor.db.connect import connect
from tailor.identity.matcher import run_matcher
from tailor.source.changes import apply_changes
from tailor.source.generate import seed
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration

# The seed's history ends here, not today: the generator's data depends on
# (seed, until), and the changes this test makes need a shape some days' data
# lacks (a seed ending 2026-12-04 gave the email owner a second namesake and
# the 5% change no cart).
SEED_UNTIL = datetime(2026, 12, 3, tzinfo=UTC)

SCHEMAS = ("staging", "intermediate", "marts")


def as_of(settings: Settings) -> str:
    with connect("warehouse", settings) as conn:
        (latest,) = conn.execute("select max(source_ts) from raw.cdc_events").fetchone()
    return (latest + timedelta(seconds=1)).isoformat()


def transform(settings: Settings, when: str, *extra: str) -> None:
    """The transform DAG's steps; `dbt run` (tests are not what is compared here)."""
    for step in ("staging", "matcher", "rest"):
        if step == "matcher":
            run_matcher(settings, full="--full-refresh" in extra)
            continue
        select = ["--select", "staging"] if step == "staging" else ["--exclude", "staging"]
        result = run_dbt(["run", *select, *extra], vars={"as_of": when}, settings=settings)
        assert result.success, result.summary()


def checksums(settings: Settings) -> dict[str, tuple[int, str]]:
    found = {}
    with connect("warehouse", settings) as conn:
        relations = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema = any(%s) and table_name not like '%%\\_\\_state' order by 1, 2",
            (list(SCHEMAS),),
        ).fetchall()
        for schema, name in relations:
            if name == "int_persons_changed":
                continue  # bookkeeping: which run last saw each person change
            # the matcher's links carry the wall-clock time they were computed at
            row = "row(t.customer_id_l, t.customer_id_r, t.match_probability, t.model_version)::text" \
                if name == "stg_ml__identity_links" else "t::text"
            found[f"{schema}.{name}"] = conn.execute(
                f'select count(*), md5(coalesce(string_agg(h, \'\' order by h), \'\')) '
                f'from (select md5({row}) as h from "{schema}"."{name}" as t) as rows'
            ).fetchone()
    return found


def test_incremental_build_equals_full_refresh(fresh_db: Settings) -> None:
    settings = fresh_db
    seed(settings, customers=300, seed=7, until=SEED_UNTIL)
    big = {"blob": secrets.token_hex(4_000)}  # 8 kB of random hex: stored out of line
    with connect("shop", settings) as shop:
        (event_id,) = shop.execute(
            "insert into web_events (event_type, url, properties, occurred_at, received_at) "
            "select 'page_view', '/toast', %s, max(occurred_at), max(occurred_at) from web_events "
            "returning event_id",
            (json.dumps(big),),
        ).fetchone()
    run_capture(settings, max_seconds=120)
    transform(settings, as_of(settings))

    summary = apply_changes(settings, share=0.05, seed=11)
    with connect("shop", settings) as shop:
        (deleted_customer,) = shop.execute(
            "delete from customers where customer_id = (select min(customer_id) from customers "
            "where customer_id not in (select customer_id from orders where customer_id is not null)) "
            "returning customer_id"
        ).fetchone()
        shop.execute("truncate interests")
        shop.execute(
            "insert into interests (customer_id, interest, source, recorded_at) "
            "select min(customer_id), 'hiking', 'survey', now() from customers"
        )
        shop.execute("update web_events set url = '/toast-2' where event_id = %s", (event_id,))
        # carts, which int_carts_attributed follows through the change log:
        # one moved to another customer (both owners' carts change), a line
        # added to another and a quantity changed in a third
        moved = shop.execute(
            "update carts set customer_id = (select max(customer_id) from customers), updated_at = now() "
            "where cart_id = (select min(cart_id) from carts where customer_id is not null "
            "and customer_id <> (select max(customer_id) from customers)) returning cart_id"
        ).fetchall()
        added = shop.execute(
            "insert into cart_items (cart_id, product_id, quantity, added_at) "
            "select carts.cart_id, products.product_id, 2, now() from carts cross join products "
            "where carts.customer_id is not null and carts.cart_id <> all(%s) "
            "and not exists (select 1 from cart_items where cart_items.cart_id = carts.cart_id "
            "and cart_items.product_id = products.product_id) "
            "order by carts.cart_id desc, products.product_id limit 1 returning cart_id",
            ([cart_id for (cart_id,) in moved],),
        ).fetchall()
        changed = shop.execute(
            "update cart_items set quantity = quantity + 1 where (cart_id, product_id) = "
            "(select cart_id, product_id from cart_items where cart_id <> all(%s) "
            "order by cart_id, product_id limit 1) returning cart_id",
            ([cart_id for (cart_id,) in moved + added],),
        ).fetchall()
        assert len(moved) == len(added) == len(changed) == 1
    run_capture(settings, max_seconds=120)
    with connect("warehouse", settings) as wh:
        marked = wh.execute(
            "select count(*) from raw.cdc_events where source_table = 'web_events' and after ->> 'properties' = %s",
            (UNAVAILABLE_VALUE,),
        ).fetchone()[0]
    assert marked == 1, "the url-only update must land with the TOAST marker, or the test proves nothing"
    assert summary.rows["carts"] > 0 and summary.rows["customers"] > 0

    when = as_of(settings)
    transform(settings, when)
    incremental = checksums(settings)
    with connect("warehouse", settings) as wh:
        staged = wh.execute(
            "select url, properties from staging.stg_shop__web_events where web_event_id = %s", (event_id,)
        ).fetchall()
        interests = wh.execute("select interest from staging.stg_shop__interests").fetchall()
        customer_gone = wh.execute(
            "select count(*) from staging.stg_shop__customers where customer_id = %s", (deleted_customer,)
        ).fetchone()[0]
    assert staged == [("/toast-2", big)]
    assert interests == [("hiking",)]
    assert customer_gone == 0

    transform(settings, when, "--full-refresh")
    full = checksums(settings)
    assert len(full) > 30, f"expected every model to be compared, got {sorted(full)}"
    differing = {name: (incremental.get(name), full.get(name))
                 for name in full.keys() | incremental.keys() if incremental.get(name) != full.get(name)}
    assert not differing, f"incremental != full refresh (rows, md5): {differing}"
