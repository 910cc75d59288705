"""The kept profile (int_persons_profiled) follows inputs that move without the person changing.

int_persons_profiled recomputes the persons int_persons_changed marks and
those with an event crossing a window edge as as_of moves; values computed
over everyone, or from data int_persons_changed does not follow, it
compares with what it stored (`compared`, macros/person_increments.sql).
Shown on a small captured shop with as_of left where it was, so neither
marks nor windows bring anyone:

* weather observed at the most common city (the weather loader's table,
  no shop change at all);
* an email-marketing consent withdrawn (the consents table, which
  int_persons_changed does not follow), dated before as_of;
* a customer record edited and nothing else (a new last name): the change
  log's customer row marks its person in int_persons_changed.

All their profiles must change, and the incremental build must equal a
full refresh; everyone else's row must stay where it was (not rewritten).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from person_builds import assert_equals_full_refresh, build, latest_change, rows

from tailor.cdc.capture import run_capture
from tailor.config import Settings
from tailor.db.connect import connect
from tailor.source.generate import seed

pytestmark = pytest.mark.integration

COMPARED = ("intermediate.int_persons_profiled", "marts.customer_profiles")


def profiles(settings: Settings) -> dict[str, tuple]:
    with connect("warehouse", settings) as conn:
        return {row[0]: row[1:] for row in conn.execute(
            "select person_id, ctid::text, weather_status, email_marketing_consent, last_name "
            "from intermediate.int_persons_profiled"
        )}


def test_profile_follows_weather_consent_and_record_edits_alone(fresh_db: Settings) -> None:
    settings = fresh_db
    seed(settings, customers=300, seed=11)
    run_capture(settings, max_seconds=120)
    as_of = latest_change(settings)
    build(settings, as_of)
    before = profiles(settings)

    with connect("warehouse", settings) as conn:
        country, city = conn.execute(
            "select country, city from marts.customer_profiles where city is not null and country is not null "
            "and weather_status <> 'observed' group by 1, 2 order by count(*) desc, 1, 2 limit 1"
        ).fetchone()
        weathered = {person for (person,) in conn.execute(
            "select person_id from marts.customer_profiles where country = %s and city = %s", (country, city))}
        conn.execute(
            "insert into enrich.weather_observations "
            "(country, city, observed_on, temperature_c, precipitation_mm, condition, provider) "
            "values (%s, %s, (%s at time zone 'UTC')::date, 21.5, 0, 'clear', 'test')",
            (country, city, as_of),
        )
        withdrawn_person, withdrawn_customer = conn.execute(
            "select person_id, primary_customer_id from marts.customer_profiles "
            "where email_marketing_consent and not (person_id = any(%s)) order by person_id limit 1",
            (list(weathered),),
        ).fetchone()
        renamed_person, renamed_customer = conn.execute(
            "select person_id, primary_customer_id from marts.customer_profiles "
            "where not (person_id = any(%s)) and person_id <> %s order by person_id limit 1",
            (list(weathered), withdrawn_person),
        ).fetchone()
    with connect("shop", settings) as shop:
        shop.execute(
            "insert into consents (customer_id, purpose, status, source, recorded_at) "
            "values (%s, 'email_marketing', 'withdrawn', 'unsubscribe_link', %s)",
            (withdrawn_customer, as_of - timedelta(minutes=1)),
        )
        shop.execute(
            "update customers set last_name = 'Renamed', updated_at = %s where customer_id = %s",
            (as_of - timedelta(minutes=1), renamed_customer),
        )
    run_capture(settings, max_seconds=120)

    build(settings, as_of)
    after = profiles(settings)
    assert {after[person][1] for person in weathered} == {"observed"}
    assert after[withdrawn_person][2] is False
    assert after[renamed_person][3] == "Renamed"
    moved = weathered | {withdrawn_person, renamed_person}
    rewritten = {person for person, row in after.items() if before.get(person, (None,))[0] != row[0]}
    assert rewritten == moved, f"rewrote {len(rewritten)} persons, expected the {len(moved)} whose inputs moved"
    assert_equals_full_refresh(settings, as_of, rows(settings, COMPARED))
