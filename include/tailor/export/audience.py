"""Read the email audience the dbt colleague builds (``marts.sync_email__audience``).

The mart is one row per person, already filtered to valid, consenting
addresses when it was built; consent is checked again at send time
(:mod:`tailor.export.consent`) because it can be withdrawn in between.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
from psycopg.rows import dict_row

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.quality.record import require_passed_gate

AUDIENCE_RELATION = "marts.sync_email__audience"
AUDIENCE_COLUMNS = (
    "person_id", "email", "first_name", "last_name", "city", "country", "timezone",
    "segment", "segment_priority", "favourite_category", "recency_days", "frequency",
    "monetary", "last_order_at", "computed_at",
)  # fmt: skip

_SELECT = f"select {', '.join(AUDIENCE_COLUMNS)} from {AUDIENCE_RELATION}"


class AudienceMissingError(RuntimeError):
    """The audience mart does not exist yet."""


def _require_relation(conn: psycopg.Connection, relation: str) -> None:
    (found,) = conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()  # type: ignore[misc]
    if not found:
        raise AudienceMissingError(
            f"{relation} does not exist in the warehouse. Build the marts first "
            "('tailor run tailor_transform', or 'dbt build' in dbt_project/), then export again."
        )


def build_audience(
    settings: Settings, logical_date: date, *, require_gate: bool = True
) -> list[dict[str, Any]]:
    """All audience rows, ordered by segment priority then person, for one logical date.

    The mart holds the snapshot the quality gate passed for this run, so the
    date does not filter rows: it names the send (idempotency key, folders).
    The fixed order makes CSV files and send order reproducible.

    With ``require_gate`` (every real export), the rows are read in the same
    snapshot in which they are checked against the latest passed gate run:
    an audience the gate did not pass raises :class:`GateNotPassedError`.
    Dry runs and previews send nothing and may skip it.
    """
    del logical_date  # the snapshot is the run's; kept in the signature for the contract
    with connect("warehouse", settings) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        _require_relation(conn, AUDIENCE_RELATION)
        if require_gate:
            require_passed_gate(conn)
        cur = conn.cursor(row_factory=dict_row)
        return list(cur.execute(f"{_SELECT} order by segment_priority, segment, person_id"))


def find_person(settings: Settings, person_id: str) -> dict[str, Any] | None:
    """One person's audience row (for previews), or None when they are not in the audience."""
    with connect("warehouse", settings) as conn:
        _require_relation(conn, AUDIENCE_RELATION)
        cur = conn.cursor(row_factory=dict_row)
        return cur.execute(f"{_SELECT} where person_id = %s", (person_id,)).fetchone()
