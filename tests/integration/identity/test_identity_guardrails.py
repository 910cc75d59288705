"""Junk identifiers never merge two real people."""

from __future__ import annotations

import pytest
from fixtures.identity_history import ChangeLog, customer

pytestmark = pytest.mark.integration

KIOSK_USERS = range(3100, 3150)


def test_shared_junk_email_phone_and_kiosk_device_merge_nobody(log: ChangeLog):
    # three different people who typed the classic junk values
    log.upsert_customer(customer(3001, "test@test.com", "Dan", "Dorn", phone="0000000"))
    log.upsert_customer(customer(3002, " TEST@TEST.COM", "Eve", "Ernst", phone="000-0000"))
    log.upsert_customer(customer(3003, "n/a", "Fay", "Fox", phone="n/a"))
    # fifty shoppers who all used the store's kiosk (and its browser)
    for n, customer_id in enumerate(KIOSK_USERS):
        log.upsert_customer(customer(customer_id, f"kiosk{n}@example.org", f"Kiosk{n}", "User"))
        log.device(customer_id, "dev-kiosk")
        log.web_event(6000 + n, "anon-kiosk", "dev-kiosk", customer_id, "2024-06-20T10:00:00Z", "login")
    # a guest order under the junk email belongs to none of them
    log.guest_order(7001, "Test@Test.com")
    # even when devices are trusted as edges (K = 5), the kiosk is past the limit
    log.build(vars={"identity_max_customers_per_device": 5})

    ids = [3001, 3002, 3003, *KIOSK_USERS]
    persons = {log.person(customer_id) for customer_id in ids}
    assert len(persons) == len(ids)
    verdicts = dict(log.query(
        "select identifier_type || ':' || identifier, min(excluded_reason) from intermediate.int_identifiers_normalized "
        "where customer_id = any(%s) and not is_edge group by 1", ids))
    assert verdicts["email:test@test.com"] == "blocked_value"
    assert verdicts["phone:0000000"] == "blocked_value"
    assert verdicts["device:dev-kiosk"] == "shared_by_too_many"
    assert verdicts["anonymous_id:anon-kiosk"] == "shared_by_too_many"
    assert log.query("select count(*) from intermediate.int_identity_edges "
                     "where customer_id_l = any(%s) or customer_id_r = any(%s)", ids, ids) == [(0,)]
    assert log.query("select person_id, attributed_by from intermediate.int_orders_attributed "
                     "where order_id = 7001") == [(None, "unattributed")]


def test_low_probability_links_stay_out_of_the_graph(log: ChangeLog):
    log.upsert_customer(customer(3201, "gus@example.org", "Gus", "Graf"))
    log.upsert_customer(customer(3202, "gus.graf@example.net", "Gus", "Graf"))
    log.upsert_customer(customer(3203, "hal@example.org", "Hal", "Hoff"))
    log.upsert_customer(customer(3204, "hal.h@example.net", "Hal", "Hoff"))
    log.query("insert into ml.identity_links values (3201, 3202, 0.999, 12.3, 'test', now()), "
              "(3203, 3204, 0.6, 1.1, 'test', now()) returning 1")
    log.build()
    assert log.person(3201) == log.person(3202)
    assert log.person(3203) != log.person(3204)
    assert log.query("select edge_type, match_probability from intermediate.int_identity_edges "
                     "where customer_id_l = 3201") == [("probabilistic", 0.999)]
