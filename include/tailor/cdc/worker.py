"""``python -m tailor.cdc.worker``: one bounded Debezium run, in its own process.

Why a separate process: JPype starts one JVM per process and can never start
it again, so a long-lived caller (an Airflow worker, a pytest session) could
capture only once; and a JVM crash must not take the caller down. The parent
(:mod:`tailor.cdc.capture`) starts this module, reads its JSON lines from
stdout (``{"event": "progress"|"result", ...}``) and owns ``raw.cdc_runs``.
Java logs go to stderr at WARN (``log4j2.properties`` next to this file).

Each batch the engine hands over is taken over from Java in a few calls
(:mod:`tailor.cdc.engine_batch`) on the engine's thread, then handed to one
*lander* thread, which encodes it as COPY text in one pass
(:mod:`tailor.cdc.batch_encode`) and lands it with its offsets in one
warehouse transaction (:func:`tailor.cdc.landing.land_copy`). Only when that
committed does the lander mark the batch's records processed and finish the
batch, which is when Debezium flushes its offsets and confirms the LSN to the
slot: the engine commits only what was marked (``commitRecord`` keeps the
last *marked* offset per partition; ``SourceTask.commit`` confirms that), so
the slot can never move past a change that is not in raw.

Why a second thread: the engine converts the next batch while the lander
writes this one (the hand-over queue holds one batch), so Debezium and the
warehouse work at the same time instead of taking turns — on two cores that
is most of the difference between landed and bare throughput. The lander
lands batches in the order they came and marks each only after its commit;
after a failed batch it lands nothing more (a later batch's offsets would
skip the failed one), and the run stops with the error.
``TAILOR_CDC_FAULT`` (:mod:`tailor.cdc.faults`) crashes the worker at either
side of the landing commit, for the crash-safety tests.

When to stop ("until caught up"): ``--target-lsn`` is ``pg_current_wal_lsn()``
read by the parent before the engine started. The run is caught up when
streaming has begun (a heartbeat or a streamed change arrived; a snapshot, if
any, is complete by then and contains everything up to the target) and

* a streamed change at or past the target has landed (the stream is in commit
  order, so every transaction committed before the target came before it), or
* the walsender has decoded past the target (``pg_stat_replication.sent_lsn``)
  and nothing arrived for ``--settle-seconds``, or
* nothing arrived at all for ``--idle-seconds`` (the fallback),

and no incremental snapshot (``tailor cdc snapshot``) is in progress — the
committed offset says so — since its chunks interleave with the stream.
Changes of ``debezium_heartbeat`` (written by ``heartbeat.action.query`` during
the run, so past the target) count as streamed changes: an idle source is
caught up at the first heartbeat.

``--continuous`` drops the "until caught up" rule: the run lands batches as
they arrive until SIGTERM/SIGINT (Ctrl-C) or ``--max-seconds``; a signal stops
the engine cleanly (the batch in hand lands and its offsets commit).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import resource
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import Any

import psycopg
from pydbzengine import DebeziumJsonEngine

from tailor.cdc.batch_encode import BatchEncoder, EncodedBatch
from tailor.cdc.connector import CONNECTOR_NAME, SLOT_NAME, connector_properties
from tailor.cdc.engine_batch import BatchReader
from tailor.cdc.envelope import (
    HEARTBEAT_TABLE,
    SIGNAL_TABLE,
    UNAVAILABLE_VALUE,
)
from tailor.cdc.faults import AFTER_COMMIT, BEFORE_COMMIT, FaultPlan
from tailor.cdc.java import JavaNotFoundError, find_jvm
from tailor.cdc.landing import land_copy
from tailor.cdc.slot import slot_status
from tailor.config import get_settings
from tailor.db.connect import database_url

log = logging.getLogger("tailor.cdc.worker")

ISO_DATE_SCHEMA = "io.debezium.time.IsoDate"
CONTROL_TOPICS = (f".{HEARTBEAT_TABLE}", f".{SIGNAL_TABLE}")

# Embedded-engine properties this worker sets on top of
# tailor.cdc.connector.connector_properties(). The first group belongs in the
# shared connector definition (connector.yml) and is only filled in here when
# the definition does not have it yet; the second is tuning for the embedded
# engine's hand-over to Python (measured with `tailor bench cdc`).
DEFINITION_DEFAULTS: dict[str, str] = {
    "heartbeat.action.query": (
        f"insert into public.{HEARTBEAT_TABLE} (id, beat_at) values (1, now()) "
        "on conflict (id) do update set beat_at = excluded.beat_at"
    ),
    "signal.data.collection": f"public.{SIGNAL_TABLE}",  # PostgreSQL: <schema>.<table>
    "signal.enabled.channels": "source",
    "unavailable.value.placeholder": UNAVAILABLE_VALUE,
}
ENGINE_TUNING: dict[str, str] = {
    "max.batch.size": "8192",
    "max.queue.size": "32768",
    "poll.interval.ms": "50",
}
# -Xrs: the JVM must not install its own SIGTERM/SIGINT handlers (they would
# exit with 143 and skip the clean engine stop); Python's handlers below own them.
JVM_OPTS = ["-Xrs", "-Xms64m", "-Xmx1g", "-Dfile.encoding=UTF-8"]


def emit(event: str, **payload: Any) -> None:
    """One JSON line on stdout for the parent; nothing else may write there."""
    sys.stdout.write(json.dumps({"event": event, **payload}, default=str) + "\n")
    sys.stdout.flush()


@dataclass
class Stats:
    """Counters shared between the engine thread (writes) and the monitor (reads)."""

    events_landed: int = 0
    duplicates_skipped: int = 0
    tombstones_skipped: int = 0
    heartbeats: int = 0  # heartbeat topic records + debezium_heartbeat rows
    signals: int = 0  # debezium_signal rows (requests and Debezium's window marks)
    snapshot_events: int = 0
    incremental_snapshot: bool = False  # the last committed offset has one in progress
    captured_through: float | None = None  # source commit time (epoch s) of the last record
    batches: int = 0
    per_table: Counter[str] = field(default_factory=Counter)
    first_lsn: int | None = None
    last_lsn: int | None = None
    max_streamed_lsn: int | None = None
    streaming_since: float | None = None
    first_data_at: float | None = None
    last_data_at: float | None = None
    handler_s: float = 0.0  # engine thread in our handler: taking over + waiting to hand over
    land_s: float = 0.0  # lander thread: encoding + the landing transaction (they overlap)
    read_s: float = 0.0  # of handler_s, taking the records over from Java (engine_batch)
    busy: bool = False  # a batch is handed over and not yet landed and marked
    closing: bool = False  # the run is stopping: no new batch starts (see _stop_handing_over)
    error: str | None = None

    def snapshot_dict(self) -> dict[str, Any]:
        return {
            "events_landed": self.events_landed,
            "duplicates_skipped": self.duplicates_skipped,
            "tombstones_skipped": self.tombstones_skipped,
            "heartbeats": self.heartbeats,
            "signals": self.signals,
            "snapshot_events": self.snapshot_events,
            "incremental_snapshot": self.incremental_snapshot,
            "captured_through": self.captured_through,
            "per_table": dict(self.per_table),
            "handler_s": round(self.handler_s, 3),
            "land_s": round(self.land_s, 3),
            "read_s": round(self.read_s, 3),
            "data_s": round((self.last_data_at or 0) - (self.first_data_at or 0), 3),
            "first_lsn": self.first_lsn,
            "last_lsn": self.last_lsn,
            "phase": (
                "streaming"
                if self.streaming_since is not None
                else "snapshot"
                if self.snapshot_events
                else "starting"
            ),
        }


def _log4j_config() -> str:
    return str(resources.files("tailor.cdc").joinpath("log4j2.properties"))


def _start_jvm(settings: Any) -> tuple[str, float]:
    """Start the JVM (once per process) with Debezium's jars and quiet logging."""
    started = time.monotonic()
    jvm = find_jvm(settings)
    from pydbzengine.engine.jvm import ensure_jvm_started

    opts = [*JVM_OPTS, f"-Dlog4j2.configurationFile={_log4j_config()}"]
    if jvm.major >= 21:  # JPype loads native code; newer JDKs warn on stderr unless allowed
        opts.append("--enable-native-access=ALL-UNNAMED")
    ensure_jvm_started(
        jvm_opts=opts,
        jvm_path=str(jvm.path_to_libjvm),
    )
    return f"Java {jvm.version} ({jvm.source}: {jvm.java_home})", time.monotonic() - started


