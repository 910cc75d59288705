"""Reading segments back out of the warehouse (for `tailor segments ...`).

Definitions come from the `marts.segments` catalogue (built from each
segment model's YAML meta), sizes from memberships and assignments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tailor.config import Settings
from tailor.db.connect import connect


class SegmentNotFound(LookupError):
    """No segment of that name in the catalogue."""


@dataclass
class SegmentSummary:
    segment: str
    description: str
    priority: int
    members: int
    assigned: int
    owner: str = ""
    model_name: str = ""


def _missing_marts(exc: Exception) -> RuntimeError:
    return RuntimeError(
        f"Segment tables are not there yet ({exc.__class__.__name__}: {exc}). "
        "Build them first: 'tailor dbt build'."
    )


def list_segments(settings: Settings | None = None) -> list[SegmentSummary]:
    import psycopg

    query = """
        select s.segment, s.description, s.priority, s.owner, s.model_name,
               (select count(*) from marts.segment_memberships m where m.segment = s.segment),
               (select count(*) from marts.segment_assignments a where a.segment = s.segment)
        from marts.segments s
        order by s.priority, s.segment
    """
    try:
        with connect("warehouse", settings) as conn:
            rows = conn.execute(query).fetchall()
    except psycopg.errors.UndefinedTable as exc:
        raise _missing_marts(exc) from exc
    return [
        SegmentSummary(segment=r[0], description=r[1], priority=r[2], owner=r[3], model_name=r[4],
                       members=r[5], assigned=r[6])
        for r in rows
    ]


def show_segment(name: str, settings: Settings | None = None, sample: int = 10) -> dict[str, Any]:
    """A segment's definition, size and a sample of members with their reasons."""
    summaries = {s.segment: s for s in list_segments(settings)}
    if name not in summaries:
        known = ", ".join(sorted(summaries)) or "none"
        raise SegmentNotFound(f"No segment '{name}'. Known segments: {known}.")
    with connect("warehouse", settings) as conn:
        members = conn.execute(
            """
            select m.person_id, p.first_name, p.country, m.weight, m.reason,
                   coalesce(a.segment = m.segment, false) as assigned
            from marts.segment_memberships m
            left join marts.customer_profiles p on p.person_id = m.person_id
            left join marts.segment_assignments a on a.person_id = m.person_id
            where m.segment = %s
            order by m.weight desc, m.person_id
            limit %s
            """,
            (name, sample),
        ).fetchall()
        avg_weight = conn.execute(
            "select avg(weight) from marts.segment_memberships where segment = %s", (name,)
        ).fetchone()[0]
    return {
        "summary": summaries[name],
        "average_weight": float(avg_weight) if avg_weight is not None else None,
        "sample": [
            {"person_id": r[0], "first_name": r[1], "country": r[2], "weight": float(r[3]),
             "reason": r[4], "assigned": r[5]}
            for r in members
        ],
    }


def segment_overlap(settings: Settings | None = None) -> list[tuple[str, str, int]]:
    """People in both segments, for every pair of segments (memberships, before priority)."""
    import psycopg

    query = """
        select a.segment, b.segment, count(*)
        from marts.segment_memberships a
        join marts.segment_memberships b
            on a.person_id = b.person_id and a.segment < b.segment
        group by a.segment, b.segment
        order by count(*) desc, a.segment, b.segment
    """
    try:
        with connect("warehouse", settings) as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(query).fetchall()]
    except psycopg.errors.UndefinedTable as exc:
        raise _missing_marts(exc) from exc
