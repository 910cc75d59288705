"""One person stays one person_id and one profile: email change, anonymous-then-login.

Hand-built histories on top of the regular CDC fixture; every build is the
real dbt project against the embedded Postgres.
"""

from __future__ import annotations

import pytest
from fixtures.identity_history import ChangeLog, customer

pytestmark = pytest.mark.integration


def profiles_of(log: ChangeLog, person_id: str) -> list[tuple]:
    return log.query("select person_id, email, person_record_count from marts.customer_profiles "
                     "where person_id = %s", person_id)


def test_changing_email_on_the_account_keeps_person_and_profile(log: ChangeLog):
    log.upsert_customer(customer(1001, "ann.old@example.org", "Ann", "Olsen"))
    log.build()
    before = log.person(1001)

    log.upsert_customer(customer(1001, "ann.new@example.net", "Ann", "Olsen", updated_at="2024-06-20T00:00:00Z"))
    log.build()

    assert log.person(1001) == before
    assert profiles_of(log, before) == [(before, "ann.new@example.net", 1)]


def test_new_account_under_a_new_email_joins_by_phone(log: ChangeLog):
    log.upsert_customer(customer(1011, "bea@example.org", "Bea", "Berg", phone="+49 30 1234567"))
    log.build()
    person = log.person(1011)

    # a second account, another email, the same phone typed differently
    log.upsert_customer(customer(1012, "bea.berg@example.net", "Bea", "Berg", phone="+49 (30) 123-4567"))
    log.build()

    assert log.person(1012) == person == log.person(1011)
    assert [(p, n) for p, _, n in profiles_of(log, person)] == [(person, 2)]
    assert log.query("select count(*) from intermediate.int_person_merges") == [(0,)]


def test_browsing_anonymously_then_logging_in_on_the_same_device(log: ChangeLog):
    log.upsert_customer(customer(1021, "cleo@example.org", "Cleo", "Cruz"))
    log.device(1021, "dev-cleo")
    # two anonymous visits, then the login that identifies the browser
    log.web_event(5001, "anon-cleo", "dev-cleo", None, "2024-06-20T09:00:00Z", "product_view")
    log.web_event(5002, "anon-cleo", "dev-cleo", None, "2024-06-20T09:05:00Z")
    log.web_event(5003, "anon-cleo", "dev-cleo", 1021, "2024-06-21T10:00:00Z", "login")
    log.build()
    person = log.person(1021)

    stitched = log.query("select web_event_id, customer_id from intermediate.int_web_events_stitched "
                         "where web_event_id between 5001 and 5003 order by 1")
    assert stitched == [(5001, 1021), (5002, 1021), (5003, 1021)]
    assert log.query("select web_events_30d, product_views_30d from marts.customer_profiles "
                     "where person_id = %s", person) == [(3, 1)]

    # later the same browser logs in to a second account of hers: one person
    log.upsert_customer(customer(1022, "cleo.cruz@example.net", "Cleo", "Cruz"))
    log.web_event(5004, "anon-cleo", "dev-cleo", 1022, "2024-06-25T10:00:00Z", "login")
    log.build()
    assert log.person(1022) == log.person(1021) == person
    assert len(profiles_of(log, person)) == 1
