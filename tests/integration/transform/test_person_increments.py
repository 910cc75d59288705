"""Person-grain features built incrementally equal a full rebuild when only time passes.

The feature models (activity, engagement, category affinity, traits, send
hours) recompute only the persons whose inputs changed (int_persons_changed)
and those with an event crossing one of their window edges as as_of moves. Shown on a small
captured shop, with no change to the data at all:

* as_of 45 days later: events leave the 30- and 90-day windows, events landed
  with later timestamps enter "up to as_of";
* as_of back 60 days (a backfill): the same edges crossed the other way;
* as_of into the next year: a new decay epoch recomputes everyone.

Each incremental build must give the same rows as a full refresh of the same
as_of, and a run where as_of moved a second must rewrite only a few persons
(the rows of the others keep their physical location).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from person_builds import assert_equals_full_refresh, build, rows

from tailor.cdc.capture import run_capture
from tailor.config import Settings
from tailor.db.connect import connect
from tailor.source.generate import seed
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration

FEATURES = (
    "intermediate.int_persons_activity_aggregated",
    "intermediate.int_person_categories_scored",
    "intermediate.int_persons_traits_merged",
    "intermediate.int_persons_send_hours_chosen",
    "intermediate.int_persons_engagement_weighted",
    "intermediate.int_persons_profiled",
    "marts.customer_profiles",
)
# tables whose rows must stay in place when as_of moves a second
KEPT = ("intermediate.int_persons_activity_aggregated", "intermediate.int_persons_profiled")


def locations(settings: Settings, table: str) -> dict[str, str]:
    with connect("warehouse", settings) as conn:
        return dict(conn.execute(f"select person_id, ctid::text from {table}").fetchall())


def assert_rebuild_equals_full_refresh(settings: Settings, as_of: datetime) -> None:
    build(settings, as_of)
    assert_equals_full_refresh(settings, as_of, rows(settings, FEATURES))


def test_features_follow_as_of_incrementally(fresh_db: Settings) -> None:
    settings = fresh_db
    seed(settings, customers=400, seed=5)
    run_capture(settings, max_seconds=120)
    with connect("warehouse", settings) as conn:
        (latest,) = conn.execute("select max(source_ts) from raw.cdc_events").fetchone()
    as_of = latest.replace(month=6, day=15) if latest.month > 6 else latest.replace(month=8, day=15)
    build(settings, as_of)

    before = {table: locations(settings, table) for table in KEPT}
    build(settings, as_of + timedelta(seconds=1))
    for table in KEPT:
        after = locations(settings, table)
        kept = sum(1 for person, where in after.items() if before[table].get(person) == where)
        assert kept >= 0.9 * len(after), f"{table}: a one-second step rewrote {len(after) - kept} of {len(after)}"

    for moved in (as_of + timedelta(days=45), as_of - timedelta(days=15)):
        assert_rebuild_equals_full_refresh(settings, moved)
    next_year = as_of.replace(year=as_of.year + 1, month=1, day=10)
    # engagement built alone into the new year: activity still holds last
    # year's decay epoch, and engagement sums its orders to the same epoch
    # and says so (the profile scales each row from its own epoch); labelled
    # with the new one, every score would be off by a year of decay
    result = run_dbt(["run", "--select", "int_persons_engagement_weighted"],
                     vars={"as_of": next_year.isoformat()}, settings=settings)
    assert result.success, result.summary()
    with connect("warehouse", settings) as conn:
        epochs = conn.execute(
            "select count(*), count(*) filter (where engagement.decay_epoch = activity.decay_epoch), "
            "min(extract(year from engagement.decay_epoch at time zone 'UTC')) "
            "from intermediate.int_persons_engagement_weighted as engagement "
            "join intermediate.int_persons_activity_aggregated as activity using (person_id)"
        ).fetchone()
    assert epochs[0] > 0 and epochs[0] == epochs[1] and epochs[2] == as_of.year, epochs
    assert_rebuild_equals_full_refresh(settings, next_year)
