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

from tailor.cdc.runs import CaptureResult, close_abandoned, finish_run, start_run
from tailor.cdc.slot import current_lsn
from tailor.config import Settings, get_settings
from tailor.db.connect import connect, database_url

log = logging.getLogger("tailor.cdc")

ProgressCallback = Callable[[dict[str, Any]], None]

# Advisory lock key for "a capture is running" (any constant; 'tailorcd' in hex).
CAPTURE_LOCK_KEY = 0x7461696C6F726364
# Time the worker needs beyond --max-seconds: JVM start and a clean engine stop.
SHUTDOWN_GRACE_S = 90.0

__all__ = ["CaptureBusyError", "CaptureError", "CaptureResult", "run_capture"]


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
) -> CaptureResult:
    """Capture changes until caught up with the source (or ``max_seconds``).

    ``until_caught_up=False`` with ``max_seconds=None`` runs until interrupted
    (``--continuous``). Raises :class:`CaptureError` if the run failed (after
    recording it in ``raw.cdc_runs``) and :class:`CaptureBusyError` if another
    capture is running.
    """
    settings = settings or get_settings()
    started = time.monotonic()
    started_at = datetime.now(UTC)
    with _capture_lock(settings):
        with connect("shop", settings) as shop:
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
        try:
            stderr_tail = _run_worker(command, settings, max_seconds, result, progress)
        finally:
            result.duration_s = round(time.monotonic() - started, 3)
            if result.status != "succeeded" and not result.error:
                result.error = "capture interrupted"
            with connect("warehouse", settings) as warehouse:
                finish_run(warehouse, result)
    if result.status != "succeeded":
        detail = "\n".join(stderr_tail[-15:])
        raise CaptureError(
            f"CDC capture run {run_id} failed: {result.error}"
            + (f"\nlast worker output:\n{detail}" if detail else ""),
            result,
        )
    return result


def _run_worker(
    command: list[str],
    settings: Settings,
    max_seconds: float | None,
    result: CaptureResult,
    progress: ProgressCallback | None,
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
