"""The dbt project against the real Postgres and the hand-built CDC fixture.

Expected values are computed by hand from tests/fixtures/raw_cdc_events.sql,
as of 2024-06-30 00:00 UTC. Five people bought (revenue orders only):

| person | orders | monetary | last order | recency | R | F | M | label       |
|--------|--------|----------|------------|---------|---|---|---|-------------|
| Frank  | 3      | 600      | 2024-01-10 | 172     | 1 | 4 | 5 | cant_lose   |
| Dave   | 1      | 10       | 2024-02-01 | 150     | 2 | 1 | 1 | hibernating |
| Carol  | 2      | 100      | 2024-06-20 | 10      | 3 | 3 | 3 | loyal       |
| Alice  | 4      | 200      | 2024-06-25 | 5       | 4 | 5 | 4 | champions   |
| Grace  | 1      | 35       | 2024-06-26 | 4       | 5 | 2 | 2 | recent      |

(ntile(5) over five buyers gives each one quintile; Grace and Dave tie on
frequency and are told apart by monetary. Alice's cancelled 999 order does
not count; her guest order 103, placed with 'ALICE@example.com ', does.)
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fixtures.warehouse_build import AS_OF, load_raw_fixture, person_of, reset_warehouse

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(pg: Settings) -> Iterator[Settings]:
    reset_warehouse(pg)
    load_raw_fixture(pg)
    result = run_dbt(["build"], vars={"as_of": AS_OF}, settings=pg)
    assert result.success, result.summary()
    yield pg


def rows(settings: Settings, query: str, *params) -> list[tuple]:
    with connect("warehouse", settings) as conn:
        return conn.execute(query, params).fetchall()


def test_dbt_build_passes_every_model_and_test(built):
    # the fixture asserted success; the layers are where the contract says
    (count,) = rows(built, """
        select count(*) from information_schema.tables
        where (table_schema, table_name) in (('staging', 'stg_shop__customers'),
            ('intermediate', 'int_customers_resolved'), ('marts', 'customer_profiles'),
            ('marts', 'segment_memberships'), ('marts', 'segment_assignments'),
            ('marts', 'sync_email__audience'), ('marts', 'contactability'))
    """)[0]
    assert count == 7


def test_updated_then_deleted_customer_ends_in_the_right_state(built):
    staged = dict(rows(built, "select customer_id, city from staging.stg_shop__customers"))
    assert 2 not in staged, "Bob was created, updated and deleted: he must be gone"
    assert staged[1] == "Hamburg", "Alice's update (Berlin -> Hamburg) must win"
    # a truncate erases what landed before it: only the device created after it remains
    assert rows(built, "select device_id from staging.stg_shop__devices") == [("dev-3",)]


def test_duplicate_emails_by_case_and_whitespace_are_one_person(built):
    carol = rows(built, """
        select distinct person_id from intermediate.int_customers_resolved where customer_id in (3, 4)
    """)
    assert len(carol) == 1
    (count,) = rows(built, "select count(*) from marts.customer_profiles where email = 'carol@example.com'")[0]
    assert count == 1
    # the invalid email stands alone: a cluster of one, id from its customer id
    assert rows(built, "select person_id from intermediate.int_customers_resolved where customer_id = 5") == [("p_5",)]


def test_guest_order_is_attributed_by_email(built):
    alice = person_of(built, "alice@example.com")
    assert rows(built, "select person_id, attributed_by from intermediate.int_orders_attributed where order_id = 103") == [
        (alice, "email")
    ]
    assert rows(built, "select person_id, attributed_by from intermediate.int_orders_attributed where order_id = 150") == [
        (None, "unattributed")
    ]


@pytest.mark.parametrize(
    ("email", "frequency", "monetary", "recency", "scores", "label"),
    [
        ("frank@example.com", 3, Decimal("600.00"), 172, (1, 4, 5), "cant_lose"),
        ("dave(at)example", 1, Decimal("10.00"), 150, (2, 1, 1), "hibernating"),
        ("carol@example.com", 2, Decimal("100.00"), 10, (3, 3, 3), "loyal"),
        ("alice@example.com", 4, Decimal("200.00"), 5, (4, 5, 4), "champions"),
        ("grace@example.com", 1, Decimal("35.00"), 4, (5, 2, 2), "recent"),
    ],
)
def test_rfm_matches_the_hand_computed_values(built, email, frequency, monetary, recency, scores, label):
    got = rows(built, """
        select frequency, monetary, recency_days, r_score, f_score, m_score, rfm_segment
        from marts.customer_profiles where email = %s
    """, email)
    assert got == [(frequency, monetary, recency, *scores, label)]


def test_profile_details(built):
    alice = rows(built, """
        select average_order_value, favourite_category, web_events_30d, age_band,
               email_marketing_consent, computed_at::text
        from marts.customer_profiles where email = 'alice@example.com'
    """)[0]
    # 200 / 4; Shoes = 80 + 50 spent; two web events in the window (one is older)
    assert alice[:5] == (Decimal("50.00"), "Shoes", 2, "25_34", True)
    assert alice[5].startswith("2024-06-30")
    never_bought = rows(built, """
        select r_score, rfm_segment from marts.customer_profiles where email = 'heidi@example.com'
    """)
    assert never_bought == [(None, "prospect")]


def test_segment_assignments_one_per_person_by_priority(built):
    (dupes,) = rows(built, """
        select count(*) from (select person_id from marts.segment_assignments
                              group by person_id having count(*) > 1) d
    """)[0]
    assert dupes == 0
    memberships = {(p, s) for p, s in rows(built, "select person_id, segment from marts.segment_memberships")}
    alice = person_of(built, "alice@example.com")
    # Alice is a champion and left a cart: cart_abandoners (priority 1) beats champions (4)
    assert {(alice, "champions"), (alice, "cart_abandoners")} <= memberships
    assert rows(built, "select segment, priority, candidate_count from marts.segment_assignments where person_id = %s",
                alice) == [("cart_abandoners", 1, 2)]
    assigned = dict(rows(built, """
        select p.email, a.segment from marts.segment_assignments a
        join marts.customer_profiles p using (person_id)
    """))
    assert assigned == {
        "alice@example.com": "cart_abandoners",
        "heidi@example.com": "cart_abandoners",
        "frank@example.com": "at_risk",
        "grace@example.com": "new_customers",
    }


def test_segment_catalogue_comes_from_yaml_meta(built):
    catalogue = dict(rows(built, "select segment, priority from marts.segments"))
    assert catalogue == {"cart_abandoners": 1, "at_risk": 2, "new_customers": 3, "champions": 4}


def test_audience_excludes_withdrawn_consent_and_invalid_emails(built):
    audience = {r[0] for r in rows(built, "select email from marts.sync_email__audience")}
    assert audience == {
        "alice@example.com", "frank@example.com", "grace@example.com", "heidi@example.com",
    }
    # carol may be emailed, but is in no segment: no campaign email for her
    assert rows(built, "select can_email from marts.contactability where email = 'carol@example.com'") == [(True,)]
    assert rows(built, """
        select count(*) from marts.customer_profiles p
        join marts.segment_assignments a using (person_id) where p.email = 'carol@example.com'
    """) == [(0,)]
    reasons = dict(rows(built, "select email, reason from marts.contactability"))
    assert reasons["erin@example.com"] == "consent_withdrawn"
    assert reasons["dave(at)example"] == "invalid_email"


def test_contactability_sees_consent_captured_after_the_build(built):
    """A withdrawal landed after the marts were built is visible at send time."""
    with connect("warehouse", built) as conn:
        conn.execute("""
            insert into raw.cdc_events (source_table, op, pk, after, source_lsn, source_ts, captured_at)
            values ('consents', 'c', '{"consent_id": 99}',
                    '{"consent_id": 99, "customer_id": 7, "purpose": "email_marketing", "status": "withdrawn",
                      "source": "preference_center", "recorded_at": "2024-06-30T08:00:00Z"}',
                    999999, '2024-06-30T08:00:00Z', '2024-06-30T08:00:01Z')
        """)
    try:
        assert rows(built, "select can_email, reason from marts.contactability where email = 'frank@example.com'") == [
            (False, "consent_withdrawn")
        ]
        # the mart still holds the build-time state until the next run
        assert rows(built, "select count(*) from marts.sync_email__audience where email = 'frank@example.com'") == [(1,)]
    finally:
        with connect("warehouse", built) as conn:
            conn.execute("delete from raw.cdc_events where source_lsn = 999999")
