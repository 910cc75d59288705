"""The worker's one-pass encoder lands exactly what parse_record + copy_text would."""

from __future__ import annotations

import json

import pytest

from tailor.cdc.batch_encode import BatchEncoder, TimestampText
from tailor.cdc.envelope import ChangeRow, EnvelopeError, Skipped, parse_record
from tailor.cdc.landing import copy_text

SOURCE = {"ts_ms": 1795859441469, "ts_us": 1795859441469330, "snapshot": "false",
          "schema": "public", "table": "customers", "txId": 758, "lsn": 30899608}


def value(op: str, lsn: int, before=None, after=None, **source) -> str:
    return json.dumps({"before": before, "after": after, "op": op,
                       "source": {**SOURCE, "lsn": lsn, **source},
                       "ts_ms": 1795859441549, "ts_us": 1795859441549000 + lsn % 7})


RECORDS = [
    ("tailor.public.customers", '{"customer_id":1}',
     value("r", 10, after={"customer_id": 1, "birth_date": "1990-05-17Z"}, snapshot="first")),
    ("tailor.public.customers", '{"customer_id":1}',
     value("u", 20, after={"customer_id": 1, "note": "a\\b", "birth_date": None})),
    ("tailor.public.customers", '{"customer_id":2}',
     value("d", 30, before={"customer_id": 2}, ts_us=None, ts_ms=1795859441000)),
    ("tailor.public.customers", '{"customer_id":2}', None),  # tombstone
    ("__debezium-heartbeat.tailor", '{"serverName":"tailor"}', '{"ts_ms":1}'),
    ("tailor.public.debezium_heartbeat", '{"id":1}',
     value("u", 40, after={"id": 1}, table="debezium_heartbeat")),
    ("tailor.public.devices", None, value("t", 50, table="devices", txId=None)),
    ("tailor.public.orders", "17", value("c", 60, after={"order_id": 17}, table="orders")),
]
DATES = {"tailor.public.customers": frozenset({"birth_date"})}


def test_encoded_batch_equals_parse_record_then_copy_text():
    rows = []
    for destination, key, val in RECORDS:
        parsed = parse_record(destination, key, val, DATES.get(destination, ()))
        if isinstance(parsed, ChangeRow):
            rows.append(parsed)
    batch = BatchEncoder().encode(
        [r[0] for r in RECORDS], [r[1] for r in RECORDS], [r[2] for r in RECORDS],
        lambda destination, i: DATES.get(destination, frozenset()),
    )
    assert batch.data == copy_text(rows)
    assert batch.rows == 5 and dict(batch.per_table) == {"customers": 3, "devices": 1, "orders": 1}
    assert (batch.tombstones, batch.heartbeats, len(batch.controls)) == (1, 1, 1)
    assert batch.snapshot_rows == 1
    assert (batch.min_lsn, batch.max_lsn, batch.max_streamed_lsn) == (10, 60, 60)


def test_timestamps_match_isoformat_with_and_without_fraction():
    from datetime import UTC, datetime

    text = TimestampText()
    for micros in (1795859441469330, 1795859441000000, 1795859441000001, 0):
        expected = datetime.fromtimestamp(micros / 1_000_000, tz=UTC).isoformat()
        assert text(micros).decode() == expected


def test_a_record_that_is_not_an_envelope_stops_the_batch():
    with pytest.raises(EnvelopeError, match="no Debezium envelope"):
        BatchEncoder().encode(["tailor.public.x"], [None], ['{"hello": 1}'],
                              lambda d, i: frozenset())
    assert parse_record("tailor.public.x", None, None) is Skipped.TOMBSTONE
