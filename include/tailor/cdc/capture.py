"""Bounded CDC capture: shop changes -> ``warehouse.raw.cdc_events``.

:func:`run_capture` is what the ``tailor_capture`` DAG, ``tailor cdc capture``
and the tests call. It reads the source's WAL position (the "caught up"
target), records a ``raw.cdc_runs`` row, runs the Debezium engine in a child
process (:mod:`tailor.cdc.worker` — a JVM can start only once per process and
must not crash its caller), relays the child's progress and turns its last
line into a :class:`~tailor.cdc.runs.CaptureResult`.

Only one capture runs at a time: a PostgreSQL advisory lock on the warehouse
turns an overlapping run (two DAG runs, a person and a DAG) into a clear
error instead of a fight over the replication slot.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg

from tailor.cdc.connector import SLOT_NAME
from tailor.cdc.runs import CaptureResult, close_abandoned, finish_run, start_run
from tailor.cdc.slot import current_lsn, slot_status
from tailor.config import Settings, get_settings
from tailor.db.connect import connect, database_url

log = logging.getLogger("tailor.cdc")

ProgressCallback = Callable[[dict[str, Any]], None]

# Advisory lock key for "a capture is running" (any constant; 'tailorcd' in hex).
CAPTURE_LOCK_KEY = 0x7461696C6F726364
# Time the worker needs beyond --max-seconds: JVM start and a clean engine stop.
SHUTDOWN_GRACE_S = 90.0

__all__ = ["CaptureBusyError", "CaptureError", "CaptureResult", "run_capture"]


# A run that landed this many events refreshes raw.cdc_events' statistics.
ANALYZE_AFTER_EVENTS = 10_000

class CaptureError(RuntimeError):
    """The capture run failed; ``result`` holds what it did before failing."""

    def __init__(self, message: str, result: CaptureResult) -> None:
        super().__init__(message)
        self.result = result


class CaptureBusyError(RuntimeError):
    """Another capture holds the lock (and the replication slot)."""


def _child_env(settings: Settings) -> dict[str, str]:
    """The environment that makes the child's ``get_settings()`` equal ``settings``."""
    env = dict(os.environ)
    env["TAILOR_HOME"] = str(settings.home)
    env["TAILOR_PG_PORT"] = str(settings.pg_port)
    for name, value in (
        ("TAILOR_SOURCE_URL", settings.source_url),
        ("TAILOR_WAREHOUSE_URL", settings.warehouse_url),
        ("TAILOR_JAVA_HOME", settings.java_home),
        ("TAILOR_PG_BIN", settings.pg_bin_dir),
    ):
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextlib.contextmanager
def _capture_lock(settings: Settings) -> Iterator[psycopg.Connection]:
    conn = psycopg.connect(database_url("warehouse", settings), autocommit=True, connect_timeout=10)
    try:
        row = conn.execute("select pg_try_advisory_lock(%s)", (CAPTURE_LOCK_KEY,)).fetchone()
        if not row or not row[0]:
            raise CaptureBusyError(
                "Another CDC capture is running against this warehouse (advisory lock held). "
                "Wait for it to finish, or use 'tailor cdc status' to see the last run."
            )
        yield conn
    finally:
        conn.close()  # releases the session lock


def _result_from(line: dict[str, Any], result: CaptureResult) -> None:
    for name in (
        "events_landed",
        "duplicates_skipped",
        "tombstones_skipped",
        "snapshot_events",
        "first_lsn",
        "last_lsn",
        "lag_bytes",
        "retained_wal_bytes",
        "heartbeats",
        "signals",
        "captured_through",
        "peak_rss_mb",
        "handler_s",
        "land_s",
        "read_s",
        "cpu_s",
        "data_s",
        "jvm",
        "jvm_start_s",
        "stop_reason",
        "error",
    ):
        if name in line:
            setattr(result, name, line[name])
    if "per_table" in line:
        result.per_table = dict(sorted(line["per_table"].items()))
    if line.get("status"):
        result.status = line["status"]


