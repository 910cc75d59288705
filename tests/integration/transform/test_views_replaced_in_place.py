"""Rebuilding a view never takes the views built on it away (macros/views.sql).

marts.contactability is what exporters query right before sending. It is a
view on stg_exports__suppressions and int_customers_identified, which sits
on int_email_keys_resolved. dbt-postgres's view and table materializations
drop the old relation with CASCADE, so contactability used to vanish from
the staging step until the end of the build. The ids of the relations
(pg_class oids) show whether they were dropped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixtures.warehouse_build import AS_OF, load_raw_fixture, reset_warehouse

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration

SEND_TIME_CHAIN = ("stg_exports__suppressions", "int_email_keys_resolved", "int_customers_identified",
                   "contactability")
VIEWS = (("staging", "stg_exports__suppressions"), ("intermediate", "int_customers_identified"),
         ("marts", "contactability"))


def oids(settings: Settings) -> dict[str, int]:
    with connect("warehouse", settings) as conn:
        return dict(conn.execute(
            """
            select c.relname, c.oid::bigint from pg_class as c
            join pg_namespace as n on n.oid = c.relnamespace
            where n.nspname in ('staging', 'intermediate', 'marts') and c.relname = any(%s)
            """, (list(SEND_TIME_CHAIN),)).fetchall())


def run(settings: Settings, *select: str) -> None:
    result = run_dbt(["run", "--select", *select], vars={"as_of": AS_OF}, settings=settings)
    assert result.success, result.summary()


@pytest.fixture(scope="module")
def built(pg: Settings) -> Iterator[Settings]:
    reset_warehouse(pg)
    load_raw_fixture(pg)
    run(pg, "+contactability")
    yield pg


def forget_fingerprints(settings: Settings) -> None:
    """Clear the views' fingerprints, so the next build re-creates them (macros/views.sql)."""
    with connect("warehouse", settings) as conn:
        for schema, name in VIEWS:
            conn.execute(f"comment on view {schema}.{name} is null")


def catalog_versions(settings: Settings) -> dict[str, str]:
    """The views' pg_class rows' xmin: a new one whenever a view is re-created or replaced."""
    with connect("warehouse", settings) as conn:
        return dict(conn.execute(
            "select c.relname, c.xmin::text from pg_class as c join pg_namespace as n on n.oid = c.relnamespace "
            "where (n.nspname, c.relname) in (select * from unnest(%s::text[], %s::text[]))",
            ([schema for schema, _ in VIEWS], [name for _, name in VIEWS])).fetchall())


def test_rebuilding_the_chain_keeps_every_relation(built):
    before = oids(built)
    assert set(before) == set(SEND_TIME_CHAIN)
    forget_fingerprints(built)  # else the unchanged views are left alone (next test)

    run(built, *SEND_TIME_CHAIN)

    assert oids(built) == before
    with connect("warehouse", built) as conn:
        (people,) = conn.execute("select count(*) from marts.contactability").fetchone()
    assert people > 0


def test_a_view_whose_columns_changed_is_replaced_with_its_dependants_rebuilt(built):
    # a stand-in view with other columns where contactability goes: CREATE OR
    # REPLACE VIEW cannot turn it into contactability, the fallback must
    with connect("warehouse", built) as conn:
        conn.execute("drop view marts.contactability")
        conn.execute("create view marts.contactability as select 1 as stand_in")
    stand_in = oids(built)["contactability"]

    run(built, "contactability")

    with connect("warehouse", built) as conn:
        columns = [name for (name,) in conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'contactability' order by ordinal_position").fetchall()]
    assert columns == ["person_id", "email", "can_email", "reason", "email_marketing_consent"]
    assert oids(built)["contactability"] != stand_in


def test_an_unchanged_view_is_left_alone(built):
    """A view whose SQL and contract did not change is not re-created (its fingerprint, in its
    comment, matches): no DDL, no exclusive lock on what exporters read. A changed definition,
    or --full-refresh, re-creates it, in place."""
    run(built, *SEND_TIME_CHAIN)  # every view carries this build's fingerprint
    before, ids = catalog_versions(built), oids(built)
    assert len(before) == len(VIEWS)

    run(built, *SEND_TIME_CHAIN)
    assert catalog_versions(built) == before

    with connect("warehouse", built) as conn:
        conn.execute("comment on view marts.contactability is 'tailor:view=an older definition'")
    run(built, *SEND_TIME_CHAIN)
    after = catalog_versions(built)
    assert after["contactability"] != before["contactability"]
    assert {name: xmin for name, xmin in after.items() if name != "contactability"} == {
        name: xmin for name, xmin in before.items() if name != "contactability"}

    views = [name for _, name in VIEWS]
    result = run_dbt(["run", "--full-refresh", "--select", *views], vars={"as_of": AS_OF}, settings=built)
    assert result.success, result.summary()
    refreshed = catalog_versions(built)
    assert all(refreshed[name] != after[name] for name in views)
    assert oids(built) == ids