@dataclass(frozen=True, slots=True)
class _Handover:
    """A batch taken over from the engine, waiting for the lander."""

    records: Any  # the Java list: the lander reads date schemas from it and marks it
    committer: Any
    texts: Any  # engine_batch.BatchTexts
    offsets: list[tuple[str, str]]


def _make_handler_class(bare: bool = False) -> type:
    """The change handler; defined after the JVM is up (it touches Java classes).

    ``bare=True`` gives the do-nothing handler the benchmark measures the
    engine alone with (it lands nothing and writes no offsets).
    """
    import jpype
    from pydbzengine import BasePythonChangeHandler

    json_converter = jpype.JClass("org.apache.kafka.connect.json.JsonConverter")
    arrays = jpype.JClass("java.util.Arrays")
    hash_map = jpype.JClass("java.util.HashMap")

    class LandingHandler(BasePythonChangeHandler):
        """Lands every batch, with the offsets it reached, in one transaction."""

        def __init__(
            self,
            conn: psycopg.Connection,
            stats: Stats,
            lock: threading.Lock,
            faults: FaultPlan | None = None,
        ) -> None:
            self.conn = conn
            self.stats = stats
            self.lock = lock
            self.faults = faults or FaultPlan()
            self.reader = BatchReader()
            self.encoder = BatchEncoder()
            self.data_batches = 0  # batches that landed rows (what fault points count)
            # The same converter (and namespace) Kafka Connect's offset writer
            # uses, so the keys we store are byte-identical to what Debezium
            # looks up when it starts.
            config = hash_map()
            config.put("schemas.enable", "false")
            self.key_converter = json_converter()
            self.key_converter.configure(config, True)
            self.value_converter = json_converter()
            self.value_converter.configure(config, False)
            self.date_fields: dict[str, frozenset[str]] = {}
            # one batch waits while one lands: enough to keep both threads busy
            self.handovers: queue.Queue[_Handover | None] = queue.Queue(maxsize=1)
            self.in_flight = 0  # handed over, not yet settled (under ``lock``)
            self.lander = threading.Thread(target=self._lander, name="cdc-lander", daemon=True)
            self.lander.start()

        def _offset(self, record: Any) -> tuple[str, str]:
            source = record.sourceRecord()
            key = self.key_converter.fromConnectData(
                CONNECTOR_NAME, None, arrays.asList(CONNECTOR_NAME, source.sourcePartition())
            )
            value = self.value_converter.fromConnectData(
                CONNECTOR_NAME, None, source.sourceOffset()
            )
            return bytes(key).decode(), bytes(value).decode()

        @staticmethod
        def _date_fields(record: Any) -> frozenset[str]:
            schema = record.sourceRecord().valueSchema()
            after = schema.field("after") if schema is not None else None
            if after is None:
                return frozenset()
            return frozenset(
                str(f.name())
                for f in after.schema().fields()
                if f.schema().name() == ISO_DATE_SCHEMA
            )

        def handleJsonBatch(self, records: Any) -> None:  # pydbzengine's interface
            self._land(records, self._take_over(records), self._last_offset(records))

        def handle_batch(self, records: Any, committer: Any) -> None:
            """Take the batch over and hand it to the lander (see :class:`Consumer`).

            Runs on the engine's thread. ``records`` stays a Java list (see
            :mod:`tailor.cdc.engine_batch`); nothing is marked here — the
            lander marks the records and finishes the batch after its landing
            commit. ``busy`` holds from the hand-over until then, so the stop
            rule never closes the engine with a batch in flight. Once the run
            is ``closing``, a batch handed over is left alone — not landed,
            not marked — and comes again in the next run. After a landing
            failure this raises, which stops the engine.
            """
            began = time.monotonic()
            with self.lock:
                if self.stats.error:
                    raise RuntimeError(f"an earlier batch failed to land: {self.stats.error}")
                if self.stats.closing:
                    return
                self.in_flight += 1
                self.stats.busy = True
            try:
                texts = self._take_over(records)
                handover = _Handover(records, committer, texts, self._last_offset(records))
                self.handovers.put(handover)  # waits while the previous batch lands
            except BaseException as exc:
                self._settled(error=f"{type(exc).__name__}: {exc}")
                raise
            finally:
                with self.lock:
                    self.stats.handler_s += time.monotonic() - began

        def _lander(self) -> None:
            """The lander thread: land, then mark and finish, one batch at a time, in order."""
            while (handover := self.handovers.get()) is not None:
                with self.lock:
                    failed = self.stats.error
                if failed:  # never land past a failed batch: its offsets would skip it
                    self._settled()
                    continue
                try:
                    if self._land(handover.records, handover.texts, handover.offsets):
                        self.faults.check(AFTER_COMMIT, self.data_batches)
                    self.reader.mark_processed(handover.committer, handover.records)
                    handover.committer.markBatchFinished()
                except Exception as exc:
                    log.error("landing a batch failed: %s", exc)
                    self._settled(error=f"{type(exc).__name__}: {exc}")
                else:
                    self._settled()

        def _settled(self, error: str | None = None) -> None:
            """One handed-over batch is done with (landed and marked, dropped, or failed)."""
            with self.lock:
                self.in_flight -= 1
                self.stats.busy = self.in_flight > 0
                if error and not self.stats.error:
                    self.stats.error = error

        def close(self) -> None:
            """Ends the lander thread once what it holds is done (after the engine closed)."""
            try:
                self.handovers.put(None, timeout=60)
            except queue.Full:  # the lander is stuck in a landing: it is a daemon thread
                return
            self.lander.join(timeout=60)

        def _take_over(self, records: Any) -> Any:
            began = time.monotonic()
            texts = self.reader.read(records)
            with self.lock:
                self.stats.read_s += time.monotonic() - began
            return texts

        def _last_offset(self, records: Any) -> list[tuple[str, str]]:
            """The offsets the batch reaches: its last record's (records are in order)."""
            count = int(records.size())
            return [self._offset(records.get(count - 1))] if count else []

        def _dates_of(self, records: Any) -> Any:
            """``date_fields(destination, i)`` for the encoder: a table's ``date`` columns.

            Read once per table from the Connect schema of its first record.
            """
            known = self.date_fields

            def date_fields(destination: str, i: int) -> frozenset[str]:
                fields = known.get(destination)
                if fields is None:
                    fields = known[destination] = self._date_fields(records.get(i))
                return fields

            return date_fields

        def _land(self, records: Any, texts: Any, offsets: list[tuple[str, str]]) -> bool:
            """Encode and land one batch; True if it landed rows (a data batch)."""
            began = time.monotonic()
            batch = EncodedBatch()
            pieces = self.encoder.chunks(
                texts.destinations, texts.keys, texts.values, self._dates_of(records), batch
            )

            def before_commit() -> None:  # batch.rows is final by then
                if batch.rows:
                    self.faults.check(BEFORE_COMMIT, self.data_batches + 1)

            # encoding and landing overlap: land_copy pulls the pieces as it sends them
            result = land_copy(
                self.conn, pieces, batch.per_table, offsets, before_commit=before_commit
            )
            if batch.rows:
                self.data_batches += 1
            now = time.monotonic()
            in_snapshot = bool(offsets) and "incremental_snapshot" in offsets[0][1]
            self._account(batch, result, in_snapshot, began, now)
            return batch.rows > 0

        def _account(
            self,
            batch: EncodedBatch,
            result: Any,
            in_snapshot: bool,
            began: float,
            now: float,
        ) -> None:
            """Fold one landed batch into the shared counters (after its commit)."""
            controls = batch.controls
            low, high, streamed = batch.min_lsn, batch.max_lsn, batch.max_streamed_lsn
            if controls:
                control_lsns = [c.source_lsn for c in controls]
                low = min(control_lsns + ([low] if low is not None else []))
                high = max(control_lsns + ([high] if high is not None else []))
                streamed = max(control_lsns + ([streamed] if streamed is not None else []))
            newest = batch.newest_source_us / 1_000_000 if batch.newest_source_us else None
            control_ts = [c.source_ts.timestamp() for c in controls if c.source_ts is not None]
            if control_ts:
                newest = max([*control_ts, *([newest] if newest is not None else [])])
            with self.lock:
                s = self.stats
                s.batches += 1
                s.events_landed += result.landed
                s.duplicates_skipped += result.duplicates
                s.tombstones_skipped += batch.tombstones
                s.heartbeats += batch.heartbeats + sum(c.table == HEARTBEAT_TABLE for c in controls)
                s.signals += sum(c.table == SIGNAL_TABLE for c in controls)
                s.snapshot_events += batch.snapshot_rows
                s.per_table.update(result.per_table)
                s.incremental_snapshot = in_snapshot
                if streamed is not None:
                    s.max_streamed_lsn = max(s.max_streamed_lsn or 0, streamed)
                if low is not None and high is not None:
                    s.first_lsn = low if s.first_lsn is None else min(s.first_lsn, low)
                    s.last_lsn = high if s.last_lsn is None else max(s.last_lsn, high)
                if newest is not None:
                    s.captured_through = max(s.captured_through or 0.0, newest)
                if (batch.heartbeats or streamed is not None) and s.streaming_since is None:
                    s.streaming_since = now
                if batch.rows:
                    s.last_data_at = now
                    if s.first_data_at is None:
                        s.first_data_at = began
                s.land_s += now - began

    class BareHandler(LandingHandler):
        """The benchmark's baseline: the engine alone, with a do-nothing handler.

        It takes the records over exactly as the landing handler does (the
        same bulk read into Python strings, the same ``markProcessed``) and
        then does nothing with them: no parsing, no landing, no offsets.
        """

        def handle_batch(self, records: Any, committer: Any) -> None:
            with self.lock:
                if self.stats.closing:
                    return
                self.stats.busy = True
            try:
                began = time.monotonic()
                texts = self.reader.read(records)
                count = len(texts)
                self.reader.mark_processed(committer, records)
                committer.markBatchFinished()
                now = time.monotonic()
                data = count > 0 and not texts.destinations[-1].endswith(CONTROL_TOPICS)
                with self.lock:
                    s = self.stats
                    s.batches += 1
                    s.events_landed += count
                    s.read_s += now - began
                    s.handler_s += now - began
                    if s.streaming_since is None:
                        s.streaming_since = now
                    if data:
                        s.last_data_at = now
                        if s.first_data_at is None:
                            s.first_data_at = began
            finally:
                with self.lock:
                    self.stats.busy = False

    return BareHandler if bare else LandingHandler


