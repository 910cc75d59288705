"""Idempotent landing of change rows (and their offsets) into the warehouse.

One batch from the engine = one transaction: the rows go into
``raw.cdc_events`` (its unique key ``(source_table, source_lsn, pk, op)``
identifies a change), then the offsets that batch reached are upserted into
``raw.cdc_offsets``. The offsets can never run ahead of the rows, because they
commit together. See :mod:`tailor.cdc.connector` for how Debezium reads them
back.

Two ways in, one result:

* the fast path (every batch in normal operation): ``COPY`` straight into
  ``raw.cdc_events`` inside a savepoint — one write per row;
* the re-delivery path: if that COPY hits the unique key (a batch replayed
  after a crash, or a re-run), the savepoint is rolled back and the batch goes
  through a temp table and ``insert ... on conflict do nothing``; re-delivered
  changes land nothing and are counted as duplicates.

The COPY text is built here from the raw JSON Debezium produced (no decode and
re-encode of row images); PostgreSQL parses it into ``jsonb`` once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg import errors

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

_NULL = b"\\N"


@dataclass
class LandingResult:
    """What one batch did: rows new to the warehouse vs. re-deliveries."""

    landed: int = 0
    duplicates: int = 0
    per_table: Counter[str] = field(default_factory=Counter)
    redelivered: bool = False  # the batch took the on-conflict path


def _text(value: bytes | None) -> bytes:
    """A JSON text as a COPY text field: backslashes doubled.

    JSON text from Debezium has no raw tab or newline (they are escaped inside
    strings), so the backslash is the only COPY-special byte that can occur.
    """
    if value is None:
        return _NULL
    return value.replace(b"\\", b"\\\\") if b"\\" in value else value


def _ts(value: datetime | None) -> bytes:
    return _NULL if value is None else value.isoformat().encode()


def copy_text(rows: Sequence[ChangeRow]) -> bytes:
    """The rows in COPY text format, columns in ``_COLUMNS`` order."""
    lines = []
    for row in rows:
        lines.append(
            b"\t".join(
                (
                    row.source_table.encode(),
                    row.op.encode(),
                    _text(row.pk_json),
                    _text(row.before_json),
                    _text(row.after_json),
                    str(row.source_lsn).encode(),
                    _NULL if row.tx_id is None else str(row.tx_id).encode(),
                    _ts(row.source_ts),
                    _ts(row.captured_at),
                )
            )
        )
    lines.append(b"")
    return b"\n".join(lines)


def _copy(cur: psycopg.Cursor, table: str, data: bytes) -> None:
    with cur.copy(f"copy {table} ({_COLUMNS}) from stdin") as copy:
        copy.write(data)


def land_batch(
    conn: psycopg.Connection,
    rows: Sequence[ChangeRow],
    offsets: Sequence[tuple[str, str]] = (),
    connector: str = CONNECTOR_NAME,
    before_commit: Callable[[], None] | None = None,
) -> LandingResult:
    """Land ``rows`` and record ``offsets`` ((key, value) JSON strings) atomically.

    Runs inside ``conn.transaction()``: a real transaction on an autocommit
    connection (the worker's), a savepoint inside a caller's transaction
    otherwise. Either every row and the offsets land, or nothing does.
    ``before_commit`` runs when everything is written but not yet committed
    (the worker's ``crash_before_commit`` fault point, :mod:`tailor.cdc.faults`).
    """
    per_table = Counter(row.source_table for row in rows)
    data = copy_text(rows) if rows else b""
    return land_copy(conn, data, per_table, offsets, connector, before_commit)


def land_copy(
    conn: psycopg.Connection,
    data: bytes | Iterable[bytes],
    per_table: Counter[str],
    offsets: Sequence[tuple[str, str]] = (),
    connector: str = CONNECTOR_NAME,
    before_commit: Callable[[], None] | None = None,
) -> LandingResult:
    """:func:`land_batch` for rows already in COPY text (:mod:`tailor.cdc.batch_encode`).

    ``data`` may come in pieces (an iterator): each is sent as soon as it is
    made, so PostgreSQL ingests one while the next is encoded. ``per_table``
    counts the rows by source table; it is read once ``data`` is exhausted,
    so a generator may fill it as it goes.
    """
    result = LandingResult()
    pieces = iter((data,) if isinstance(data, bytes) else data)
    first = next((piece for piece in pieces if piece), None)
    if first is None and not offsets:
        return result
    with conn.transaction(), conn.cursor() as cur:
        if first is not None:
            sent = [first]
            try:
                with (
                    conn.transaction(),  # savepoint: a duplicate undoes only the COPY
                    cur.copy(f"copy raw.cdc_events ({_COLUMNS}) from stdin") as copy,
                ):
                    copy.write(first)
                    for piece in pieces:
                        sent.append(piece)
                        copy.write(piece)
                result.per_table.update(per_table)
            except errors.UniqueViolation:
                sent.extend(pieces)  # the rest of the batch, if the error came mid-stream
                result.redelivered = True
                cur.execute(_CREATE_STAGE)
                cur.execute("truncate cdc_landing_stage")
                _copy(cur, "cdc_landing_stage", b"".join(sent))
                cur.execute(_INSERT)
                for table, count in cur.fetchall():
                    result.per_table[table] += count
            result.landed = sum(result.per_table.values())
            result.duplicates = sum(per_table.values()) - result.landed
        for key, value in offsets:
            cur.execute(_UPSERT_OFFSET, (connector, key, value))
        if before_commit is not None:
            before_commit()
    return result


def stored_offsets(conn: psycopg.Connection, connector: str = CONNECTOR_NAME) -> dict[str, str]:
    """The committed offsets (what the next capture resumes from)."""
    rows = conn.execute(
        "select offset_key, offset_value from raw.cdc_offsets where connector = %s", (connector,)
    ).fetchall()
    return dict(rows)
