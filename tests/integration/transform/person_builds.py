"""Shared by the person-grain increment tests: build the profile and its
inputs as of a time, read relations whole, compare with a full refresh."""

from __future__ import annotations

from datetime import datetime, timedelta

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.transform.dbt import run_dbt


def latest_change(settings: Settings) -> datetime:
    """Just after the last change landed in raw: the as_of that sees all of them."""
    with connect("warehouse", settings) as conn:
        (latest,) = conn.execute("select max(source_ts) from raw.cdc_events").fetchone()
    return latest + timedelta(seconds=1)


def build(settings: Settings, as_of: datetime, *extra: str) -> None:
    result = run_dbt(["run", "--select", "+customer_profiles", *extra],
                     vars={"as_of": as_of.isoformat()}, settings=settings)
    assert result.success, result.summary()


def rows(settings: Settings, names: tuple[str, ...]) -> dict[str, list[tuple]]:
    with connect("warehouse", settings) as conn:
        return {name: conn.execute(f"select t::text from {name} as t order by 1").fetchall() for name in names}


def assert_equals_full_refresh(settings: Settings, as_of: datetime, incremental: dict[str, list[tuple]]) -> None:
    """`incremental`: the relations as the incremental build left them (as of `as_of`)."""
    build(settings, as_of, "--full-refresh")
    full = rows(settings, tuple(incremental))
    differing = [name for name in incremental if incremental[name] != full[name]]
    assert not differing, f"incremental != full refresh as of {as_of}: {differing}"
