"""person_id stays stable across runs while clusters grow, merge and split.

One history, built run by run: the map keeps ids, the oldest id survives a
merge, the part holding the oldest member keeps the id on a split, and
every merge and split lands in int_person_merges with the run's time.
"""

from __future__ import annotations

import pytest
from fixtures.identity_history import ChangeLog, customer

pytestmark = pytest.mark.integration

PHONE = "+49 40 7654321"


def history(log: ChangeLog) -> list[tuple]:
    return log.query("select change_type, from_person_id, to_person_id, customer_count "
                     "from intermediate.int_person_merges order by recorded_at, change_type, from_person_id")


def test_grow_merge_split_and_a_deleted_anchor(log: ChangeLog):
    # run 1: two people
    log.upsert_customer(customer(2001, "ida@example.org", "Ida", "Iversen", phone=PHONE))
    log.upsert_customer(customer(2002, "jo@example.org", "Jo", "Jansen"))
    log.build()
    assert (log.person(2001), log.person(2002)) == ("p_2001", "p_2002")

    # run 2, grow: a guest checkout under Ida's email joins her
    log.upsert_customer(customer(2003, " IDA@example.org", "Ida", "Iversen", is_guest=True))
    log.build(vars={"as_of": "2024-07-01T00:00:00+00:00"})
    assert log.person(2003) == log.person(2001) == "p_2001"
    assert history(log) == []

    # run 3, merge: Jo's record turns out to carry Ida's phone; the oldest id survives
    log.upsert_customer(customer(2002, "jo@example.org", "Jo", "Jansen", phone=PHONE))
    log.build(vars={"as_of": "2024-07-02T00:00:00+00:00"})
    assert {log.person(c) for c in (2001, 2002, 2003)} == {"p_2001"}
    assert history(log) == [("merge", "p_2002", "p_2001", 1)]
    assert log.query("select recorded_at::text from intermediate.int_person_merges") == [("2024-07-02 00:00:00+00",)]

    # re-running the same run changes nothing and records nothing twice
    log.build(vars={"as_of": "2024-07-02T00:00:00+00:00"})
    assert history(log) == [("merge", "p_2002", "p_2001", 1)]

    # run 4, split: the phone was a typo; Jo leaves, the part with the oldest member keeps p_2001
    log.upsert_customer(customer(2002, "jo@example.org", "Jo", "Jansen"))
    log.build(vars={"as_of": "2024-07-03T00:00:00+00:00"})
    assert (log.person(2001), log.person(2003), log.person(2002)) == ("p_2001", "p_2001", "p_2002")
    assert history(log)[-1] == ("split", "p_2001", "p_2002", 1)

    # run 5: the anchor record is deleted; the rest of the cluster keeps its id
    log.delete_customer(2001)
    log.build(vars={"as_of": "2024-07-04T00:00:00+00:00"})
    assert log.person(2003) == "p_2001"
    assert log.query("select count(*) from intermediate.int_person_map where customer_id = 2001") == [(0,)]


def test_a_rebuild_from_scratch_reproduces_the_ids(log: ChangeLog):
    log.upsert_customer(customer(2101, "kai@example.org", "Kai", "Koch", phone=PHONE))
    log.upsert_customer(customer(2102, "kai.koch@example.net", "Kai", "Koch", phone=PHONE))
    log.upsert_customer(customer(2103, "lu@example.org", "Lu", "Lang"))
    log.build()
    first = dict(log.query("select customer_id, person_id from intermediate.int_person_map"))

    log.query("drop table intermediate.int_person_map cascade")
    log.build()
    assert dict(log.query("select customer_id, person_id from intermediate.int_person_map")) == first
    assert first[2101] == first[2102] == "p_2101"


def test_a_customer_newer_than_the_build_is_resolved_at_send_time(log: ChangeLog):
    log.upsert_customer(customer(2201, "mo@example.org", "Mo", "Marx"))
    log.build()
    # after the build: one sign-up under Mo's email, one brand-new person
    log.upsert_customer(customer(2202, "Mo@Example.org ", "Mo", "Marx", is_guest=True))
    log.upsert_customer(customer(2203, "nia@example.org", "Nia", "Noor"))
    found = log.query("select customer_id, person_id, identified_by from intermediate.int_customers_identified "
                      "where customer_id in (2201, 2202, 2203) order by 1")
    assert found == [(2201, "p_2201", "person_map"), (2202, "p_2201", "email"), (2203, "p_2203", "new")]
    # the send-time views see both
    assert {row[0] for row in log.query("select person_id from marts.contactability "
                                        "where person_id in ('p_2201', 'p_2203')")} == {"p_2201", "p_2203"}


def test_history_is_kept_when_the_map_ran_without_the_history_model(log: ChangeLog):
    log.upsert_customer(customer(2301, "oda@example.org", "Oda", "Olsen", phone=PHONE))
    log.upsert_customer(customer(2302, "pia@example.org", "Pia", "Paulsen"))
    log.build()
    # the merge happens in a run that builds only the map (e.g. `dbt build -s +int_person_map`)
    log.upsert_customer(customer(2302, "pia@example.org", "Pia", "Paulsen", phone=PHONE))
    log.build(vars={"as_of": "2024-07-02T00:00:00+00:00"}, select=["+int_person_map"])
    # a later full run with nothing new still records it, once
    for as_of in ("2024-07-03T00:00:00+00:00", "2024-07-04T00:00:00+00:00"):
        log.build(vars={"as_of": as_of})
    assert log.query("select change_type, from_person_id, to_person_id, recorded_at::date::text "
                     "from intermediate.int_person_merges") == [("merge", "p_2302", "p_2301", "2024-07-02")]