def _make_consumer(handler: Any) -> Any:
    """Debezium's ChangeConsumer, handing each batch and its committer to ``handler``.

    Replaces pydbzengine's consumer so the handler owns the whole batch,
    commit included (its ``busy`` flag then spans the engine's offset commit).
    """
    import jpype

    thread = jpype.JClass("java.lang.Thread")

    @jpype.JImplements("io.debezium.engine.DebeziumEngine$ChangeConsumer")
    class Consumer:
        def __init__(self) -> None:
            self.error: Exception | None = None

        @jpype.JOverride
        def handleBatch(self, records: Any, committer: Any) -> None:
            try:
                handler.handle_batch(records, committer)
            except Exception as exc:
                log.error("landing a batch failed: %s", exc)
                self.error = exc
                thread.currentThread().interrupt()  # stops the engine

        @jpype.JOverride
        def supportsTombstoneEvents(self) -> bool:
            return True

        def set_change_handler(self, _handler: Any) -> None:
            pass

        def clear_error(self) -> None:
            self.error = None

        def raise_if_failed(self) -> None:
            if self.error is not None:
                raise self.error

    return Consumer()


# What Debezium's async engine reports when it is closed while a poll is in
# flight: its processing pool is already terminated. Not a failure of the run.
SHUTDOWN_NOISE = ("RejectedExecutionException", "InterruptedException")


