"""The capture task's Kafka path: Debezium change topics -> ``warehouse.raw``.

In production Debezium runs in Kafka Connect and writes one topic per table
(``tailor.public.<table>``, JSON converter with ``schemas.enable=false``: the
same envelopes the embedded engine hands over). This module reads them with a
``confluent_kafka.Consumer`` and lands them with the SAME code as the embedded
path — :func:`tailor.cdc.envelope.parse_record` and
:func:`tailor.cdc.landing.land_batch` — so both paths produce identical rows.

The guarantees, and how:

* **Bounded runs.** The end offsets (high watermarks) of every partition are
  read once at the start; the run stops when every partition has been read up
  to them ("caught up with the position current at start"), or at
  ``max_seconds``.
* **Commit after landing.** ``enable.auto.commit=false``; a batch is parsed,
  landed in one warehouse transaction (which also records the Kafka positions
  in ``raw.cdc_offsets`` under the connector name ``tailor-kafka``), and only
  after that transaction committed are the Kafka offsets committed,
  synchronously. A crash in between re-delivers the batch, and the unique key
  of ``raw.cdc_events`` turns it into duplicates, not second rows.

One difference from the embedded path, adapted here: without Connect schemas
in the messages, which columns are SQL ``date``s (Debezium writes them as
``'1990-05-17Z'`` in ``isostring`` mode; :mod:`tailor.cdc.envelope` strips the
``Z``) is read from the shop's catalog at the start of the run
(:func:`shop_date_columns`) instead of from each record's schema.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg

from tailor.cdc.connector import load_definition
from tailor.cdc.envelope import ChangeRow, Skipped, parse_record
from tailor.cdc.landing import land_batch
from tailor.config import Settings

KAFKA_OFFSETS_CONNECTOR = "tailor-kafka"  # raw.cdc_offsets rows of this path
OFFSET_INVALID = -1001  # librdkafka's "no committed offset"


class KafkaCaptureError(RuntimeError):
    """The Kafka path could not go on; the message says where and what to check."""


class Message(Protocol):
    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def key(self) -> bytes | str | None: ...
    def value(self) -> bytes | str | None: ...
    def error(self) -> Any: ...


class Consumer(Protocol):
    """The subset of ``confluent_kafka.Consumer`` this module uses."""

    def subscribe(self, topics: list[str], **kwargs: Any) -> None: ...
    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Any]: ...
    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any: ...
    def get_watermark_offsets(self, partition: Any, timeout: float | None = None,
                              cached: bool = False) -> tuple[int, int]: ...
    def committed(self, partitions: list[Any], timeout: float = -1) -> list[Any]: ...
    def commit(self, message: Any = None, offsets: list[Any] | None = None,
               asynchronous: bool = True) -> Any: ...
    def close(self) -> None: ...


def capture_topics() -> list[str]:
    """``tailor.public.<table>`` for every captured table (as in ``table.include.list``)."""
    d = load_definition()
    return [f"{d.topic_prefix}.{table}" for table in d.captured_tables]


def consumer_config(bootstrap_servers: str, group_id: str = "tailor-capture",
                    **extra: str) -> dict[str, Any]:
    """Settings for ``confluent_kafka.Consumer``: manual commits, read from the start."""
    return {
        "bootstrap.servers": bootstrap_servers,
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        **extra,
    }


def make_consumer(bootstrap_servers: str, group_id: str = "tailor-capture",
                  **extra: str) -> Consumer:
    from confluent_kafka import Consumer as KafkaConsumer

    return KafkaConsumer(consumer_config(bootstrap_servers, group_id, **extra))


def shop_date_columns(shop: psycopg.Connection, schema: str | None = None) -> dict[str, frozenset[str]]:
    """table -> its ``date`` columns, from the shop's catalog (see the module docstring)."""
    rows = shop.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = %s and data_type = 'date'",
        (schema or load_definition().schema,),
    ).fetchall()
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(table, set()).add(column)
    return {t: frozenset(c) for t, c in out.items()}


def _topic_partition(topic: str, partition: int, offset: int = OFFSET_INVALID) -> Any:
    from confluent_kafka import TopicPartition

    return TopicPartition(topic, partition, offset)


@dataclass
class KafkaCaptureResult:
    """What one bounded run did."""

    stop_reason: str = ""  # caught_up | max_seconds
    batches: int = 0
    events_landed: int = 0
    duplicates_skipped: int = 0
    tombstones_skipped: int = 0
    heartbeats: int = 0
    control_rows: int = 0
    per_table: Counter[str] = field(default_factory=Counter)
    targets: dict[tuple[str, int], int] = field(default_factory=dict)  # end offsets at start
    committed: dict[tuple[str, int], int] = field(default_factory=dict)  # next offset to read