def run_capture(
    settings: Settings | None = None,
    max_seconds: float | None = 120,
    until_caught_up: bool = True,
    progress: ProgressCallback | None = None,
    *,
    continuous: bool = False,
    stop: threading.Event | None = None,
    overrides: dict[str, str] | None = None,
    bare: bool = False,
) -> CaptureResult:
    """Capture changes until caught up with the source (or ``max_seconds``).

    ``continuous=True`` (or ``until_caught_up=False``) keeps streaming, landing
    batches as they arrive, until SIGTERM/Ctrl-C, ``stop`` is set, or
    ``max_seconds`` (``None``: no bound). Every way of stopping is clean: the
    worker lands the batch in hand, commits its offsets and reports.
    ``overrides`` are Debezium properties for this run (tests, benchmark);
    ``bare`` runs the engine with a do-nothing handler (benchmark baseline).
    Raises :class:`CaptureError` if the run failed (after recording it in
    ``raw.cdc_runs``) and :class:`CaptureBusyError` if another capture is running.
    """
    if continuous:
        until_caught_up = False
    settings = settings or get_settings()
    started = time.monotonic()
    started_at = datetime.now(UTC)
    with _capture_lock(settings):
        with connect("shop", settings) as shop:
            _wait_for_slot(shop, (overrides or {}).get("slot.name", SLOT_NAME))
            target = current_lsn(shop)
        with connect("warehouse", settings) as warehouse:
            close_abandoned(warehouse)
            run_id = start_run(warehouse, started_at, target)
        result = CaptureResult(run_id=run_id, target_lsn=target, status="failed")
        command = [sys.executable, "-m", "tailor.cdc.worker", "--target-lsn", str(target)]
        if max_seconds is not None:
            command += ["--max-seconds", str(max_seconds)]
        if not until_caught_up:
            command.append("--continuous")
        if bare:
            command.append("--bare")
        for key, value in (overrides or {}).items():
            command += ["--set", f"{key}={value}"]
        try:
            stderr_tail = _run_worker(command, settings, max_seconds, result, progress, stop)
        finally:
            result.duration_s = round(time.monotonic() - started, 3)
            if result.status != "succeeded" and not result.error:
                result.error = "capture interrupted"
            with connect("warehouse", settings) as warehouse:
                finish_run(warehouse, result)
    if result.events_landed >= ANALYZE_AFTER_EVENTS:
        # Fresh statistics before dbt reads the log: without them the planner
        # takes a snapshot-sized raw.cdc_events for empty and staging crawls.
        with connect("warehouse", settings, autocommit=True) as warehouse:
            warehouse.execute("analyze raw.cdc_events")
    if result.status != "succeeded":
        detail = "\n".join(stderr_tail[-15:])
        raise CaptureError(
            f"CDC capture run {run_id} failed: {result.error}"
            + (f"\nlast worker output:\n{detail}" if detail else ""),
            result,
        )
    return result


def _wait_for_slot(shop: psycopg.Connection, slot_name: str, timeout_s: float = 15.0) -> None:
    """Give a killed predecessor's walsender a moment to let go of the slot.

    We hold the capture lock, so an active slot belongs to a process that is
    gone (a crashed worker) or to something outside Tailor. PostgreSQL frees
    it within moments of the connection dropping; Debezium itself would only
    retry after 10 s.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = slot_status(shop, slot_name)
        if not status.exists or not status.active:
            return
        time.sleep(0.2)
    log.warning(
        "replication slot %s is still in use by another process; "
        "the capture will retry (see pg_stat_replication)",
        slot_name,
    )


@contextlib.contextmanager
def _forward_sigterm(proc: subprocess.Popen[str]) -> Iterator[None]:
    """SIGTERM to this process (a scheduler stopping a task) stops the worker cleanly.

    Only possible in the main thread; elsewhere the caller stops the run
    through ``stop`` (or the worker notices its parent is gone).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(_signum: int, _frame: Any) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_worker(
    command: list[str],
    settings: Settings,
    max_seconds: float | None,
    result: CaptureResult,
    progress: ProgressCallback | None,
    stop: threading.Event | None = None,
) -> list[str]:
    """Run the child, relay progress, fill ``result``; returns the stderr tail."""
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_child_env(settings),
        cwd=str(settings.home if settings.home.exists() else settings.project_root),
    )
    tail: collections.deque[str] = collections.deque(maxlen=200)

    def read_stderr() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.rstrip()
            tail.append(line)
            log.warning("%s", line)

    reader = threading.Thread(target=read_stderr, name="cdc-worker-stderr", daemon=True)
    reader.start()
    if stop is not None:

        def stop_on_request() -> None:
            while proc.poll() is None:
                if stop.wait(0.2):
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGTERM)
                    return

        threading.Thread(target=stop_on_request, name="cdc-worker-stop", daemon=True).start()
    watchdog: threading.Timer | None = None
    if max_seconds is not None:
        watchdog = threading.Timer(max_seconds + SHUTDOWN_GRACE_S, _kill, args=(proc,))
        watchdog.daemon = True
        watchdog.start()
    got_result = False

    def handle(raw: str) -> None:
        nonlocal got_result
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            tail.append(raw.rstrip())
            return
        event = line.get("event")
        if event == "result":
            got_result = True
            _result_from(line, result)
        elif event in ("progress", "jvm_started"):
            _result_from({k: v for k, v in line.items() if k != "error"}, result)
        if progress is not None:
            progress(line)

    interrupted = False
    with _forward_sigterm(proc):
        try:
            assert proc.stdout is not None
            while True:
                try:
                    for raw in proc.stdout:
                        handle(raw)
                    break
                except KeyboardInterrupt:
                    # Ctrl-C: ask the worker to stop the engine cleanly (it lands
                    # what it has and commits offsets), keep reading its result.
                    if interrupted:
                        _kill(proc)
                        raise
                    interrupted = True
                    proc.send_signal(signal.SIGTERM)
            returncode = proc.wait()
        finally:
            if watchdog is not None:
                watchdog.cancel()
            if proc.poll() is None:  # we are being interrupted: let the worker stop cleanly
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    _kill(proc)
            reader.join(timeout=5)
    if not got_result or returncode != 0:
        result.status = "failed"
        if not result.error:
            result.error = (
                f"the capture worker exited with code {returncode} without a result "
                "(JVM crash or kill?)"
            )
    return list(tail)


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        log.error("CDC worker %s did not stop in time; killing it", proc.pid)
        proc.kill()
