"""Capture runs: their result and their row in ``raw.cdc_runs``.

The parent process (:mod:`tailor.cdc.capture`) owns the row, not the JVM
worker: if the worker dies, the parent still marks the run failed with the
reason, so ``tailor cdc status`` never shows a run as "running" forever (a
run whose parent was killed too is closed as ``abandoned`` by the next run).

Lag and freshness, as the gate should read them
-----------------------------------------------
Every run leaves one row, written when it ends (``finish_run``):

``target_lsn``
    ``pg_current_wal_lsn()`` of the shop when the run started: a bounded run
    is "caught up" once everything committed before it has landed.
``first_lsn`` / ``last_lsn``
    the lowest and highest source positions the run landed (rows, heartbeats
    and signals): ``last_lsn >= target_lsn`` for a run that caught up.
``captured_through``
    source commit time of the newest change *or heartbeat* the run landed.
    Everything the shop committed up to then is in ``raw.cdc_events``. A quiet
    shop still moves it forward (heartbeats), so "old" means "capture is
    behind or not running", never "nobody bought anything". This is the
    freshness number: ``logical_date - captured_through``.
``lag_bytes``
    ``pg_current_wal_lsn() - confirmed_flush_lsn`` of the slot at the end of
    the run: how far behind the warehouse still is, in WAL bytes (small after
    a run that caught up; it grows between runs with shop activity).
``retained_wal_bytes``
    ``pg_current_wal_lsn() - restart_lsn``: WAL the shop keeps on disk for the
    slot. Heartbeats keep it bounded while only uncaptured tables change; if
    it grows run after run, the slot is stuck and the shop's disk is at risk.
``status`` / ``error``
    ``succeeded``, ``failed`` (with the reason) or ``abandoned``; a failed or
    killed run keeps the batches it committed (landing is per batch), so
    freshness must come from ``captured_through`` of the last *succeeded* run
    or, more exactly, from ``max(source_ts)`` in ``raw.cdc_events``.
``details``
    per-table counts, stop reason and timings (handler, read, land, CPU).

The gate's freshness checks (``raw_freshness``, :mod:`tailor.quality.definitions`)
read exactly these: the newest succeeded run's ``captured_through`` is no
older than ``TAILOR_MAX_STALENESS_HOURS`` before the run's logical date, and
the newest run's ``lag_bytes`` is below ``TAILOR_MAX_LAG_BYTES`` (the same
numbers ``tailor cdc status`` prints, see :mod:`tailor.cdc.status`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from tailor.cdc.connector import CONNECTOR_NAME


@dataclass
class CaptureResult:
    """What one capture run did, for the caller, the CLI summary and ``raw.cdc_runs``."""

    run_id: int | None = None
    status: str = "succeeded"  # 'succeeded' | 'failed'
    stop_reason: str = ""  # 'caught_up' | 'max_seconds' | 'signal' | 'engine_stopped' | 'error'
    events_landed: int = 0
    duplicates_skipped: int = 0
    tombstones_skipped: int = 0
    per_table: dict[str, int] = field(default_factory=dict)
    snapshot_events: int = 0
    first_lsn: int | None = None
    last_lsn: int | None = None
    target_lsn: int | None = None
    lag_bytes: int | None = None
    retained_wal_bytes: int | None = None
    heartbeats: int = 0
    signals: int = 0
    captured_through: float | None = None  # epoch s: source commit time of the last record
    peak_rss_mb: float | None = None
    handler_s: float | None = None  # worker time spent parsing + landing
    land_s: float | None = None  # of which in the landing transaction
    read_s: float | None = None  # of which taking the records over from Java
    cpu_s: float | None = None  # worker CPU time (JVM + Python), user + system
    data_s: float | None = None  # first to last landed batch
    duration_s: float = 0.0
    jvm_start_s: float | None = None
    jvm: str | None = None
    error: str | None = None

    @property
    def events_per_s(self) -> float:
        """Events landed per second of the whole run (JVM start included)."""
        return self.events_landed / self.duration_s if self.duration_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "events_per_s": round(self.events_per_s, 1)}


def close_abandoned(conn: psycopg.Connection) -> int:
    """Mark runs still 'running' as abandoned (their parent was killed).

    Only called while holding the capture lock, so no such run is alive.
    """
    cur = conn.execute(
        """
        update raw.cdc_runs set status = 'abandoned', finished_at = clock_timestamp(),
               error = coalesce(error, 'the capture process was killed before it finished')
        where connector = %s and status = 'running'
        """,
        (CONNECTOR_NAME,),
    )
    return cur.rowcount


def start_run(conn: psycopg.Connection, started_at: datetime, target_lsn: int | None) -> int:
    row = conn.execute(
        """
        insert into raw.cdc_runs (connector, started_at, status, target_lsn)
        values (%s, %s, 'running', %s) returning run_id
        """,
        (CONNECTOR_NAME, started_at, target_lsn),
    ).fetchone()
    assert row is not None
    return int(row[0])


def finish_run(conn: psycopg.Connection, result: CaptureResult) -> None:
    """Record the run's outcome and its lag (what the freshness checks read).

    ``lag_bytes``/``retained_wal_bytes`` come from the slot at the end of the
    run; ``captured_through`` is the source commit time of the last change or
    heartbeat landed (a quiet shop still moves it forward through heartbeats).
    """
    details = {
        "per_table": result.per_table,
        "tombstones_skipped": result.tombstones_skipped,
        "snapshot_events": result.snapshot_events,
        "stop_reason": result.stop_reason,
        "duration_s": round(result.duration_s, 3),
        "jvm_start_s": result.jvm_start_s,
        "jvm": result.jvm,
        "peak_rss_mb": result.peak_rss_mb,
        "handler_s": result.handler_s,
        "land_s": result.land_s,
        "read_s": result.read_s,
        "cpu_s": result.cpu_s,
        "data_s": result.data_s,
    }
    conn.execute(
        """
        update raw.cdc_runs
        set finished_at = clock_timestamp(), status = %s, events_landed = %s,
            duplicates_skipped = %s, first_lsn = %s, last_lsn = %s, lag_bytes = %s,
            error = %s, details = %s::jsonb, retained_wal_bytes = %s,
            captured_through = to_timestamp(%s), heartbeats = %s, signals = %s
        where run_id = %s
        """,
        (
            result.status,
            result.events_landed,
            result.duplicates_skipped,
            result.first_lsn,
            result.last_lsn,
            result.lag_bytes,
            result.error,
            json.dumps(details),
            result.retained_wal_bytes,
            result.captured_through,
            result.heartbeats,
            result.signals,
            result.run_id,
        ),
    )


def last_run(conn: psycopg.Connection) -> dict[str, Any] | None:
    """The most recent run, as a dict (``None`` before the first capture)."""
    cur = conn.execute(
        """
        select run_id, status, started_at, finished_at, events_landed, duplicates_skipped,
               first_lsn, last_lsn, target_lsn, lag_bytes, retained_wal_bytes,
               captured_through, heartbeats, signals, error, details
        from raw.cdc_runs where connector = %s order by run_id desc limit 1
        """,
        (CONNECTOR_NAME,),
    )
    row = cur.fetchone()
    if row is None:
        return None
    assert cur.description is not None
    return dict(zip([c.name for c in cur.description], row, strict=True))
