"""Debezium change envelopes (JSON, no schemas) -> rows for ``raw.cdc_events``.

Pure functions, no JVM and no database, so every shape Debezium produces can be
unit-tested from a literal sample. The engine hands over three strings per
record: the destination topic, the key JSON and the value JSON.

What comes out of a record:

* a change (op ``c``/``u``/``d``/``r``/``t``): a :class:`ChangeRow`;
* a tombstone (null value after a delete, for Kafka log compaction): skipped,
  counted — it carries nothing the delete event did not;
* a heartbeat (topic ``__debezium-heartbeat.*``): skipped, counted — it only
  moves offsets forward.

A record that is none of these is a bug upstream, not "bad input": it raises
:class:`EnvelopeError` so the batch does not land and its offsets do not move.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

OPS = frozenset("cudrt")


class EnvelopeError(ValueError):
    """A record from Debezium that is not a change envelope Tailor understands."""


class Skipped(Enum):
    """Records that are read (and their offsets kept) but land no row."""

    TOMBSTONE = "tombstone"
    HEARTBEAT = "heartbeat"


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One row of ``raw.cdc_events`` (``landed_at`` is set by the database)."""

    source_table: str
    op: str
    pk: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    source_lsn: int
    tx_id: int | None
    source_ts: datetime | None
    captured_at: datetime
    snapshot: str | None = None  # Debezium's source.snapshot marker ('first', 'last', ...)

    @property
    def is_snapshot(self) -> bool:
        return self.snapshot not in (None, "false", "incremental")


def _from_epoch(micros: int | None, millis: int | None) -> datetime | None:
    if micros is not None:
        return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
    if millis is not None:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    return None


def _fix_dates(row: dict[str, Any] | None, date_fields: Iterable[str]) -> dict[str, Any] | None:
    """'1990-05-17Z' -> '1990-05-17'.

    Debezium's ``isostring`` mode writes dates with a zone designator, which
    casts in Postgres but is not the plain ISO date the warehouse contract
    promises (and other readers choke on). Only fields the record's schema says
    are dates are touched, so a text column holding such a string is left alone.
    """
    if row is None:
        return None
    for name in date_fields:
        value = row.get(name)
        if isinstance(value, str) and value.endswith("Z"):
            row[name] = value[:-1]
    return row


def is_heartbeat(destination: str) -> bool:
    return destination.startswith("__debezium-heartbeat")


def parse_record(
    destination: str,
    key: str | None,
    value: str | None,
    date_fields: Iterable[str] = (),
) -> ChangeRow | Skipped:
    """One engine record -> a landing row, or the reason it lands nothing.

    ``date_fields`` are the columns of this table that are SQL ``date``s (the
    worker reads them from the record's Connect schema).
    """
    if is_heartbeat(destination):
        return Skipped.HEARTBEAT
    if value is None:
        return Skipped.TOMBSTONE
    try:
        envelope = json.loads(value)
        pk = json.loads(key) if key is not None else {}
    except json.JSONDecodeError as exc:
        raise EnvelopeError(f"record for {destination} is not JSON: {exc}") from exc
    if not isinstance(envelope, dict):
        raise EnvelopeError(f"record for {destination} is not an object: {value[:200]}")
    if "payload" in envelope and "schema" in envelope:
        raise EnvelopeError(
            f"record for {destination} carries a Connect schema: the engine must run with "
            "value.converter.schemas.enable=false (see tailor.cdc.connector)"
        )
    op = envelope.get("op")
    source = envelope.get("source")
    if op not in OPS or not isinstance(source, dict):
        raise EnvelopeError(f"record for {destination} has no Debezium envelope (op={op!r})")
    lsn = source.get("lsn")
    if lsn is None:
        raise EnvelopeError(f"record for {destination} has no source.lsn; is it from PostgreSQL?")
    table = source.get("table") or destination.rsplit(".", 1)[-1]
    captured = _from_epoch(envelope.get("ts_us"), envelope.get("ts_ms"))
    if captured is None:
        raise EnvelopeError(f"record for {destination} has no ts_ms")
    return ChangeRow(
        source_table=table,
        op=op,
        pk=pk if isinstance(pk, dict) else {"key": pk},
        before=_fix_dates(envelope.get("before"), date_fields),
        after=_fix_dates(envelope.get("after"), date_fields),
        source_lsn=int(lsn),
        tx_id=source.get("txId"),
        source_ts=_from_epoch(source.get("ts_us"), source.get("ts_ms")),
        captured_at=captured,
        snapshot=str(source["snapshot"]) if source.get("snapshot") is not None else None,
    )
