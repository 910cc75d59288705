"""A past logical date gives recency and engagement as of that date.

One hand-built history, built twice: as of D1 and as of D2 (30 days later).
Expected values are computed here from the event times with the documented
formulas (models/marts/customers/_customers__docs.md), with the dbt_project
defaults: 30- and 90-day windows, half-life 30 days, weights open 1, click 3,
session 2, cart add 3, order 5, scale 10.

Pia (customer 801), times UTC:

| when         | what                                                        |
|--------------|-------------------------------------------------------------|
| 04-15 08:00  | c0 sent; opened 20:00                                       |
| 06-05 08:00  | c1 sent; opened 18:00, clicked 18:05, opened again 06-06    |
| 06-10 12:00  | order 8001, 40.00 (revenue)                                 |
| 06-20 12:00  | order 8002, cancelled (never counts)                        |
| 06-25 08:00  | c2 sent, never opened                                       |
| 06-28 17:00  | session pa: page view, 17:02 product view, 17:05 cart add   |
| -- D1 = 06-30 00:00 -------------------------------------------------------|
| 07-10 08:00  | c3 sent; opened 19:00                                       |
| 07-20 12:00  | order 8003, 60.00                                           |
| 07-25 18:00  | session pb: product view                                    |
| -- D2 = 07-30 00:00 -------------------------------------------------------|

Quinn (customer 802) does everything after D1: at D1 he is a prospect with
no engagement at all. His c3 click has no recorded open: a click is an open.
Rosa (customer 803) signs up on 07-05: at D1 she is nobody yet.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime

import pytest
from fixtures.profile_history import PROFILE_MODELS, ShopHistory, customer
from fixtures.warehouse_build import load_raw_fixture, reset_warehouse

from tailor.config import Settings

pytestmark = pytest.mark.integration

D1 = "2024-06-30T00:00:00+00:00"
D2 = "2024-07-30T00:00:00+00:00"
HALF_LIFE, SCALE = 30, 10
WEIGHTS = {"open": 1, "click": 3, "session": 2, "cart": 3, "order": 5}

# the events the engagement score counts: (signal, time), per person
PIA = [
    ("open", "2024-04-15T20:00Z"), ("open", "2024-06-05T18:00Z"), ("click", "2024-06-05T18:05Z"),
    ("order", "2024-06-10T12:00Z"), ("session", "2024-06-28T17:00Z"), ("cart", "2024-06-28T17:05Z"),
    ("open", "2024-07-10T19:00Z"), ("order", "2024-07-20T12:00Z"), ("session", "2024-07-25T18:00Z"),
]
QUINN = [("open", "2024-07-11T09:00Z"), ("click", "2024-07-11T09:00Z"), ("order", "2024-07-15T09:00Z")]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def hand_points(events: list[tuple[str, str]], as_of: str) -> float:
    """sum of weight x 0.5 ^ (age in days / half-life) over events up to as_of."""
    points = 0.0
    for signal, when in events:
        age_days = (at(as_of) - at(when)).total_seconds() / 86400
        if age_days >= 0:
            points += WEIGHTS[signal] * 0.5 ** (age_days / HALF_LIFE)
    return points


def hand_score(points: float) -> float:
    return round(100 * (1 - math.exp(-points / SCALE)), 2)


def write_history(log: ShopHistory) -> None:
    log.upsert_customer(customer(801, "pia@pit.example", "Pia", "Punkt"))
    log.upsert_customer(customer(802, "quinn@pit.example", "Quinn", "Später"))
    log.upsert_customer(customer(803, "rosa@pit.example", "Rosa", "Neu",
                                 created_at="2024-07-05T10:00:00Z", updated_at="2024-07-05T10:00:00Z"))
    # Pia's email
    for event_id, campaign, event_type, when in [
        (8101, "c0", "sent", "2024-04-15T08:00Z"), (8102, "c0", "open", "2024-04-15T20:00Z"),
        (8103, "c1", "sent", "2024-06-05T08:00Z"), (8104, "c1", "open", "2024-06-05T18:00Z"),
        (8105, "c1", "click", "2024-06-05T18:05Z"), (8106, "c1", "open", "2024-06-06T07:00Z"),
        (8107, "c2", "sent", "2024-06-25T08:00Z"),
        (8108, "c3", "sent", "2024-07-10T08:00Z"), (8109, "c3", "open", "2024-07-10T19:00Z"),
    ]:
        log.email(event_id, 801, campaign, event_type, when)
    # Pia's orders (product 10: Shoes, 11: Books in the regular fixture)
    log.order(8001, 801, "2024-06-10T12:00Z", [(10, 1, "40.00")])
    log.order(8002, 801, "2024-06-20T12:00Z", [(11, 1, "15.00")], status="cancelled")
    log.order(8003, 801, "2024-07-20T12:00Z", [(11, 4, "15.00")])
    # Pia's web sessions
    log.web(8201, 801, "pa", "page_view", "2024-06-28T17:00Z")
    log.web(8202, 801, "pa", "product_view", "2024-06-28T17:02Z", product_id=10)
    log.web(8203, 801, "pa", "add_to_cart", "2024-06-28T17:05Z", product_id=10)
    log.web(8204, 801, "pb", "product_view", "2024-07-25T18:00Z", product_id=11)
    # Quinn, all after D1
    log.email(8111, 802, "c3", "sent", "2024-07-10T08:00Z")
    log.email(8112, 802, "c3", "click", "2024-07-11T09:00Z")
    log.order(8004, 802, "2024-07-15T09:00Z", [(12, 1, "25.00")])


PROFILE_COLUMNS = """
    recency_days, frequency, monetary, last_order_at::date::text,
    email_sends_30d, email_open_rate_30d, email_click_rate_30d,
    email_sends_90d, email_open_rate_90d, email_click_rate_90d,
    email_opens_30d, email_clicks_30d, sessions_30d, product_views_30d, add_to_carts_30d,
    last_activity_at, engagement_points, engagement_score, computed_at
