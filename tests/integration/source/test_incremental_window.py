"""An incremental seed stays out of the future of a run "as of now"."""

from datetime import UTC, datetime, timedelta

import pytest

from tailor.db.connect import connect
from tailor.source.generate import seed

pytestmark = pytest.mark.integration

FRESH_UNTIL = datetime(2026, 3, 1, tzinfo=UTC)


def _latest(settings) -> datetime:
    with connect("shop", settings) as conn:
        return conn.execute(
            "select greatest((select max(ordered_at) from orders), (select max(occurred_at) from web_events),"
            " (select max(recorded_at) from consents), (select max(created_at) from customers))"
        ).fetchone()[0]


def test_slice_is_capped_at_until_and_sized_by_its_span(fresh_db):
    seed(fresh_db, customers=300, days=30, seed=3, until=FRESH_UNTIL)
    capped = seed(fresh_db, days=1, seed=4, until=FRESH_UNTIL + timedelta(hours=6))
    assert capped.mode == "incremental"
    assert capped.window_end <= FRESH_UNTIL + timedelta(hours=6)
    assert _latest(fresh_db) <= FRESH_UNTIL + timedelta(hours=6)

    # the shop's clock is no longer behind a far `until`: a full day is added
    full = seed(fresh_db, days=1, seed=5, until=FRESH_UNTIL + timedelta(days=30))
    assert full.window_end - full.window_start >= timedelta(hours=23, minutes=59)
    assert sum(full.inserted.values()) > sum(capped.inserted.values())
