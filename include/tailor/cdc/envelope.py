"""Debezium change envelopes (JSON, no schemas) -> rows for ``raw.cdc_events``.

Pure functions, no JVM and no database, so every shape Debezium produces can be
unit-tested from a literal sample. The engine hands over three strings per
record: the destination topic, the key JSON and the value JSON.

What comes out of a record:

* a change (op ``c``/``u``/``d``/``r``/``t``): a :class:`ChangeRow`;
* a tombstone (null value after a delete, for Kafka log compaction): skipped,
  counted — it carries nothing the delete event did not;
* a heartbeat (topic ``__debezium-heartbeat.*``): skipped, counted — it only
  moves offsets forward;
* a change of Debezium's own tables in the shop (``debezium_heartbeat``, written
  by ``heartbeat.action.query``; ``debezium_signal``, the signal channel): a
  :class:`ControlRow` — not shop data, never landed, but its position tells
  how far the stream has got.

A record that is none of these is a bug upstream, not "bad input": it raises
:class:`EnvelopeError` so the batch does not land and its offsets do not move.

Speed: the row images (``before``/``after``) are kept as the raw JSON text
Debezium produced (``msgspec.Raw``): landing copies them to the warehouse as
they are, so a record is decoded once, shallowly, and never re-encoded (except
for tables with ``date`` columns, see :func:`_fix_dates`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import msgspec

OPS = frozenset("cudrt")
HEARTBEAT_TABLE = "debezium_heartbeat"
SIGNAL_TABLE = "debezium_signal"
CONTROL_TABLES = frozenset((HEARTBEAT_TABLE, SIGNAL_TABLE))
UNAVAILABLE_VALUE = "__debezium_unavailable_value"

_NULL = b"null"
_decode_json = msgspec.json.Decoder()
_encode_json = msgspec.json.Encoder()


class EnvelopeError(ValueError):
    """A record from Debezium that is not a change envelope Tailor understands."""


class Skipped(Enum):
    """Records that are read (and their offsets kept) but land no row."""

    TOMBSTONE = "tombstone"
    HEARTBEAT = "heartbeat"


class _Source(msgspec.Struct, kw_only=True):
    lsn: int | None = None
    txId: int | None = None
    ts_ms: int | None = None
    ts_us: int | None = None
    table: str | None = None
    snapshot: str | None = None
    sequence: str | None = None  # PostgreSQL: '["<last commit lsn>","<lsn>"]'


class _Envelope(msgspec.Struct, kw_only=True):
    op: str | None = None
    source: _Source | None = None
    before: msgspec.Raw = msgspec.Raw(_NULL)
    after: msgspec.Raw = msgspec.Raw(_NULL)
    ts_ms: int | None = None
    ts_us: int | None = None
    schema: msgspec.Raw = msgspec.Raw(_NULL)
    payload: msgspec.Raw = msgspec.Raw(_NULL)


_decode_envelope = msgspec.json.Decoder(_Envelope)


def _raw(value: msgspec.Raw) -> bytes | None:
    data = bytes(value)
    return None if data == _NULL else data


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One row of ``raw.cdc_events`` (``landing_id``/``landed_at`` are set by the database).

    ``pk_json``/``before_json``/``after_json`` are JSON texts (UTF-8 bytes), as
    Debezium wrote them; ``pk``/``before``/``after`` decode them for readers.
    """

    source_table: str
    op: str
    pk_json: bytes
    before_json: bytes | None
    after_json: bytes | None
    source_lsn: int
    tx_id: int | None
    source_ts: datetime | None
    captured_at: datetime
    snapshot: str | None = None  # Debezium's source.snapshot marker ('first', 'last', ...)

    @classmethod
    def of(
        cls,
        source_table: str,
        op: str,
        pk: dict[str, Any],
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        source_lsn: int,
        tx_id: int | None,
        source_ts: datetime | None,
        captured_at: datetime,
        snapshot: str | None = None,
    ) -> ChangeRow:
        """A row from decoded values (tests, importers); the engine path keeps raw JSON."""
        return cls(
            source_table,
            op,
            _encode_json.encode(pk),
            None if before is None else _encode_json.encode(before),
            None if after is None else _encode_json.encode(after),
            source_lsn,
            tx_id,
            source_ts,
            captured_at,
            snapshot,
        )

    @property
    def pk(self) -> dict[str, Any]:
        return _decode_json.decode(self.pk_json)

    @property
    def before(self) -> dict[str, Any] | None:
        return None if self.before_json is None else _decode_json.decode(self.before_json)

    @property
    def after(self) -> dict[str, Any] | None:
        return None if self.after_json is None else _decode_json.decode(self.after_json)

    @property
    def is_snapshot(self) -> bool:
        """Part of an initial snapshot (an incremental snapshot's reads stream with changes)."""
        return self.snapshot not in (None, "false", "incremental")


@dataclass(frozen=True, slots=True)
class ControlRow:
    """A change of Debezium's own tables: read and counted, never landed."""

    table: str  # HEARTBEAT_TABLE | SIGNAL_TABLE
    op: str
    source_lsn: int
    source_ts: datetime | None
    signal_type: str | None = None  # the signal row's `type` ('execute-snapshot', ...)


def _from_epoch(micros: int | None, millis: int | None) -> datetime | None:
    if micros is not None:
        return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
    if millis is not None:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    return None