"""


@pytest.fixture(scope="module")
def profiles(pg: Settings) -> Iterator[dict[tuple[str, str], dict]]:
    """{(as_of, email): profile row} for both builds of the same history."""
    reset_warehouse(pg)
    load_raw_fixture(pg)
    log = ShopHistory(pg)
    write_history(log)
    found: dict[tuple[str, str], dict] = {}
    for as_of in (D1, D2):
        log.build(vars={"as_of": as_of}, select=PROFILE_MODELS)
        names = [c.strip().split("::")[0] for c in PROFILE_COLUMNS.split(",")]
        for email, *values in log.query(
            f"select email, {PROFILE_COLUMNS} from marts.customer_profiles where email like '%%@pit.example'"
        ):
            found[(as_of, email)] = dict(zip(names, values, strict=True))
    yield found


def test_recency_and_frequency_are_as_of_the_logical_date(profiles):
    pia_d1, pia_d2 = profiles[(D1, "pia@pit.example")], profiles[(D2, "pia@pit.example")]
    # D1: only order 8001 (06-10); the cancelled one never counts, 8003 is in the future
    assert (pia_d1["recency_days"], pia_d1["frequency"], float(pia_d1["monetary"])) == (20, 1, 40.0)
    assert pia_d1["last_order_at"] == "2024-06-10"
    assert (pia_d2["recency_days"], pia_d2["frequency"], float(pia_d2["monetary"])) == (10, 2, 100.0)
    assert pia_d1["computed_at"] == at(D1) and pia_d2["computed_at"] == at(D2)


def test_email_rates_per_window(profiles):
    pia_d1, pia_d2 = profiles[(D1, "pia@pit.example")], profiles[(D2, "pia@pit.example")]
    rates = ("email_sends_30d", "email_open_rate_30d", "email_click_rate_30d",
             "email_sends_90d", "email_open_rate_90d", "email_click_rate_90d")
    # D1: 30 days = c1 (opened, clicked), c2 (not); 90 days adds c0 (opened)
    assert tuple(float(pia_d1[k]) for k in rates) == (2, 0.5, 0.5, 3, 0.6667, 0.3333)
    # D2: 30 days = c3 (opened); 90 days = c1, c2, c3 (c0 fell out)
    assert tuple(float(pia_d2[k]) for k in rates) == (1, 1.0, 0.0, 3, 0.6667, 0.3333)
    # raw event counts: c1's repeat open counts here, not in the rates
    assert (pia_d1["email_opens_30d"], pia_d1["email_clicks_30d"]) == (2, 1)
    assert (pia_d2["email_opens_30d"], pia_d2["email_clicks_30d"]) == (1, 0)


def test_web_activity_after_the_logical_date_is_invisible(profiles):
    pia_d1, pia_d2 = profiles[(D1, "pia@pit.example")], profiles[(D2, "pia@pit.example")]
    web = ("sessions_30d", "product_views_30d", "add_to_carts_30d")
    assert tuple(pia_d1[k] for k in web) == (1, 1, 1)
    assert tuple(pia_d2[k] for k in web) == (1, 1, 0)
    assert pia_d1["last_activity_at"] == at("2024-06-28T17:05Z")
    assert pia_d2["last_activity_at"] == at("2024-07-25T18:00Z")


@pytest.mark.parametrize("as_of", [D1, D2])
@pytest.mark.parametrize(("email", "events"), [("pia@pit.example", PIA), ("quinn@pit.example", QUINN)])
def test_engagement_score_matches_the_documented_formula(profiles, as_of, email, events):
    profile = profiles[(as_of, email)]
    points = hand_points(events, as_of)
    assert float(profile["engagement_points"]) == pytest.approx(points, abs=1e-3)
    assert float(profile["engagement_score"]) == pytest.approx(hand_score(points), abs=0.01)


def test_a_person_active_only_later_is_a_blank_slate_at_d1(profiles):
    quinn_d1, quinn_d2 = profiles[(D1, "quinn@pit.example")], profiles[(D2, "quinn@pit.example")]
    assert (quinn_d1["recency_days"], quinn_d1["frequency"], quinn_d1["email_sends_30d"]) == (None, 0, 0)
    assert (quinn_d1["email_open_rate_30d"], quinn_d1["engagement_score"], quinn_d1["last_activity_at"]) == (
        None, 0, None)
    # D2: a click without a recorded open still makes the message opened
    assert (quinn_d2["recency_days"], quinn_d2["frequency"]) == (15, 1)
    assert (float(quinn_d2["email_open_rate_30d"]), float(quinn_d2["email_click_rate_30d"])) == (1.0, 1.0)
    assert quinn_d2["engagement_score"] > 0


def test_people_who_signed_up_after_the_logical_date_have_no_profile_yet(profiles):
    assert (D1, "rosa@pit.example") not in profiles
    assert profiles[(D2, "rosa@pit.example")]["frequency"] == 0


def test_hand_values_are_not_trivial():
    # guards the expectations themselves: decay matters and D2 differs from D1
    assert hand_score(hand_points(PIA, D1)) != hand_score(hand_points(PIA, D2))
    assert 0 < hand_score(hand_points(PIA, D1)) < 100
    assert hand_points(QUINN, D1) == 0
