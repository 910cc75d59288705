"""The export audit trail: runs and per-recipient results in ``audit.*``.

This is what makes a send idempotent: before sending, the runner asks which
people and addresses already have a 'sent' row for the campaign key and skips them;
results are upserted, and an upsert never turns a 'sent' row back into
anything else.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import psycopg


def start_run(
    conn: psycopg.Connection,
    destination: str,
    campaign: str,
    logical_date: date,
    dry_run: bool = False,
) -> int:
    """Insert a 'running' export run and commit it (visible even if the run dies)."""
    (run_id,) = conn.execute(  # type: ignore[misc]
        "insert into audit.export_runs (destination, campaign, logical_date, dry_run) "
        "values (%s, %s, %s, %s) returning export_run_id",
        (destination, campaign, logical_date, dry_run),
    ).fetchone()
    conn.commit()
    return int(run_id)


def finish_run(
    conn: psycopg.Connection,
    export_run_id: int,
    *,
    status: str,
    rows_total: int,
    rows_sent: int,
    rows_skipped: int,
    rows_failed: int,
    details: dict[str, Any],
) -> None:
    """Close a run with its counts; ``details`` carries skip reasons, paths, errors."""
    conn.execute(
        "update audit.export_runs set finished_at = clock_timestamp(), status = %s, rows_total = %s, "
        "rows_sent = %s, rows_skipped = %s, rows_failed = %s, details = %s::jsonb where export_run_id = %s",
        (
            status,
            rows_total,
            rows_sent,
            rows_skipped,
            rows_failed,
            json.dumps(details, default=str),
            export_run_id,
        ),
    )
    conn.commit()


def already_sent(conn: psycopg.Connection, campaign_key: str) -> tuple[set[str], set[str]]:
    """The people, and the addresses (lower-cased, trimmed), that already got this campaign key.

    Person ids are not enough: between two runs of a day an address can
    move to another person (an email edit, two records merging under a
    person id that was not mailed yet), and one inbox would get the same
    campaign twice.
    """
    people: set[str] = set()
    addresses: set[str] = set()
    for person_id, address in conn.execute(
        "select person_id, lower(trim(email)) from audit.export_results "
        "where campaign_key = %s and status = 'sent'",
        (campaign_key,),
    ):
        people.add(person_id)
        addresses.add(address)
    return people, addresses


def record_result(
    conn: psycopg.Connection,
    *,
    campaign_key: str,
    person_id: str,
    email: str,
    segment: str | None,
    status: str,
    detail: str | None,
    message_id: str | None,
    sent_at: datetime | None,
    export_run_id: int,
) -> None:
    """Upsert one recipient's outcome; a 'sent' row is never overwritten."""
    conn.execute(
        """
        insert into audit.export_results
            (campaign_key, person_id, email, segment, status, detail, message_id, sent_at, export_run_id)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (campaign_key, person_id) do update set
            email = excluded.email, segment = excluded.segment, status = excluded.status,
            detail = excluded.detail, message_id = excluded.message_id, sent_at = excluded.sent_at,
            export_run_id = excluded.export_run_id, updated_at = clock_timestamp()
        where audit.export_results.status <> 'sent'
        """,
        (
            campaign_key,
            person_id,
            email,
            segment,
            status,
            detail,
            message_id,
            sent_at,
            export_run_id,
        ),
    )
