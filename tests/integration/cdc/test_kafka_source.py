"""The Kafka path of the capture task, on envelopes the real Debezium engine produced.

No broker can run here, so the consumer is a stand-in for the subset of
``confluent_kafka.Consumer`` that tailor.cdc.kafka_source uses (subscribe,
consume, list_topics, get_watermark_offsets, committed, commit, close), over
an in-memory "broker" holding the recorded records as Kafka Connect's JSON
converter (schemas.enable=false) would have written them: one topic per
table, key and value as JSON bytes, tombstones as null values.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import TopicPartition
from conftest import reset_databases

from tailor.cdc.envelope import ChangeRow, parse_record
from tailor.cdc.kafka_source import (
    KAFKA_OFFSETS_CONNECTOR,
    capture_topics,
    run_kafka_capture,
    shop_date_columns,
)
from tailor.cdc.landing import land_batch
from tailor.config import Settings
from tailor.db.connect import connect, database_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RECORDER = Path(__file__).parents[2] / "fixtures" / "record_debezium_envelopes.py"


# ------------------------------------------------------------------ the stand-in
@dataclass
class FakeMessage:
    _topic: str
    _partition: int
    _offset: int
    _key: bytes | None
    _value: bytes | None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def error(self) -> None:
        return None


@dataclass
class FakeBroker:
    """Topics (one partition each) and the committed offsets of consumer groups."""

    log: dict[str, list[FakeMessage]] = field(default_factory=dict)
    committed: dict[tuple[str, int], int] = field(default_factory=dict)

    def produce(self, topic: str, key: str | None, value: str | None) -> None:
        messages = self.log.setdefault(topic, [])
        messages.append(FakeMessage(topic, 0, len(messages),
                                    None if key is None else key.encode(),
                                    None if value is None else value.encode()))


@dataclass
class _Partitions:
    partitions: dict[int, Any]
    error: Any = None


@dataclass
class _Metadata:
    topics: dict[str, _Partitions]


class FakeConsumer:
    """The confluent_kafka.Consumer subset; ``on_commit`` sees each commit before it applies."""

    def __init__(self, broker: FakeBroker, on_commit: Callable[[list[TopicPartition]], None] | None = None) -> None:
        self.broker = broker
        self.on_commit = on_commit
        self.topics: list[str] = []
        self.position: dict[tuple[str, int], int] = {}
        self.commits: list[list[tuple[str, int, int]]] = []
        self.closed = False

    def subscribe(self, topics: list[str], **kwargs: Any) -> None:
        self.topics = list(topics)
        for topic in topics:
            if topic in self.broker.log:
                self.position[(topic, 0)] = self.broker.committed.get((topic, 0), 0)

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> _Metadata:
        names = [topic] if topic else list(self.broker.log)
        return _Metadata({n: _Partitions({0: object()}) for n in names if n in self.broker.log})

    def get_watermark_offsets(self, partition: TopicPartition, timeout: float | None = None,
                              cached: bool = False) -> tuple[int, int]:
        return 0, len(self.broker.log.get(partition.topic, []))

    def committed(self, partitions: list[TopicPartition], timeout: float = -1) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition,
                               self.broker.committed.get((tp.topic, tp.partition), -1001))
                for tp in partitions]

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[FakeMessage]:
        out: list[FakeMessage] = []
        for (topic, partition), pos in sorted(self.position.items()):
            available = self.broker.log[topic][pos : pos + num_messages - len(out)]
            out.extend(available)
            self.position[(topic, partition)] = pos + len(available)
            if len(out) >= num_messages:
                break
        return out

    def commit(self, message: Any = None, offsets: list[TopicPartition] | None = None,
               asynchronous: bool = True) -> None:
        assert offsets and not asynchronous, "commit explicit offsets, synchronously"
        if self.on_commit:
            self.on_commit(offsets)
        self.commits.append([(tp.topic, tp.partition, tp.offset) for tp in offsets])
        for tp in offsets:
            self.broker.committed[(tp.topic, tp.partition)] = tp.offset

    def close(self) -> None:
        self.closed = True


# ------------------------------------------------------------------ fixtures
def seed_shop(settings: Settings) -> None:
    with connect("shop", settings) as shop:
        shop.execute(
            """
            insert into customers (customer_id, email, first_name, birth_date, password_hash,
                                   created_at, updated_at)
            values (1, 'ann@example.com', 'Ann', '1990-05-17', 'secret-1',
                    '2024-01-02 03:04:05+00', '2024-01-02 03:04:05+00'),
                   (2, 'bob@example.com', 'Bob', null, 'secret-2',
                    '2024-01-03 00:00:00+00', '2024-01-03 00:00:00+00')
            """
        )
        shop.execute(
            """
            insert into orders (order_id, customer_id, email, status, order_total, ordered_at,
                                updated_at)
            values (10, 1, 'ann@example.com', 'placed', 123.45, '2024-03-01 10:00:00+02', now()),
                   (11, 2, 'bob@example.com', 'paid', 5.00, '2024-03-02 00:00:00+00', now())
            """
        )


@pytest.fixture(scope="module")
def recorded(pg: Settings, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Snapshot + update + delete (+ tombstone) + insert, from the real engine."""
    reset_databases(pg)
    seed_shop(pg)
    out = tmp_path_factory.mktemp("envelopes") / "envelopes.jsonl"
    proc = subprocess.run([sys.executable, str(RECORDER), str(out)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    kinds = {(r["destination"], r["value"] is None) for r in records}
    assert ("tailor.public.orders", True) in kinds  # the delete's tombstone is among them
    return records


@pytest.fixture
def warehouse(pg: Settings, recorded: list[dict[str, Any]]):
    with psycopg.connect(database_url("warehouse", pg), autocommit=True) as conn:
        conn.execute("truncate raw.cdc_events, raw.cdc_offsets")
        yield conn


def broker_with(records: list[dict[str, Any]]) -> FakeBroker:
    broker = FakeBroker()
    for r in records:
        broker.produce(r["destination"], r["key"], r["value"])
    return broker


def landed(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "select source_table, op, pk, before, after, source_lsn, tx_id, source_ts, captured_at "
        "from raw.cdc_events order by source_lsn, source_table, pk::text, op"
    ).fetchall()


def land_like_the_embedded_worker(conn: psycopg.Connection, records: list[dict[str, Any]]) -> None:
    """What tailor.cdc.worker does per batch: parse with the schema's date fields, land."""
    rows = []
    for r in records:
        parsed = parse_record(r["destination"], r["key"], r["value"], r["date_fields"])
        if isinstance(parsed, ChangeRow):
            rows.append(parsed)
    land_batch(conn, rows)


def kafka_topics(records: list[dict[str, Any]]) -> list[str]:
    topics = capture_topics()
    assert {r["destination"] for r in records if not r["destination"].startswith("__")} <= set(topics)
    return topics


# ------------------------------------------------------------------ tests
def test_kafka_path_lands_what_the_embedded_path_lands(pg, recorded, warehouse) -> None:
    land_like_the_embedded_worker(warehouse, recorded)
    embedded = landed(warehouse)
    assert len(embedded) == 7  # 4 snapshot reads + update + delete + insert
    warehouse.execute("truncate raw.cdc_events, raw.cdc_offsets")

    broker = broker_with(recorded)
    consumer = FakeConsumer(broker)
    with connect("shop", pg) as shop:
        dates = shop_date_columns(shop)
    assert "birth_date" in dates["customers"]
    result = run_kafka_capture(consumer, warehouse, date_fields=dates,
                               topics=kafka_topics(recorded), batch_size=4)
    assert result.stop_reason == "caught_up"
    assert landed(warehouse) == embedded
    assert result.events_landed == 7 and result.tombstones_skipped == 1
    assert result.control_rows >= 1  # debezium_heartbeat rows: read, never landed
    ann = warehouse.execute(
        "select after->>'birth_date', after ? 'password_hash' from raw.cdc_events "
        "where source_table = 'customers' and op = 'r' and pk = '{\"customer_id\": 1}'"
    ).fetchone()
    assert ann == ("1990-05-17", False)
    assert consumer.closed
    # Kafka positions recorded with the rows, under the Kafka path's own connector name
    stored = dict(warehouse.execute(
        "select offset_key, offset_value::bigint from raw.cdc_offsets where connector = %s",
        (KAFKA_OFFSETS_CONNECTOR,),
    ).fetchall())
    assert stored['["tailor.public.orders",0]'] == len(broker.log["tailor.public.orders"])
    subscribed = set(kafka_topics(recorded))
    assert broker.committed == {(t, 0): len(m) for t, m in broker.log.items() if t in subscribed}


def test_offsets_are_committed_only_after_landing(pg, recorded, warehouse) -> None:
    broker = broker_with(recorded)
    observer = psycopg.connect(database_url("warehouse", pg), autocommit=True)
    seen: list[int] = []

    def check(offsets: list[TopicPartition]) -> None:
        # Another session must already see every change up to the committed offsets.
        expected = 0
        for tp in offsets:
            for m in broker.log[tp.topic][: tp.offset]:
                parsed = parse_record(m.topic(), m.key().decode() if m.key() else None,
                                      m.value().decode() if m.value() else None)
                expected += isinstance(parsed, ChangeRow)
        got = observer.execute(
            "select count(*) from raw.cdc_events where source_table = any(%s)",
            ([tp.topic.rsplit(".", 1)[-1] for tp in offsets],),
        ).fetchone()[0]
        seen.append(got)
        assert got >= expected, f"commit of {offsets} before its rows landed"

    consumer = FakeConsumer(broker, on_commit=check)
    with connect("shop", pg) as shop:
        dates = shop_date_columns(shop)
    result = run_kafka_capture(consumer, warehouse, date_fields=dates,
                               topics=kafka_topics(recorded), batch_size=3)
    observer.close()
    assert result.batches == len(consumer.commits) >= 3 and seen


def test_crash_before_commit_redelivers_and_lands_nothing_twice(pg, recorded, warehouse) -> None:
    broker = broker_with(recorded)
    with connect("shop", pg) as shop:
        dates = shop_date_columns(shop)

    class Crash(RuntimeError):
        pass

    def crash(_offsets: list[TopicPartition]) -> None:
        raise Crash("killed between the landing commit and the Kafka commit")

    with pytest.raises(Crash):
        run_kafka_capture(FakeConsumer(broker, on_commit=crash), warehouse, date_fields=dates,
                          topics=kafka_topics(recorded), batch_size=1000)
    after_crash = landed(warehouse)
    assert len(after_crash) == 7 and broker.committed == {}  # landed, but Kafka never heard

    rerun = run_kafka_capture(FakeConsumer(broker), warehouse, date_fields=dates,
                              topics=kafka_topics(recorded), batch_size=1000)
    assert rerun.stop_reason == "caught_up"
    assert rerun.events_landed == 0 and rerun.duplicates_skipped == 7  # re-delivered, not re-landed
    assert landed(warehouse) == after_crash
    again = run_kafka_capture(FakeConsumer(broker), warehouse, date_fields=dates,
                              topics=kafka_topics(recorded))
    assert again.batches == 0 and again.stop_reason == "caught_up"  # committed: nothing to read


def test_caller_transaction_is_refused(pg) -> None:
    from tailor.cdc.kafka_source import KafkaCaptureError

    with psycopg.connect(database_url("warehouse", pg)) as conn, pytest.raises(KafkaCaptureError):
        run_kafka_capture(FakeConsumer(FakeBroker()), conn, date_fields={})


def test_capture_task_entry_point_uses_settings(pg, recorded, warehouse, monkeypatch) -> None:
    """capture_from_kafka: what the DAG calls when TAILOR_KAFKA_BOOTSTRAP_SERVERS is set."""
    from tailor.cdc import kafka_source

    broker = broker_with(recorded)
    made: list[str] = []

    def fake_consumer(bootstrap_servers: str, *args: Any, **kwargs: Any) -> FakeConsumer:
        made.append(bootstrap_servers)
        return FakeConsumer(broker)

    monkeypatch.setattr(kafka_source, "make_consumer", fake_consumer)
    result = kafka_source.capture_from_kafka(pg, bootstrap_servers="kafka:9092", max_seconds=30)
    assert made == ["kafka:9092"]
    assert result.stop_reason == "caught_up"
    assert result.events_landed == 7
    assert len(landed(warehouse)) == 7
