"""customer_profiles' features on hand-built people, as of 2024-06-30 00:00 UTC.

| person | what they did                                                   | shows                          |
|--------|-----------------------------------------------------------------|--------------------------------|
| Sam    | US/New York; opens at 19:30, 19:10, 10:00 EDT; web at 08:xx EDT  | send hour from email: 19       |
|        | interests running, camping (cooking told after as_of); bought a book; old cart | interests, affinity |
| Wes    | Berlin; one open (too little); sessions at 20:10, 20:40, 09:00 CEST | send hour from web: 20      |
|        | two on mobile, the last on desktop; views Shoes, cart adds Garden, cart left open | device, affinity, open cart |
| Dee    | no time zone, country DE, no activity                            | zone imputed from country, default hour |
| Zed    | time zone 'Mars/Olympus' (no such zone), country ZZ (nobody else) | zone falls to the default     |
| Gale   | two records, same email: the primary (updated last) knows nothing, the other knows gender, income, birth date | precedence |
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from fixtures.profile_history import PROFILE_MODELS, ShopHistory, customer
from fixtures.warehouse_build import AS_OF, load_raw_fixture, reset_warehouse

from tailor.config import Settings

pytestmark = pytest.mark.integration

CATEGORY_HALF_LIFE = 90


def decay(when: str, half_life: float) -> float:
    age_days = (datetime.fromisoformat(AS_OF) - datetime.fromisoformat(when.replace("Z", "+00:00"))).total_seconds() / 86400
    return 0.5 ** (age_days / half_life)


def write_history(log: ShopHistory) -> None:
    log.upsert_customer(customer(811, "sam@pf.example", "Sam", "Sender", country="US", timezone="America/New_York"))
    log.upsert_customer(customer(812, "wes@pf.example", "Wes", "Web"))
    log.upsert_customer(customer(813, "dee@pf.example", "Dee", "Default", timezone=None))
    log.upsert_customer(customer(814, "zed@pf.example", "Zed", "Zone", timezone="Mars/Olympus", country="ZZ"))
    log.upsert_customer(customer(816, "gale@pf.example", "Gale", "Older", gender="female", income_band="high",
                                 birth_date="1990-01-01", updated_at="2024-06-01T00:00:00Z"))
    log.upsert_customer(customer(815, "gale@pf.example", "Gale", "Newer", updated_at="2024-06-20T00:00:00Z"))

    # Sam: email at 19:xx New York time twice, once at 10:00; web mornings
    for event_id, campaign, event_type, when in [
        (8301, "s1", "sent", "2024-06-10T22:00Z"), (8302, "s1", "open", "2024-06-10T23:30Z"),
        (8303, "s2", "sent", "2024-06-17T22:00Z"), (8304, "s2", "open", "2024-06-17T23:10Z"),
        (8305, "s3", "sent", "2024-06-20T13:00Z"), (8306, "s3", "open", "2024-06-20T14:00Z"),
    ]:
        log.email(event_id, 811, campaign, event_type, when)
    log.web(8401, 811, "sam-1", "page_view", "2024-06-21T12:00Z", timezone="America/New_York")
    log.web(8402, 811, "sam-2", "page_view", "2024-06-22T12:30Z", timezone="America/New_York")
    log.interest(811, "running", "signup_form", "2024-06-01T00:00:00Z")
    log.interest(811, "camping", "survey", "2024-06-20T00:00:00Z")
    log.interest(811, "cooking", "preference_center", "2024-07-05T00:00:00Z")  # after as_of
    log.order(8501, 811, "2024-06-12T12:00Z", [(11, 1, "15.00")])  # Books
    log.cart(8601, 811, "open", "2024-06-01T10:00Z", [(10, 1)])  # open, but older than 14 days

    # Wes: one open only; evenings online on his phone, once on the desktop
    log.email(8311, 812, "w1", "sent", "2024-06-20T04:00Z")
    log.email(8312, 812, "w1", "open", "2024-06-20T04:30Z")
    log.typed_device("dev-wes-phone", "mobile")
    log.typed_device("dev-wes-desk", "desktop")
    log.web(8411, 812, "wes-1", "page_view", "2024-06-20T18:10Z", device_id="dev-wes-phone", timezone="Europe/Berlin")
    log.web(8412, 812, "wes-1", "product_view", "2024-06-20T18:12Z", product_id=10, device_id="dev-wes-phone",
            timezone="Europe/Berlin")
    log.web(8413, 812, "wes-2", "product_view", "2024-06-22T18:40Z", product_id=10, device_id="dev-wes-phone",
            timezone="Europe/Berlin")
    log.web(8414, 812, "wes-3", "add_to_cart", "2024-06-25T07:00Z", product_id=12, device_id="dev-wes-desk",
            timezone="Europe/Berlin")
    log.cart(8602, 812, "open", "2024-06-25T07:00Z", [(12, 1)])


@pytest.fixture(scope="module")
def built(pg: Settings) -> Iterator[ShopHistory]:
    reset_warehouse(pg)
    load_raw_fixture(pg)
    log = ShopHistory(pg)
    write_history(log)
    log.build(vars={"as_of": AS_OF}, select=PROFILE_MODELS)
    yield log


def profile(log: ShopHistory, email: str, columns: str) -> tuple:
    rows = log.query(f"select {columns} from marts.customer_profiles where email = %s", email)
    assert len(rows) == 1, f"expected one profile for {email}, got {len(rows)}"
    return rows[0]


def test_send_hour_from_email_engagement_in_local_time(built):
    # 23:30Z and 23:10Z are 19:xx in New York (EDT): email beats Sam's 08:xx web visits
    assert profile(built, "sam@pf.example", "best_send_hour, best_send_hour_source, is_best_send_hour_imputed") == (
        19, "email_engagement", False)
    assert built.query("""
        select best_send_hour_evidence, local_timezone from intermediate.int_persons_send_hours_chosen
        where person_id = %s""", built.person(811)) == [(3, "America/New_York")]


def test_send_hour_falls_back_to_web_activity_then_default(built):
    # one open is below send_hour_min_events; sessions at 20:10 and 20:40 CEST beat 09:00
    assert profile(built, "wes@pf.example", "best_send_hour, best_send_hour_source") == (20, "web_activity")
    assert profile(built, "dee@pf.example", "best_send_hour, best_send_hour_source, is_best_send_hour_imputed") == (
        10, "default", True)


def test_time_zone_is_imputed_beside_the_fact(built):
    # Dee: no zone anywhere; DE people live in Europe/Berlin. The fact column stays null.
    assert profile(built, "dee@pf.example",
                   "timezone, local_timezone, local_timezone_source, is_local_timezone_imputed") == (
        None, "Europe/Berlin", "country", True)
    # Zed: a zone PostgreSQL does not know is kept as said, but never computed with
    assert profile(built, "zed@pf.example", "timezone, local_timezone, local_timezone_source") == (
        "Mars/Olympus", "UTC", "default")
    assert profile(built, "sam@pf.example", "timezone, local_timezone, local_timezone_source, is_local_timezone_imputed") == (
        "America/New_York", "America/New_York", "customer_record", False)


def test_interests_told_up_to_as_of(built):
    assert profile(built, "sam@pf.example", "interests") == (["camping", "running"],)
    assert profile(built, "dee@pf.example", "interests") == ([],)


def test_category_affinity_weighs_cart_adds_over_views_with_decay(built):
    shoes = decay("2024-06-20T18:12Z", CATEGORY_HALF_LIFE) + decay("2024-06-22T18:40Z", CATEGORY_HALF_LIFE)
    garden = 3 * decay("2024-06-25T07:00Z", CATEGORY_HALF_LIFE)
    top, affinities = profile(built, "wes@pf.example", "top_categories, category_affinities")
    assert top == ["Garden", "Shoes"]
    assert affinities == {"Garden": pytest.approx(garden / (shoes + garden), abs=1e-4),
                          "Shoes": pytest.approx(shoes / (shoes + garden), abs=1e-4)}
    rows = built.query("""
        select category_name, product_views, add_to_carts, purchases, affinity_rank
        from intermediate.int_person_categories_scored where person_id = %s order by affinity_rank""",
        built.person(812))
    assert rows == [("Garden", 0, 1, 0, 1), ("Shoes", 2, 0, 0, 2)]
    # a purchase counts too
    assert profile(built, "sam@pf.example", "top_categories, category_affinities") == (["Books"], {"Books": 1.0})


def test_open_cart_and_preferred_device(built):
    assert profile(built, "wes@pf.example", "has_open_cart, open_cart_value, preferred_device_type, last_device_type") == (
        True, 25, "mobile", "desktop")
    # Sam's open cart is older than cart_abandonment_days
    assert profile(built, "sam@pf.example", "has_open_cart, open_cart_value") == (False, None)


def test_demographics_follow_the_documented_precedence(built):
    # the primary record (updated last) knows nothing; the older record fills in
    assert profile(built, "gale@pf.example", "primary_customer_id, last_name, gender, income_band, age_band") == (
        815, "Newer", "female", "high", "25_34")
    assert profile(built, "sam@pf.example", "gender, income_band, age_band") == (None, None, "unknown")
