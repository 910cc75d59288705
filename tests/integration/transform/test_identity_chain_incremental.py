"""The identity chain after int_identifiers_normalized, built incrementally, equals a rebuild.

int_identity_edges selects every edge on each run and writes only the edges
that are new, changed or gone (incremental_strategy 'sync'); int_person_map
maps only the clusters with a record that is new or not where the last run
saw it, and writes only the rows that differ. Shown on a small captured
shop: an email edited onto another customer's address (two people merge), a
customer deleted (with a matcher link of theirs), a new customer sharing a
phone; then the email moved on again (they split) in a run that stops after
int_identifiers_normalized, and the matcher's links rewritten before the
next full run, which must catch up on both.

After each run the edges, and the records resolved to their persons
(int_customers_resolved, rebuilt per person), equal a ``--full-refresh``
rebuild of the model.
The person map is never fully refreshed (its history is the point), so it
is checked against the same run with every cluster open: the last run's map
put back with every record's cluster key and size cleared, which makes the
model apply its rules to everything. The rows of records nobody touched keep
their physical row (ctid) in both tables, so the runs were incremental. A
second test covers the one rule that reaches across clusters: a new id is
never one another, settled cluster still holds.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fixtures.identity_history import ChangeLog, customer
from fixtures.warehouse_build import load_raw_fixture, reset_warehouse

from tailor.cdc.capture import run_capture
from tailor.config import Settings
from tailor.db.connect import connect
from tailor.source.generate import seed
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration

EDGES = "intermediate.int_identity_edges"
PERSON_MAP = "intermediate.int_person_map"
RESOLVED = "intermediate.int_customers_resolved"
MAP_COLUMNS = ("customer_id, person_id, cluster_key, cluster_size, person_issued_at, "
               "previous_person_id, change, changed_at")


def latest_as_of(settings: Settings) -> str:
    with connect("warehouse", settings) as conn:
        (latest,) = conn.execute("select max(source_ts) from raw.cdc_events").fetchone()
    return (latest + timedelta(seconds=1)).isoformat()


def build(settings: Settings, as_of: str, *extra: str, select: str = "+int_customers_resolved") -> None:
    result = run_dbt(["run", "--select", select, *extra], vars={"as_of": as_of}, settings=settings)
    assert result.success, result.summary()


def query(settings: Settings, sql: str, *params: object) -> list[tuple]:
    with connect("warehouse", settings) as conn:
        cursor = conn.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else []


def edges(settings: Settings) -> list[tuple]:
    return query(settings, f"select * from {EDGES} order by 1, 2, 3")


def person_map(settings: Settings) -> list[tuple]:
    return query(settings, f"select {MAP_COLUMNS} from {PERSON_MAP} order by customer_id")


def physical_rows(settings: Settings, untouched: list[int]) -> tuple[list[tuple], ...]:
    """(edges, map rows, resolved records) of the untouched records with their ctid."""
    return (
        query(settings, f"select ctid::text, customer_id_l, customer_id_r, edge_type from {EDGES} "
                        "where customer_id_l = any(%s) and customer_id_r = any(%s) order by 2, 3, 4",
              untouched, untouched),
        query(settings, f"select ctid::text, customer_id from {PERSON_MAP} "
                        "where customer_id = any(%s) order by 2", untouched),
        query(settings, f"select ctid::text, customer_id from {RESOLVED} "
                        "where customer_id = any(%s) order by 2", untouched),
    )


def assert_edges_equal_a_rebuild(settings: Settings, as_of: str) -> list[tuple]:
    incremental = edges(settings)
    build(settings, as_of, "--full-refresh", select="int_identity_edges")
    assert edges(settings) == incremental, "incremental edges != a rebuild of the same data"
    return incremental


def assert_resolved_equals_a_rebuild(settings: Settings, as_of: str) -> None:
    incremental = query(settings, f"select * from {RESOLVED} order by customer_id")
    build(settings, as_of, "--full-refresh", select="int_customers_resolved")
    assert query(settings, f"select * from {RESOLVED} order by customer_id") == incremental, (
        "incremental resolved records != a rebuild of the same data")


def snapshot_person_map(settings: Settings) -> None:
    query(settings, "drop table if exists public.person_map_before")
    query(settings, f"create table public.person_map_before as select {MAP_COLUMNS} from {PERSON_MAP}")


def assert_map_equals_every_cluster_open(settings: Settings, as_of: str) -> list[tuple]:
    """The incremental map against the same run from the same previous map with nothing settled."""
    incremental = person_map(settings)
    with connect("warehouse", settings) as conn:
        conn.execute(f"delete from {PERSON_MAP}")
        # no stored cluster key or size matches: every cluster is open, the rules run on everything
        conn.execute(f"insert into {PERSON_MAP} ({MAP_COLUMNS}) select customer_id, person_id, 0, 0, "
                     "person_issued_at, previous_person_id, change, changed_at from public.person_map_before")
    build(settings, as_of, select="int_person_map")
    assert person_map(settings) == incremental, "incremental person map != every cluster mapped again"
    return incremental


def singletons(settings: Settings) -> list[int]:
    """Customer records alone in their cluster, with an email key of their own and a phone key of their own."""
    return [customer_id for (customer_id,) in query(settings, """
        select clusters.customer_id
        from intermediate.int_customers_clustered as clusters
        where clusters.cluster_size = 1
            and exists (select 1 from intermediate.int_identifiers_normalized as ids
                        where ids.customer_id = clusters.customer_id and ids.identifier_type = 'email'
                            and ids.customers_sharing = 1 and ids.is_edge)
            and exists (select 1 from intermediate.int_identifiers_normalized as ids
                        where ids.customer_id = clusters.customer_id and ids.identifier_type = 'phone'
                            and ids.customers_sharing = 1 and ids.is_edge)
        order by 1
    """)]


def cluster_members(settings: Settings, customer_ids: list[int]) -> set[int]:
    return {customer_id for (customer_id,) in query(settings, """
        select customer_id from intermediate.int_customers_clustered
        where cluster_key in (select cluster_key from intermediate.int_customers_clustered
                              where customer_id = any(%s))
    """, customer_ids)}


def person_of(settings: Settings, customer_id: int) -> tuple:
    rows = query(settings, f"select person_id, change, previous_person_id from {PERSON_MAP} "
                           "where customer_id = %s", customer_id)
    assert len(rows) == 1, f"customer {customer_id}: {rows}"
    return rows[0]


def test_incremental_identity_chain_equals_a_rebuild(fresh_db: Settings) -> None:
    settings = fresh_db
    seed(settings, customers=60, seed=17)
    run_capture(settings, max_seconds=120)
    build(settings, latest_as_of(settings))

    alone = singletons(settings)
    assert len(alone) >= 10, "the seeded shop must have records alone in their cluster to change"
    taker, owner, phone_owner, link_l, link_r = alone[:5]
    rescored_l, rescored_r = alone[-2:]
    # the newest record of a cluster of several: the others keep their key, the cluster shrinks
    ((deleted, deleted_key),) = query(settings, "select max(customer_id), cluster_key "
                                                "from intermediate.int_customers_clustered "
                                                "where cluster_size > 1 group by 2 order by 2 limit 1")
    linked = next(c for c in alone[5:-2] if c > deleted_key)
    # the matcher's links (it rewrites ml.identity_links outside dbt): one to the record that goes
    query(settings, "insert into ml.identity_links values (%s, %s, 0.995, 9.1, 'test', now()), "
                    "(%s, %s, 0.999, 11.2, 'test', now()), (%s, %s, 0.991, 7.0, 'test', now())",
          *sorted((deleted, linked)), link_l, link_r, rescored_l, rescored_r)
    build(settings, latest_as_of(settings))
    assert person_of(settings, linked)[0] == person_of(settings, deleted)[0]
    assert person_of(settings, link_l)[0] == person_of(settings, link_r)[0]

    touched = cluster_members(settings, [taker, owner, phone_owner, deleted, linked, rescored_l])
    with connect("shop", settings) as shop:
        ids = [c for (c,) in shop.execute("select customer_id from customers order by 1").fetchall()]
        untouched = [c for c in ids if c not in touched]
        shop.execute(
            "update customers set email = (select email from customers where customer_id = %s), "
            "updated_at = updated_at + interval '1 second' where customer_id = %s",
            (owner, taker),
        )
        shop.execute("delete from customers where customer_id = %s", (deleted,))
        (newcomer,) = shop.execute(
            "insert into customers (email, first_name, last_name, phone, country, is_guest, created_at, updated_at) "
            "select 'newcomer@example.org', 'New', 'Comer', phone, country, true, now(), now() "
            "from customers where customer_id = %s returning customer_id",
            (phone_owner,),
        ).fetchone()
    before = physical_rows(settings, untouched)
    assert all(before), "the untouched records must have edges, map rows and resolved rows to watch"
    snapshot_person_map(settings)
    run_capture(settings, max_seconds=120)
    as_of = latest_as_of(settings)
    build(settings, as_of)

    assert physical_rows(settings, untouched) == before, "rows of untouched records were rewritten"
    merged = assert_map_equals_every_cluster_open(settings, as_of)
    assert person_of(settings, taker)[0] == person_of(settings, owner)[0] == f"p_{taker}"
    assert person_of(settings, owner) == (f"p_{taker}", "merged", f"p_{owner}")
    assert person_of(settings, newcomer) == (person_of(settings, phone_owner)[0], "new", None)
    assert deleted not in {row[0] for row in merged}
    merged_edges = assert_edges_equal_a_rebuild(settings, as_of)
    assert not [e for e in merged_edges if deleted in (e[0], e[1])], "a deleted record's edges must go"
    assert (min(taker, owner), max(taker, owner), "email") in {e[:3] for e in merged_edges}
    assert (phone_owner, newcomer, "phone") in {e[:3] for e in merged_edges}
    assert_resolved_equals_a_rebuild(settings, as_of)

    # the taker moves on (they split) in a run that stops after the identifiers; the
    # matcher then drops a link, adds one and rescores one; the next full run catches up
    before = physical_rows(settings, untouched)
    snapshot_person_map(settings)
    with connect("shop", settings) as shop:
        shop.execute(
            "update customers set email = 'moved.on@example.org', "
            "updated_at = updated_at + interval '2 seconds' where customer_id = %s",
            (taker,),
        )
    run_capture(settings, max_seconds=120)
    as_of = latest_as_of(settings)
    build(settings, as_of, select="+int_identifiers_normalized")
    query(settings, "delete from ml.identity_links where customer_id_l = %s", min(deleted, linked))
    query(settings, "insert into ml.identity_links values (%s, %s, 0.993, 8.7, 'test', now())",
          *sorted((taker, phone_owner)))
    query(settings, "update ml.identity_links set match_probability = 0.997, model_version = 'test-2' "
                    "where customer_id_l = %s", rescored_l)
    build(settings, as_of)

    assert physical_rows(settings, untouched) == before, "rows of untouched records were rewritten"
    assert_map_equals_every_cluster_open(settings, as_of)
    assert person_of(settings, owner) == (f"p_{owner}", "split", f"p_{taker}")
    assert person_of(settings, taker)[0] == person_of(settings, phone_owner)[0] == f"p_{taker}"
    split_edges = assert_edges_equal_a_rebuild(settings, as_of)
    assert (min(taker, owner), max(taker, owner), "email") not in {e[:3] for e in split_edges}
    assert (min(taker, phone_owner), max(taker, phone_owner), "probabilistic") in {e[:3] for e in split_edges}
    assert (link_l, link_r, "probabilistic") in {e[:3] for e in split_edges}
    assert [e[5:] for e in split_edges if e[:2] == (rescored_l, rescored_r)] == [(0.997, "test-2")]
    assert_resolved_equals_a_rebuild(settings, as_of)


def test_a_new_id_is_never_one_a_settled_cluster_holds(pg: Settings) -> None:
    """A record re-created under its old id, while the cluster it left keeps that id untouched."""
    reset_warehouse(pg)
    load_raw_fixture(pg)
    log = ChangeLog(pg)
    phone = "+49 30 5550101"
    models = ["+int_person_map"]
    log.upsert_customer(customer(4110, "rae@example.org", "Rae", "Roth", phone=phone))
    log.build(vars={"as_of": "2024-07-01T00:00:00+00:00"}, select=models)
    # an older record (smaller id, e.g. imported later) with the same phone joins; the id stays
    log.upsert_customer(customer(4105, "rae.roth@example.net", "Rae", "Roth", phone=phone))
    log.build(vars={"as_of": "2024-07-02T00:00:00+00:00"}, select=models)
    assert (log.person(4105), log.person(4110)) == ("p_4110", "p_4110")
    # 4110 is deleted: 4105 keeps p_4110
    log.delete_customer(4110)
    log.build(vars={"as_of": "2024-07-03T00:00:00+00:00"}, select=models)
    assert log.person(4105) == "p_4110"
    settled = log.query(f"select ctid::text, {MAP_COLUMNS} from {PERSON_MAP} where customer_id = 4105")
    # 4110 comes back as a record of its own: 'p_4110' is taken by 4105's settled cluster
    log.upsert_customer(customer(4110, "rae.new@example.org", "Rae", "Roth"))
    log.build(vars={"as_of": "2024-07-04T00:00:00+00:00"}, select=models)
    assert log.person(4110) == "p_4110_1720051200"
    assert log.query(f"select ctid::text, {MAP_COLUMNS} from {PERSON_MAP} where customer_id = 4105") == settled
