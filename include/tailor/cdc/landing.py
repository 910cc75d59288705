"""Idempotent landing of change rows (and their offsets) into the warehouse.

One batch from the engine = one transaction: COPY into a temp table, then
``insert ... select ... on conflict do nothing`` into ``raw.cdc_events`` (its
unique key ``(source_table, source_lsn, pk, op)`` identifies a change), then
upsert the offsets that batch reached into ``raw.cdc_offsets``. Re-delivery of
the same changes (after a crash, or a replay) lands nothing and is counted as
duplicates; the offsets can never run ahead of the rows, because they commit
together. See :mod:`tailor.cdc.connector` for how Debezium reads them back.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from tailor.cdc.connector import CONNECTOR_NAME
from tailor.cdc.envelope import ChangeRow

_COLUMNS = "source_table, op, pk, before, after, source_lsn, tx_id, source_ts, captured_at"

_CREATE_STAGE = """
create temp table if not exists cdc_landing_stage (
    source_table text, op char(1), pk jsonb, before jsonb, after jsonb,
    source_lsn bigint, tx_id bigint, source_ts timestamptz, captured_at timestamptz
)
"""

_INSERT = f"""
with landed as (
    insert into raw.cdc_events ({_COLUMNS})
    select {_COLUMNS} from cdc_landing_stage
    on conflict on constraint cdc_events_change_key do nothing
    returning source_table
)
select source_table, count(*) from landed group by source_table
"""

_UPSERT_OFFSET = """
insert into raw.cdc_offsets (connector, offset_key, offset_value)
values (%s, %s, %s)
on conflict (connector, offset_key)
do update set offset_value = excluded.offset_value, updated_at = clock_timestamp()
"""


@dataclass
class LandingResult:
    """What one batch did: rows new to the warehouse vs. re-deliveries."""

    landed: int = 0
    duplicates: int = 0
    per_table: Counter[str] = field(default_factory=Counter)


def _dump(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def land_batch(
    conn: psycopg.Connection,
    rows: Sequence[ChangeRow],
    offsets: Sequence[tuple[str, str]] = (),
    connector: str = CONNECTOR_NAME,
) -> LandingResult:
    """Land ``rows`` and record ``offsets`` ((key, value) JSON strings) atomically.

    Runs inside ``conn.transaction()``: a real transaction on an autocommit
    connection (the worker's), a savepoint inside a caller's transaction
    otherwise. Either every row and the offsets land, or nothing does.
    """
    result = LandingResult()
    if not rows and not offsets:
        return result
    with conn.transaction(), conn.cursor() as cur:
        if rows:
            cur.execute(_CREATE_STAGE)
            cur.execute("truncate cdc_landing_stage")
            with cur.copy(f"copy cdc_landing_stage ({_COLUMNS}) from stdin") as copy:
                for row in rows:
                    copy.write_row(
                        (
                            row.source_table,
                            row.op,
                            _dump(row.pk),
                            _dump(row.before),
                            _dump(row.after),
                            row.source_lsn,
                            row.tx_id,
                            row.source_ts,
                            row.captured_at,
                        )
                    )
            cur.execute(_INSERT)
            for table, count in cur.fetchall():
                result.per_table[table] += count
            result.landed = sum(result.per_table.values())
            result.duplicates = len(rows) - result.landed
        for key, value in offsets:
            cur.execute(_UPSERT_OFFSET, (connector, key, value))
    return result


def stored_offsets(conn: psycopg.Connection, connector: str = CONNECTOR_NAME) -> dict[str, str]:
    """The committed offsets (what the next capture resumes from)."""
    rows = conn.execute(
        "select offset_key, offset_value from raw.cdc_offsets where connector = %s", (connector,)
    ).fetchall()
    return dict(rows)
