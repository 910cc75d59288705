"""V090: the person map's contract constraints reach a map built before they were declared."""

from __future__ import annotations

import pytest

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.db.migrate import MigrationError, migrate

pytestmark = pytest.mark.integration

OLD_TABLES = """
create schema if not exists intermediate;
create table intermediate.int_person_map (
    customer_id bigint, person_id text, cluster_key bigint, cluster_size bigint,
    person_issued_at timestamptz, previous_person_id text, change text, changed_at timestamptz
);
create table intermediate.int_person_merges (
    from_person_id text, to_person_id text, change_type text, customer_count bigint,
    example_customer_id bigint, recorded_at timestamptz
);
insert into intermediate.int_person_map values
    (1, 'p_1', 1, 2, '2026-01-01', null, 'new', '2026-01-01'),
    (2, 'p_1', 1, 2, '2026-01-01', 'p_2', 'merged', '2026-02-01');
insert into intermediate.int_person_merges values ('p_2', 'p_1', 'merge', 1, 2, '2026-02-01');
"""


def _constraints(conn, table: str) -> list[str]:
    return sorted(definition for (definition,) in conn.execute(
        "select pg_get_constraintdef(oid) from pg_constraint where conrelid = %s::regclass",
        (f"intermediate.{table}",)).fetchall())


def _rerun_v090(settings: Settings, rows: str = "") -> None:
    with connect("warehouse", settings) as conn:
        conn.execute("delete from public.tailor_migrations where version = 90")
        conn.execute(OLD_TABLES + rows)
    migrate("warehouse", settings)


def _drop(settings: Settings) -> None:
    with connect("warehouse", settings) as conn:
        conn.execute("drop table if exists intermediate.int_person_map, intermediate.int_person_merges")


def test_an_existing_map_gets_the_contract_constraints(fresh_db: Settings) -> None:
    try:
        _rerun_v090(fresh_db)
        with connect("warehouse", fresh_db) as conn:
            person_map = _constraints(conn, "int_person_map")
            merges = _constraints(conn, "int_person_merges")
            not_null = conn.execute(
                "select table_name, count(*) from information_schema.columns where table_schema = 'intermediate' "
                "and table_name in ('int_person_map', 'int_person_merges') and is_nullable = 'NO' group by 1 order by 1"
            ).fetchall()
        assert "PRIMARY KEY (customer_id)" in person_map
        assert any("'merged'::text" in rule for rule in person_map)
        assert any("previous_person_id IS NULL" in rule for rule in person_map)
        assert "UNIQUE (from_person_id, to_person_id, change_type, recorded_at)" in merges
        assert any("customer_count >= 1" in rule for rule in merges)
        assert not_null == [("int_person_map", 7), ("int_person_merges", 6)]
    finally:
        _drop(fresh_db)


def test_a_map_that_breaks_a_rule_stops_the_migration(fresh_db: Settings) -> None:
    try:
        with pytest.raises(MigrationError, match=r"V090.*check constraint"):
            _rerun_v090(fresh_db, "insert into intermediate.int_person_map values "
                                  "(3, 'p_3', 3, 1, '2026-01-01', null, 'bogus', '2026-01-01');")
    finally:
        _drop(fresh_db)
