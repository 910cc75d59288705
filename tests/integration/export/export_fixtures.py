"""Helpers for export tests: the two input relations, built here with the agreed shapes.

The dbt colleague builds ``marts.sync_email__audience`` and
``marts.contactability`` for real; these tests create the same shapes
themselves so the export is tested against its contract, not against
whatever state the marts happen to be in. ``contactability`` is a real view
over a small state table, so a test can withdraw consent "after the audience
was built" by updating that table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tailor.config import Settings
from tailor.db.connect import connect

# person_id, email, first_name, last_name, city, segment, priority, favourite_category, recency_days, frequency
PEOPLE: list[tuple[Any, ...]] = [
    ("p1", "anna@example.com", "ANNA", "schmidt", "Berlin", "champions", 1, "shoes", 5, 12),
    ("p2", "noname@example.com", None, None, None, "at_risk", 2, None, 200, 3),
    ("p3", "blank@example.com", "   ", "", " ", "cart_abandoners", 3, "bags", 2, 1),
    ("p4", "bob@example.com", "bob", "o'brien", "Cork", "new_customers", 4, None, 1, 1),
    ("p5", "carla@example.com", "Carla", "Diaz", "Madrid", "champions", 1, "hats", 9, 8),
    ("p6", "dave@example.com", "dave", None, None, "at_risk", 2, None, 120, 2),
]

SETUP_SQL = """
create table marts.sync_email__audience (
    person_id text primary key, email text not null, first_name text, last_name text, city text,
    country text, timezone text, segment text not null, segment_priority int not null,
    favourite_category text, recency_days int, frequency int not null, monetary numeric not null,
    last_order_at timestamptz, computed_at timestamptz not null
);
create table public.test_contact_state (
    person_id text primary key, email text not null, can_email boolean not null, reason text not null
);
create view marts.contactability as
    select person_id, email, can_email, reason from public.test_contact_state;
"""


def build_input_relations(settings: Settings, people: list[tuple[Any, ...]] = PEOPLE) -> None:
    """Create the audience table and contactability view; everyone contactable at first."""
    with connect("warehouse", settings) as conn:
        conn.execute(SETUP_SQL)
        with conn.cursor() as cur:
            cur.executemany(
                "insert into marts.sync_email__audience values "
                "(%s, %s, %s, %s, %s, 'DE', 'Europe/Berlin', %s, %s, %s, %s, %s, 99.5, "
                "'2024-05-01T10:00:00Z', '2024-05-06T06:00:00Z')",
                people,
            )
            cur.executemany(
                "insert into public.test_contact_state values (%s, %s, true, 'opted_in')",
                [(p[0], p[1]) for p in people],
            )
    pass_gate(settings)


def pass_gate(settings: Settings) -> None:
    """Record a passed quality-gate run for the audience as it is now (what `tailor gate` does)."""
    from datetime import UTC, datetime

    from tailor.quality.record import audience_fingerprint, record_gate_run

    with connect("warehouse", settings) as conn:
        record_gate_run(
            conn, logical_date=datetime.now(UTC), passed=True,
            fingerprint=audience_fingerprint(conn), failed_checks=[], data_docs=None,
        )


def set_contactability(settings: Settings, person_id: str, can_email: bool, reason: str) -> None:
    """Change someone's consent state after the audience was built."""
    with connect("warehouse", settings) as conn:
        conn.execute(
            "update public.test_contact_state set can_email = %s, reason = %s where person_id = %s",
            (can_email, reason, person_id),
        )


def eml_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml")) if folder.exists() else []
