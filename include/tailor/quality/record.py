"""The gate's verdict, kept where exports can check it.

Each run is recorded in ``audit.gate_runs`` with a fingerprint of the exact
audience it validated (person, address, segment). An export recomputes the
fingerprint and proceeds only when it matches the latest passed run, so an
audience rebuilt after the gate — or never gated — cannot be sent, whether
the export starts from Airflow or from the command line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import psycopg

AUDIENCE = "marts.sync_email__audience"


class GateNotPassedError(RuntimeError):
    """The audience about to be exported has not passed the quality gate."""


@dataclass(frozen=True)
class Fingerprint:
    rows: int
    digest: str


@dataclass(frozen=True)
class GateRun:
    gate_run_id: int
    logical_date: datetime
    finished_at: datetime
    passed: bool
    audience_rows: int
    audience_fingerprint: str
    failed_checks: list[str]


def audience_fingerprint(conn: psycopg.Connection) -> Fingerprint:
    """Order-independent digest of who would be emailed, at which address, with which segment."""
    if conn.execute("select to_regclass(%s)", (AUDIENCE,)).fetchone()[0] is None:
        return Fingerprint(0, "missing")
    rows, digest = conn.execute(
        f"""
        select count(*), md5(coalesce(string_agg(
            person_id || '|' || coalesce(email, '') || '|' || coalesce(segment, ''), ','
            order by person_id), ''))
        from {AUDIENCE}
        """
    ).fetchone()
    return Fingerprint(rows, digest)


def record_gate_run(
    conn: psycopg.Connection,
    *,
    logical_date: datetime,
    passed: bool,
    fingerprint: Fingerprint,
    failed_checks: list[str],
    data_docs: str | None,
) -> int:
    return conn.execute(
        """
        insert into audit.gate_runs
            (logical_date, passed, audience_rows, audience_fingerprint, failed_checks, data_docs)
        values (%s, %s, %s, %s, %s, %s)
        returning gate_run_id
        """,
        (logical_date, passed, fingerprint.rows, fingerprint.digest, json.dumps(failed_checks), data_docs),
    ).fetchone()[0]


def latest_gate_run(conn: psycopg.Connection) -> GateRun | None:
    row = conn.execute(
        """
        select gate_run_id, logical_date, finished_at, passed, audience_rows,
               audience_fingerprint, failed_checks
        from audit.gate_runs order by finished_at desc, gate_run_id desc limit 1
        """
    ).fetchone()
    return GateRun(*row) if row else None


def require_passed_gate(conn: psycopg.Connection) -> GateRun:
    """The latest gate run, if it passed on exactly the current audience; else a clear error."""
    latest = latest_gate_run(conn)
    if latest is None:
        raise GateNotPassedError(
            "The audience has never been through the quality gate, so nothing is exported. "
            "Run 'tailor gate' (or 'tailor run') first."
        )
    if not latest.passed:
        raise GateNotPassedError(
            f"The latest quality gate run (#{latest.gate_run_id}, {latest.finished_at:%Y-%m-%d %H:%M} UTC) "
            f"failed: {'; '.join(latest.failed_checks) or 'see its Data Docs'}. Nothing is exported "
            "until the data is fixed and the gate passes ('tailor gate')."
        )
    current = audience_fingerprint(conn)
    if current.digest != latest.audience_fingerprint:
        raise GateNotPassedError(
            f"The audience changed since the last passed gate run (#{latest.gate_run_id}: "
            f"{latest.audience_rows:,} rows; now {current.rows:,}). Run 'tailor gate' on the "
            "current marts before exporting."
        )
    return latest