def fatal_engine_errors(before_close: list[str], after_close: list[str], *, we_stopped: bool) -> list[str]:
    """Engine errors that fail the run.

    Once the run itself decided to stop (caught up, time limit, parent gone),
    errors caused by closing the engine are benign: a batch in flight was
    never marked processed, so its records are re-delivered next run and
    land exactly once. Anything before the close, or any other error, counts.
    """
    late = [
        e for e in after_close
        if not (we_stopped and any(noise in e for noise in SHUTDOWN_NOISE))
    ]
    for ignored in (e for e in after_close if e not in late):
        log.warning("ignored after stop (records in flight are re-delivered next run): %s", ignored)
    return [*before_close, *late]


def _completion_callback(errors: list[str]) -> Any:
    import jpype

    @jpype.JImplements("io.debezium.engine.DebeziumEngine$CompletionCallback")
    class Completion:
        @jpype.JOverride
        def handle(self, success: bool, message: Any, error: Any) -> None:
            if not success:
                text = str(message) if message is not None else "engine failed"
                if error is not None:
                    text += f": {error}"
                    cause = error.getCause()
                    if cause is not None:
                        text += f" (cause: {cause})"
                errors.append(text)

    return Completion()


class CallbackEngine(DebeziumJsonEngine):
    """pydbzengine's engine plus a completion callback.

    Without one, a connector failure (bad password, slot in use) only reaches
    a log line; with it, the reason comes back in the run's result.
    """

    def __init__(self, properties: dict[str, str], handler: Any, errors: list[str]) -> None:
        super().__init__(properties, handler)
        self.errors = errors

    @cached_property
    def consumer(self) -> Any:
        self._ensure_jvm_started()
        return _make_consumer(self.handler)

    def _build_engine(self) -> Any:
        self._ensure_jvm_started()
        from pydbzengine.engine._jvm import JDebeziumEngine, JProperties

        props = JProperties()
        for key, value in self.properties.items():
            props.setProperty(str(key), str(value))
        return (
            JDebeziumEngine.create(self._resolve_format())
            .using(props)
            .using(_completion_callback(self.errors))
            .notifying(self.consumer)
            .build()
        )


