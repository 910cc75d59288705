"""Unchanged TOAST columns and truncates, through the real engine and the staging models.

One capture session (snapshot, then one streamed run) covers both, since the
JVM start dominates:

* TOAST: ``web_events.properties`` holds ~8 kB of random text (incompressible,
  so stored out of line). Updating only ``url`` makes PostgreSQL leave the
  unchanged value out of the WAL and Debezium land
  ``__debezium_unavailable_value`` instead; ``stg_shop__web_events`` must show
  the latest earlier real value. Without the carry-forward in
  ``cdc_current_state`` the marker reaches ``cdc_jsonb`` and the view fails.
* truncate: ``TRUNCATE email_events`` lands op ``t``; ``stg_shop__email_events``
  then shows only rows inserted after it (without the truncate rule, the rows
  from before it would still be there).
"""

from __future__ import annotations

import json
import secrets

import pytest

from tailor.cdc.capture import run_capture
from tailor.cdc.envelope import UNAVAILABLE_VALUE
from tailor.config import Settings
from tailor.db.connect import connect
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration

WEB_EVENT = (
    "insert into web_events (event_id, event_type, url, properties, occurred_at, received_at) "
    "values (%s, 'page_view', %s, %s, now(), now())"
)
EMAIL_EVENT = (
    "insert into email_events (event_id, customer_id, email, campaign_id, event_type, url, "
    "occurred_at) values (%s, 1, 'a@example.com', 'c', 'open', 'u', now())"
)


def big_properties() -> dict[str, str]:
    return {"blob": secrets.token_hex(4_000)}  # 8 kB of random hex: out of line, not compressed


def test_toast_placeholder_is_carried_forward_and_truncate_empties_staging(
    fresh_db: Settings,
) -> None:
    settings = fresh_db
    first_props, second_props, third_props = big_properties(), big_properties(), big_properties()
    with connect("shop", settings) as shop:
        shop.execute(WEB_EVENT, (1, "/one", json.dumps(first_props)))
        shop.execute(WEB_EVENT, (2, "/two", json.dumps({"small": True})))
        shop.execute(WEB_EVENT, (3, "/three", json.dumps(third_props)))
        for event_id in (10, 11, 12):
            shop.execute(EMAIL_EVENT, (event_id,))
    assert run_capture(settings, max_seconds=60).snapshot_events == 6

    with connect("shop", settings) as shop:
        # key 1: marker, then a real new value, then the marker again -> the new value
        shop.execute("update web_events set url = '/one-a' where event_id = 1")
        shop.execute(
            "update web_events set properties = %s where event_id = 1", (json.dumps(second_props),)
        )
        shop.execute("update web_events set url = '/one-b' where event_id = 1")
        # key 3: only the marker since the snapshot -> the snapshot's value
        shop.execute("update web_events set url = '/three-a' where event_id = 3")
        shop.execute("truncate email_events")
        shop.execute(EMAIL_EVENT, (20,))
    streamed = run_capture(settings, max_seconds=60)
    assert streamed.per_table == {"email_events": 2, "web_events": 4}

    with connect("warehouse", settings) as wh:
        marked = wh.execute(
            "select pk ->> 'event_id', after ->> 'url' from raw.cdc_events "
            "where source_table = 'web_events' and after ->> 'properties' = %s order by landing_id",
            (UNAVAILABLE_VALUE,),
        ).fetchall()
        truncates = wh.execute(
            "select count(*) from raw.cdc_events where source_table = 'email_events' and op = 't'"
        ).fetchone()[0]
    assert marked == [("1", "/one-a"), ("1", "/one-b"), ("3", "/three-a")]  # raw keeps the marker
    assert truncates == 1

    result = run_dbt(
        ["build", "-s", "stg_shop__web_events", "stg_shop__email_events",
         "--indirect-selection", "buildable"],
        settings=settings,
    )
    assert result.success, result.summary()
    with connect("warehouse", settings) as wh:
        web = wh.execute(
            "select web_event_id, url, properties from staging.stg_shop__web_events "
            "order by web_event_id"
        ).fetchall()
        emails = wh.execute(
            "select email_event_id from staging.stg_shop__email_events order by 1"
        ).fetchall()
    assert web == [
        (1, "/one-b", second_props),  # latest earlier real value, not the first one
        (2, "/two", {"small": True}),
        (3, "/three-a", third_props),
    ]
    assert emails == [(20,)]  # 10-12 were truncated away