def _end_offsets(consumer: Consumer, topics: list[str], timeout: float) -> dict[tuple[str, int], int]:
    targets: dict[tuple[str, int], int] = {}
    for topic in topics:
        metadata = consumer.list_topics(topic, timeout=timeout)
        info = metadata.topics.get(topic)
        if info is None or getattr(info, "error", None) is not None or not info.partitions:
            continue  # not created yet: Connect creates it with the table's first change
        for partition in info.partitions:
            _low, high = consumer.get_watermark_offsets(
                _topic_partition(topic, partition), timeout=timeout
            )
            targets[(topic, partition)] = high
    return targets


def _start_positions(consumer: Consumer, targets: Mapping[tuple[str, int], int],
                     timeout: float) -> dict[tuple[str, int], int]:
    if not targets:
        return {}
    committed = consumer.committed(
        [_topic_partition(t, p) for t, p in targets], timeout=timeout
    )
    return {
        (tp.topic, tp.partition): max(tp.offset, 0) if tp.offset != OFFSET_INVALID else 0
        for tp in committed
    }


def _decode(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


def run_kafka_capture(
    consumer: Consumer,
    warehouse: psycopg.Connection,
    *,
    date_fields: Mapping[str, Iterable[str]],
    topics: list[str] | None = None,
    max_seconds: float = 300.0,
    batch_size: int = 2000,
    poll_timeout: float = 1.0,
    metadata_timeout: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> KafkaCaptureResult:
    """Land what the topics hold now, batch by batch, committing Kafka offsets after each landing.

    ``warehouse`` must be an autocommit connection (each ``land_batch`` is
    then its own transaction, committed when it returns). ``date_fields``:
    :func:`shop_date_columns`. The consumer is closed at the end.
    """
    if not warehouse.autocommit:
        raise KafkaCaptureError(
            "the warehouse connection must be autocommit: Kafka offsets may only be committed "
            "once the landing transaction has committed, not inside a caller's transaction"
        )
    topics = topics or capture_topics()
    result = KafkaCaptureResult()
    started = clock()
    try:
        consumer.subscribe(topics)
        result.targets = _end_offsets(consumer, topics, metadata_timeout)
        position = _start_positions(consumer, result.targets, metadata_timeout)
        dates = {t: frozenset(c) for t, c in date_fields.items()}

        def caught_up() -> bool:
            return all(position.get(tp, 0) >= end for tp, end in result.targets.items())

        while True:
            if caught_up():
                result.stop_reason = "caught_up"
                break
            if clock() - started >= max_seconds:
                result.stop_reason = "max_seconds"
                break
            messages = consumer.consume(num_messages=batch_size, timeout=poll_timeout)
            if not messages:
                continue
            rows: list[ChangeRow] = []
            reached: dict[tuple[str, int], int] = {}
            for message in messages:
                error = message.error()
                if error is not None:
                    raise KafkaCaptureError(
                        f"Kafka error on {message.topic()}[{message.partition()}]: {error}; "
                        "nothing of this batch was landed or committed"
                    )
                topic, partition = str(message.topic()), int(message.partition() or 0)
                table = topic.rsplit(".", 1)[-1]
                parsed = parse_record(
                    topic, _decode(message.key()), _decode(message.value()),
                    dates.get(table, ()),
                )
                if parsed is Skipped.TOMBSTONE:
                    result.tombstones_skipped += 1
                elif parsed is Skipped.HEARTBEAT:
                    result.heartbeats += 1
                elif isinstance(parsed, ChangeRow):
                    rows.append(parsed)
                else:  # Debezium's own tables: read, counted, never landed
                    result.control_rows += 1
                reached[(topic, partition)] = int(message.offset() or 0) + 1
            offsets = [
                (json.dumps([t, p], separators=(",", ":")), str(o))
                for (t, p), o in sorted(reached.items())
            ]
            landed = land_batch(warehouse, rows, offsets, connector=KAFKA_OFFSETS_CONNECTOR)
            # The landing transaction has committed: now, and only now, tell Kafka.
            consumer.commit(
                offsets=[_topic_partition(t, p, o) for (t, p), o in sorted(reached.items())],
                asynchronous=False,
            )
            position.update(reached)
            result.committed.update(reached)
            result.batches += 1
            result.events_landed += landed.landed
            result.duplicates_skipped += landed.duplicates
            result.per_table.update(landed.per_table)
    finally:
        consumer.close()
    return result


def capture_from_kafka(
    settings: Settings | None = None, *, bootstrap_servers: str, max_seconds: float = 300.0
) -> KafkaCaptureResult:
    """The capture task's production path: a consumer and connections from settings."""
    from tailor.config import get_settings
    from tailor.db.connect import connect, database_url

    settings = settings or get_settings()
    with connect("shop", settings) as shop:
        date_fields = shop_date_columns(shop)
    with psycopg.connect(database_url("warehouse", settings), autocommit=True) as warehouse:
        return run_kafka_capture(
            make_consumer(bootstrap_servers), warehouse, date_fields=date_fields, max_seconds=max_seconds
        )