@dataclass
class StopRule:
    """The "until caught up" decision (see the module docstring); pure, for testing."""

    target_lsn: int | None
    settle_s: float = 1.0
    idle_s: float = 5.0
    sent_ok_since: float | None = None
    last_sent_lsn: int | None = None
    sent_moved_at: float | None = None
    why: str = ""

    def caught_up(self, stats: Stats, sent_lsn: int | None, now: float) -> bool:
        if sent_lsn is not None and sent_lsn != self.last_sent_lsn:
            self.last_sent_lsn, self.sent_moved_at = sent_lsn, now
        if stats.streaming_since is None or stats.busy:
            return False
        if stats.incremental_snapshot:  # a re-snapshot is still reading its tables
            self.why = ""
            return False
        if self.target_lsn is not None and (stats.max_streamed_lsn or 0) >= self.target_lsn:
            self.why = "a streamed change reached the target LSN"
            return True
        quiet_since = max(stats.streaming_since, stats.last_data_at or 0.0)
        if self.target_lsn is not None and sent_lsn is not None and sent_lsn >= self.target_lsn:
            if self.sent_ok_since is None:
                self.sent_ok_since = now
            if now - self.sent_ok_since >= self.settle_s and now - quiet_since >= self.settle_s:
                self.why = "the walsender decoded past the target LSN and the stream is drained"
                return True
        # The idle fallback is for when the walsender cannot be observed; past
        # the target, the settle rule above decides. Short of the target, a
        # walsender still moving is not idle, however quiet the stream: on
        # the embedded server the slot also reads the warehouse's own WAL
        # (same cluster), gigabytes after a big dbt build, none of it a change
        # for us. Only one that stopped moving lets the fallback end the run.
        if self.target_lsn is not None and sent_lsn is not None:
            if sent_lsn >= self.target_lsn:
                return False
            quiet_since = max(quiet_since, self.sent_moved_at or quiet_since)
        if now - quiet_since >= self.idle_s:
            self.why = f"no changes for {self.idle_s:g} s while streaming"
            if self.target_lsn is not None and sent_lsn is not None:
                self.why += f"; the walsender stopped {self.target_lsn - sent_lsn:,} bytes short of the target"
            return True
        return False


