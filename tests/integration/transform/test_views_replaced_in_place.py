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
                   "int_persons_email_consent", "contactability")


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


def test_rebuilding_the_chain_keeps_every_relation(built):
    before = oids(built)
    assert set(before) == set(SEND_TIME_CHAIN)

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
    assert columns == ["person_id", "email", "can_email", "reason"]
    assert oids(built)["contactability"] != stand_in