def _fix_dates(image: bytes | None, date_fields: Iterable[str]) -> bytes | None:
    """'1990-05-17Z' -> '1990-05-17' in the named fields of a row image.

    Debezium's ``isostring`` mode writes dates with a zone designator, which
    casts in Postgres but is not the plain ISO date the warehouse contract
    promises (and other readers choke on). Only fields the record's schema says
    are dates are touched, so a text column holding such a string is left alone.
    """
    if image is None:
        return None
    row = _decode_json.decode(image)
    changed = False
    for name in date_fields:
        value = row.get(name)
        if isinstance(value, str) and value.endswith("Z"):
            row[name] = value[:-1]
            changed = True
    return _encode_json.encode(row) if changed else image


def is_heartbeat(destination: str) -> bool:
    return destination.startswith("__debezium-heartbeat")


def control_table(destination: str) -> str | None:
    """``debezium_heartbeat``/``debezium_signal`` for their topics, else ``None``."""
    table = destination.rsplit(".", 1)[-1]
    return table if table in CONTROL_TABLES else None


def _sequence_lsn(sequence: str | None) -> int | None:
    """The stream position an incremental-snapshot read was taken at.

    Such reads (``tailor cdc snapshot``) carry no ``source.lsn``; their
    ``source.sequence`` holds the position of the stream when the chunk was
    read. Landing them at that position orders them correctly against the
    stream: after every change before the read, before every change after
    it (Debezium drops a read whose key changed inside the chunk's window).
    """
    if not sequence:
        return None
    try:
        positions = [int(p) for p in _decode_json.decode(sequence) if p is not None]
    except (msgspec.DecodeError, TypeError, ValueError):
        return None
    return max(positions, default=None)


def decode_envelope(destination: str, value: str | bytes) -> _Envelope:
    """A record value -> its change envelope, checked; :class:`EnvelopeError` otherwise.

    Shared by :func:`parse_record` and the worker's batch encoder
    (:mod:`tailor.cdc.batch_encode`), so both accept and reject the same records.
    """
    try:
        envelope = _decode_envelope.decode(value)
    except msgspec.ValidationError as exc:  # JSON, but not shaped like an envelope
        raise EnvelopeError(
            f"record for {destination} has no Debezium envelope ({exc}): {str(value)[:200]}"
        ) from exc
    except msgspec.DecodeError as exc:
        raise EnvelopeError(f"record for {destination} is not JSON: {exc}") from exc
    if _raw(envelope.payload) is not None and _raw(envelope.schema) is not None:
        raise EnvelopeError(
            f"record for {destination} carries a Connect schema: the engine must run with "
            "value.converter.schemas.enable=false (see tailor.cdc.connector)"
        )
    op, source = envelope.op, envelope.source
    if op not in OPS or source is None:
        raise EnvelopeError(f"record for {destination} has no Debezium envelope (op={op!r})")
    if source.lsn is None and source.snapshot == "incremental":
        source.lsn = _sequence_lsn(source.sequence)
    if source.lsn is None:
        raise EnvelopeError(f"record for {destination} has no source.lsn; is it from PostgreSQL?")
    if envelope.ts_us is None and envelope.ts_ms is None:
        table = source.table or destination.rsplit(".", 1)[-1]
        if table not in CONTROL_TABLES:
            raise EnvelopeError(f"record for {destination} has no ts_ms")
    return envelope


def control_row(table: str, envelope: _Envelope) -> ControlRow:
    """The :class:`ControlRow` of a change of Debezium's own tables."""
    source = envelope.source
    assert source is not None and source.lsn is not None  # checked by decode_envelope
    after = _raw(envelope.after)
    signal_type = None
    if table == SIGNAL_TABLE and after is not None:
        signal_type = _decode_json.decode(after).get("type")
    return ControlRow(
        table, str(envelope.op), int(source.lsn), _from_epoch(source.ts_us, source.ts_ms),
        signal_type,
    )


def key_json(key: str | bytes | None) -> bytes:
    """The record key as the ``pk`` JSON object (a bare key value is wrapped)."""
    pk_json = b"{}" if key is None else (key.encode() if isinstance(key, str) else bytes(key))
    if not pk_json.startswith(b"{"):
        pk_json = b'{"key":' + pk_json + b"}"
    return pk_json


def parse_record(
    destination: str,
    key: str | bytes | None,
    value: str | bytes | None,
    date_fields: Iterable[str] = (),
) -> ChangeRow | ControlRow | Skipped:
    """One engine record -> a landing row, a control row, or the reason it lands nothing.

    ``date_fields`` are the columns of this table that are SQL ``date``s (the
    worker reads them from the record's Connect schema).
    """
    if is_heartbeat(destination):
        return Skipped.HEARTBEAT
    if value is None:
        return Skipped.TOMBSTONE
    envelope = decode_envelope(destination, value)
    source = envelope.source
    assert source is not None and source.lsn is not None and envelope.op is not None
    table = source.table or destination.rsplit(".", 1)[-1]
    if table in CONTROL_TABLES:
        return control_row(table, envelope)
    captured = _from_epoch(envelope.ts_us, envelope.ts_ms)
    assert captured is not None  # checked by decode_envelope
    before, after = _raw(envelope.before), _raw(envelope.after)
    if date_fields:
        before, after = _fix_dates(before, date_fields), _fix_dates(after, date_fields)
    return ChangeRow(
        source_table=table,
        op=envelope.op,
        pk_json=key_json(key),
        before_json=before,
        after_json=after,
        source_lsn=int(source.lsn),
        tx_id=source.txId,
        source_ts=_from_epoch(source.ts_us, source.ts_ms),
        captured_at=captured,
        snapshot=source.snapshot,
    )
