"""Debezium JSON envelopes -> raw.cdc_events rows (samples as the engine emits them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tailor.cdc.envelope import ChangeRow, ControlRow, EnvelopeError, Skipped, parse_record

TOPIC = "tailor.public.customers"
SOURCE = {
    "version": "3.6.3.Final",
    "connector": "postgresql",
    "name": "tailor",
    "ts_ms": 1795859441469,
    "ts_us": 1795859441469330,
    "snapshot": "false",
    "db": "shop",
    "schema": "public",
    "table": "customers",
    "txId": 758,
    "lsn": 30899608,
}
AFTER = {
    "customer_id": 1,
    "email": "a@x.io",
    "birth_date": "1990-05-17Z",
    "nickname": "2000-01-01Z",  # a text column that looks like a date: left alone
    "created_at": "2026-11-28T09:48:32.551742Z",
}


def envelope(op: str, before=None, after=None, **source) -> str:
    return json.dumps(
        {
            "before": before,
            "after": after,
            "source": {**SOURCE, **source},
            "transaction": None,
            "op": op,
            "ts_ms": 1795859441549,
            "ts_us": 1795859441549288,
        }
    )


def test_snapshot_read_row_is_typed_and_readable():
    row = parse_record(
        TOPIC, '{"customer_id":1}', envelope("r", after=AFTER, snapshot="first"), ["birth_date"]
    )
    assert isinstance(row, ChangeRow)
    assert (row.source_table, row.op, row.pk) == ("customers", "r", {"customer_id": 1})
    assert row.after is not None
    assert row.after["birth_date"] == "1990-05-17"  # a plain ISO date, castable with ::date
    assert row.after["nickname"] == "2000-01-01Z"
    assert row.after["created_at"] == "2026-11-28T09:48:32.551742Z"
    assert row.before is None
    assert row.source_lsn == 30899608 and row.tx_id == 758
    assert row.source_ts == datetime(2026, 11, 28, 9, 50, 41, 469330, tzinfo=UTC)
    assert row.captured_at == datetime(2026, 11, 28, 9, 50, 41, 549288, tzinfo=UTC)
    assert row.is_snapshot


def test_create_update_delete_ops():
    order = {"order_id": 7, "order_total": "123.45", "ordered_at": "2024-03-01T08:00:00.000000Z"}
    created = parse_record(
        "tailor.public.orders", '{"order_id":7}', envelope("c", after=order, table="orders")
    )
    assert isinstance(created, ChangeRow)
    assert created.op == "c" and created.after == order and not created.is_snapshot
    assert created.after["order_total"] == "123.45"  # decimal.handling.mode=string

    updated = parse_record(
        "tailor.public.orders",
        '{"order_id":7}',
        envelope("u", after={**order, "order_total": "99.00"}, table="orders"),
    )
    assert isinstance(updated, ChangeRow) and updated.op == "u"
    assert updated.after is not None and updated.after["order_total"] == "99.00"

    deleted = parse_record(
        "tailor.public.orders",
        '{"order_id":7}',
        envelope("d", before={"order_id": 7}, table="orders"),
    )
    assert isinstance(deleted, ChangeRow)
    assert deleted.op == "d" and deleted.after is None and deleted.before == {"order_id": 7}
    assert deleted.pk == {"order_id": 7}


def test_composite_key_and_truncate_without_key():
    row = parse_record(
        "tailor.public.order_items",
        '{"order_id":7,"line_no":2}',
        envelope(
            "c", after={"order_id": 7, "line_no": 2, "unit_price": "9.90"}, table="order_items"
        ),
    )
    assert isinstance(row, ChangeRow) and row.pk == {"order_id": 7, "line_no": 2}
    truncate = parse_record("tailor.public.devices", None, envelope("t", table="devices"))
    assert isinstance(truncate, ChangeRow)
    assert (truncate.op, truncate.pk, truncate.source_table) == ("t", {}, "devices")


def test_tombstones_and_heartbeats_land_nothing():
    assert parse_record(TOPIC, '{"customer_id":1}', None) is Skipped.TOMBSTONE
    assert (
        parse_record("__debezium-heartbeat.tailor", '{"serverName":"tailor"}', '{"ts_ms":1}')
        is Skipped.HEARTBEAT
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not json", "not JSON"),
        ('{"op": "x", "source": {}}', "no Debezium envelope"),
        ('{"schema": {}, "payload": {}}', "schemas.enable=false"),
        (
            json.dumps({"op": "c", "after": {}, "source": {"table": "customers"}, "ts_ms": 1}),
            "no source.lsn",
        ),
    ],
)
def test_malformed_records_are_errors_not_silently_dropped(value, message):
    with pytest.raises(EnvelopeError, match=message):
        parse_record(TOPIC, '{"customer_id":1}', value)


def test_debeziums_own_tables_are_control_rows_not_shop_data():
    beat = parse_record(
        "tailor.public.debezium_heartbeat",
        '{"id":1}',
        envelope("u", after={"id": 1, "beat_at": "2026-01-01T00:00:00Z"}, table="debezium_heartbeat"),
    )
    assert isinstance(beat, ControlRow)
    assert (beat.table, beat.source_lsn) == ("debezium_heartbeat", SOURCE["lsn"])
    signal = parse_record(
        "tailor.public.debezium_signal",
        '{"id":"s1"}',
        envelope(
            "c",
            after={"id": "s1", "type": "execute-snapshot", "data": "{}"},
            table="debezium_signal",
        ),
    )
    assert isinstance(signal, ControlRow) and signal.signal_type == "execute-snapshot"


def test_row_images_are_kept_as_delivered_including_the_toast_placeholder():
    after = {"event_id": 5, "properties": "__debezium_unavailable_value", "url": "a\\b\tc"}
    row = parse_record(
        "tailor.public.web_events", '{"event_id":5}', envelope("u", after=after, table="web_events")
    )
    assert isinstance(row, ChangeRow)
    assert row.after == after
    assert row.after_json is not None and b"__debezium_unavailable_value" in row.after_json


def test_copy_text_escapes_backslashes_and_keeps_json_intact():
    from tailor.cdc.landing import copy_text

    now = datetime(2024, 5, 1, tzinfo=UTC)
    row = ChangeRow.of("web_events", "c", {"event_id": 1}, None, {"url": "a\\b"}, 10, None, now, now)
    line = copy_text([row]).decode()
    fields = line.rstrip("\n").split("\t")
    assert fields[:3] == ["web_events", "c", '{"event_id":1}']
    assert fields[3] == "\\N" and fields[4] == '{"url":"a\\\\\\\\b"}'  # JSON \\ doubled for COPY
    assert fields[6] == "\\N" and fields[7] == "2024-05-01T00:00:00+00:00"


def test_incremental_snapshot_read_lands_at_its_stream_position():
    """Reads of `tailor cdc snapshot` have no source.lsn; source.sequence says where they sit."""
    value = envelope("r", after=AFTER, snapshot="incremental", lsn=None, txId=None,
                     sequence='["1975432752","1975432760"]')
    row = parse_record(TOPIC, '{"customer_id":1}', value, ["birth_date"])
    assert isinstance(row, ChangeRow)
    assert (row.op, row.source_lsn, row.tx_id) == ("r", 1975432760, None)
    assert not row.is_snapshot  # an incremental read streams with the changes
    with pytest.raises(EnvelopeError, match=r"no source\.lsn"):
        parse_record(TOPIC, '{"customer_id":1}', envelope("r", after=AFTER, lsn=None))
