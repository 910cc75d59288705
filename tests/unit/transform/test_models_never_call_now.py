"""No dbt model or macro reads the wall clock.

Every model computes as of ``{{ as_of() }}`` (Airflow's logical date): a
re-run of a past DAG run must give the same marts, and a backfill must see
the past, not today. ``now()`` and friends would silently break both, so
this scans the SQL of every model and macro, comments left out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DBT_PROJECT = Path(__file__).resolve().parents[3] / "dbt_project"

# PostgreSQL's clock readers: functions and the SQL-standard keywords
# (which take no parentheses: `current_date`, `localtimestamp(3)`).
WALL_CLOCK = re.compile(
    r"\b(?:now|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday)\s*\("
    r"|\b(?:current_date|current_time|current_timestamp|localtime|localtimestamp)\b",
    re.IGNORECASE,
)
# SQL line and block comments, Jinja comments. String literals are kept
# (a quoted 'now' is still the clock: '...'::timestamptz reads it too).
COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/|\{#.*?#\}", re.DOTALL)
NOW_LITERAL = re.compile(r"'\s*(?:now|today|yesterday|tomorrow)\s*'", re.IGNORECASE)


def clock_reads(sql: str) -> list[str]:
    """The wall-clock reads in ``sql``, comments ignored."""
    code = COMMENTS.sub(" ", sql)
    return [m.group(0).strip() for m in WALL_CLOCK.finditer(code)] + [
        m.group(0) for m in NOW_LITERAL.finditer(code)
    ]


def sql_files() -> list[Path]:
    return sorted(p for folder in ("models", "macros") for p in (DBT_PROJECT / folder).rglob("*.sql"))


def test_the_project_has_sql_to_scan():
    files = sql_files()
    assert any(p.name == "customer_profiles.sql" for p in files)
    assert any(p.name == "as_of.sql" for p in files)


@pytest.mark.parametrize("path", sql_files(), ids=lambda p: str(p.relative_to(DBT_PROJECT)))
def test_no_model_or_macro_reads_the_wall_clock(path: Path):
    found = clock_reads(path.read_text())
    assert not found, (
        f"{path.relative_to(DBT_PROJECT)} reads the wall clock ({', '.join(found)}): "
        "use {{ as_of() }} so a re-run or backfill computes as of the run's logical date"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "select now() as t",
        "select NOW ( ) as t",
        "where occurred_at <= current_date",
        "select current_timestamp",
        "select localtimestamp(3)",
        "select clock_timestamp()",
        "select 'now'::timestamptz",
        "select x -- fine\nfrom t where d > current_time",
    ],
)
def test_detector_finds_clock_reads(sql: str):
    assert clock_reads(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "-- never now(), always as_of()\nselect 1",
        "/* current_date would be wrong here */ select 1",
        "{# now() #} select 1",
        "select known_now, current_dates, now_playing from t",
        "select {{ as_of() }} as computed_at",
    ],
)
def test_detector_ignores_comments_and_lookalikes(sql: str):
    assert clock_reads(sql) == []