def _stop_handing_over(stats: Stats, lock: threading.Lock, timeout_s: float = 30.0) -> None:
    """Let the batches handed over land and commit, and take no other, before the engine closes.

    Closing interrupts the engine's threads; an engine interrupted between a
    landing commit and its ``markBatchFinished`` fails the run (and the batch
    comes again next time). So wait until nothing is in flight (``busy``:
    handed over, not yet landed and marked), then mark the run ``closing`` in
    the same breath, which makes a batch handed over afterwards a no-op.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        with lock:
            if not stats.busy or time.monotonic() >= deadline:
                stats.closing = True
                return
        time.sleep(0.05)


def engine_properties(settings: Any, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The connector's properties plus what the embedded run adds (see ``DEFINITION_DEFAULTS``).

    Debezium's own tables must be captured (in ``table.include.list``, and so in
    the filtered publication) for heartbeats and signals to reach the engine.
    ``overrides`` (``--set KEY=VALUE``) come last: tests and the benchmark use
    them for a separate slot, snapshot mode or offset store.
    """
    props = connector_properties(settings)
    for key, value in DEFINITION_DEFAULTS.items():
        props.setdefault(key, value)
    tables = [t for t in props.get("table.include.list", "").split(",") if t]
    for table in (f"public.{HEARTBEAT_TABLE}", f"public.{SIGNAL_TABLE}"):
        if table not in tables:
            tables.append(table)
    props["table.include.list"] = ",".join(tables)
    props.update(ENGINE_TUNING)
    props.update(overrides or {})
    return props


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    started = time.monotonic()
    stop_reason: list[str] = []

    def on_signal(signum: int, _frame: Any) -> None:
        stop_reason.append("signal")

    jvm, jvm_start_s = _start_jvm(settings)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    parent = os.getppid()
    emit("jvm_started", jvm=jvm, jvm_start_s=round(jvm_start_s, 3))

    stats = Stats()
    lock = threading.Lock()
    engine_errors: list[str] = []
    properties = engine_properties(settings, dict(args.overrides))
    slot_name = properties.get("slot.name", SLOT_NAME)
    with (
        psycopg.connect(database_url("warehouse", settings), autocommit=True) as landing_conn,
        psycopg.connect(database_url("shop", settings), autocommit=True) as source_conn,
    ):
        handler = _make_handler_class(args.bare)(landing_conn, stats, lock, FaultPlan.from_env())
        engine = CallbackEngine(properties, handler, engine_errors)

        run_error: list[str] = []

        def run_engine() -> None:
            try:
                engine.run()
            except Exception as exc:
                run_error.append(f"{type(exc).__name__}: {exc}")

        thread = threading.Thread(target=run_engine, name="debezium-engine", daemon=True)
        thread.start()
        rule = StopRule(args.target_lsn, settle_s=args.settle_seconds, idle_s=args.idle_seconds)
        last_progress = 0.0
        while not stop_reason:
            time.sleep(0.2)
            now = time.monotonic()
            if not thread.is_alive():
                stop_reason.append("engine_stopped")
                break
            if os.getppid() != parent:  # the caller died: stop cleanly, don't run orphaned
                stop_reason.append("parent_exited")
                break
            with lock:
                failed = stats.error
            if failed:
                stop_reason.append("error")
                break
            if args.max_seconds is not None and now - started >= args.max_seconds:
                stop_reason.append("max_seconds")
                break
            if args.until_caught_up:
                sent = slot_status(source_conn, slot_name).sent_lsn
                with lock:
                    done = rule.caught_up(stats, sent, now)
                    stats.closing = done  # atomically with "not busy": no batch starts now
                if done:
                    stop_reason.append("caught_up")
                    break
            if now - last_progress >= args.progress_every:
                last_progress = now
                with lock:
                    emit("progress", elapsed_s=round(now - started, 2), **stats.snapshot_dict())
        errors_before_close = len(engine_errors)
        _stop_handing_over(stats, lock)
        engine.close()
        thread.join(timeout=60)
        handler.close()
        status = slot_status(source_conn, slot_name)

    engine_failures = fatal_engine_errors(
        engine_errors[:errors_before_close],
        engine_errors[errors_before_close:] + run_error,
        we_stopped=stop_reason[0] not in ("engine_stopped", "error"),
    )
    error = stats.error or (engine_failures[0] if engine_failures else None)
    if stop_reason[0] == "engine_stopped" and error is None:
        error = "the Debezium engine stopped on its own; see the Java warnings above"
    usage = resource.getrusage(resource.RUSAGE_SELF)
    emit(
        "result",
        status="failed" if error else "succeeded",
        stop_reason=stop_reason[0],
        stop_detail=rule.why,
        error=error,
        jvm=jvm,
        jvm_start_s=round(jvm_start_s, 3),
        lag_bytes=status.lag_bytes,
        retained_wal_bytes=status.retained_bytes,
        confirmed_flush_lsn=status.confirmed_flush_lsn,
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
        cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
        **stats.snapshot_dict(),
    )
    return 1 if error else 0


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tailor.cdc.worker", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--target-lsn", type=int, default=None)
    parser.add_argument("--max-seconds", type=float, default=None)
    parser.add_argument("--continuous", dest="until_caught_up", action="store_false")
    parser.add_argument("--settle-seconds", type=float, default=1.0)
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--progress-every", type=float, default=1.0)
    parser.add_argument(
        "--bare", action="store_true", help="do-nothing handler (benchmark baseline)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="a Debezium property for this run (repeatable)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(argv)
    try:
        return run(args)
    except JavaNotFoundError as exc:  # a setup problem, not a bug: no traceback
        emit("result", status="failed", stop_reason="error", error=str(exc))
        return 1
    except Exception as exc:  # the parent reads the reason from the result line
        log.exception("capture worker failed")
        emit("result", status="failed", stop_reason="error", error=f"{type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
