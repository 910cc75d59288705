"""Time zones built incrementally follow record edits and the country zones, and equal a full rebuild.

int_persons_timezones_resolved recomputes the persons int_persons_changed
marks, those whose traits may have moved and those whose customer records
the change log has (an edited zone or country); the country zones are
counted over everyone, and a person whose imputed zone moves with their
country's is rewritten although nothing of theirs changed. Shown on a small
captured shop:

1. one customer's zone removed: they are imputed from their country;
2. every other customer of that country moves to another zone: the
   country's zone moves, and so does the imputed person's, who changed
   nothing this time.

Each incremental build must equal a full refresh, and the second must
rewrite only the edited persons and the imputed one.
"""

from __future__ import annotations

import pytest
from person_builds import assert_equals_full_refresh, build, latest_change, rows

from tailor.cdc.capture import run_capture
from tailor.config import Settings
from tailor.db.connect import connect
from tailor.source.generate import seed

pytestmark = pytest.mark.integration

COMPARED = (
    "intermediate.int_persons_timezones_resolved",
    "intermediate.int_persons_send_hours_chosen",
    "marts.customer_profiles",
)
MOVED_TO = "America/Sao_Paulo"


def zones(settings: Settings) -> dict[str, tuple[str, str, str]]:
    """person_id -> (local_timezone, local_timezone_source, physical location)."""
    with connect("warehouse", settings) as conn:
        return {person: (zone, source, where) for person, zone, source, where in conn.execute(
            "select person_id, local_timezone, local_timezone_source, ctid::text "
            "from intermediate.int_persons_timezones_resolved"
        ).fetchall()}


def test_timezones_follow_edits_and_country_zones(fresh_db: Settings) -> None:
    settings = fresh_db
    seed(settings, customers=300, seed=5)
    run_capture(settings, max_seconds=120)
    build(settings, latest_change(settings))

    with connect("warehouse", settings) as conn:
        # a person known only by their record's zone, in a country with others
        person, customer_id, country = conn.execute(
            """
            select zones.person_id, zones.customer_id, zones.country
            from intermediate.int_persons_timezones_resolved as zones
            where zones.local_timezone_source = 'customer_record'
                and zones.context_timezone is null
                and zones.country in (
                    select country from intermediate.int_persons_timezones_resolved
                    group by country having count(*) >= 3
                )
            order by zones.person_id
            limit 1
            """
        ).fetchone()

    with connect("shop", settings) as shop:
        shop.execute("update customers set timezone = null, updated_at = now() where customer_id = %s",
                      (customer_id,))
    run_capture(settings, max_seconds=120)
    as_of = latest_change(settings)
    build(settings, as_of)
    assert zones(settings)[person][1] == "country", "a person without a zone of their own is imputed from the country"
    assert_equals_full_refresh(settings, as_of, rows(settings, COMPARED))

    before = zones(settings)
    with connect("shop", settings) as shop:
        edited = shop.execute(
            "update customers set timezone = %s, updated_at = now() "
            "where country = %s and timezone is not null returning customer_id",
            (MOVED_TO, country),
        ).fetchall()
    assert edited
    run_capture(settings, max_seconds=120)
    as_of = latest_change(settings)
    build(settings, as_of)
    incremental = rows(settings, COMPARED)
    after = zones(settings)
    assert after[person][:2] == (MOVED_TO, "country"), "the imputed zone did not follow the country's"

    with connect("warehouse", settings) as conn:
        edited_persons = {person_id for (person_id,) in conn.execute(
            "select person_id from intermediate.int_customers_resolved where customer_id = any(%s)",
            ([customer for (customer,) in edited],),
        ).fetchall()}
    rewritten = {p for p, value in after.items() if before.get(p) != value}
    assert person in rewritten
    assert rewritten <= edited_persons | {person}, "persons the edits do not concern were rewritten"

    assert_equals_full_refresh(settings, as_of, incremental)
