"""The build's copy of contactability, kept per person, follows what int_persons_changed does not.

contactability_at_build recomputes the persons int_persons_changed marks
(their records changed) and those whose row reads something it does not
follow (the model's header): consent decisions, the shop's suppression
signals (an email event may carry no customer id at all: it is matched by
address) and the collector's suppressions, written straight into the
warehouse with no change log, which can also be deleted. Shown on a small
captured shop with as_of left where it was:

* a consent withdrawn in the shop;
* a bounce the shop logged for an address, with no customer id;
* a spam report the collector wrote (exports.suppressions);
* a collector suppression deleted, which lifts it.

Those rows must change, the copy must equal a full refresh (and the live
view), and every other row must stay where it was (not rewritten), except
the suppressed ones, which every run rechecks.
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

COMPARED = ("marts.contactability_at_build",)

SUPPRESS = """
insert into exports.suppressions (email_normalized, reason, source, event_id, suppressed_at)
values (%s, %s, 'generic', %s, %s)
"""


def reasons(settings: Settings) -> dict[str, tuple[str, str]]:
    with connect("warehouse", settings) as conn:
        return {person: (ctid, reason) for person, ctid, reason in conn.execute(
            "select person_id, ctid::text, reason from marts.contactability_at_build")}


def test_build_copy_follows_consents_and_suppressions(fresh_db: Settings) -> None:
    settings = fresh_db
    seed(settings, customers=300, seed=12)
    run_capture(settings, max_seconds=120)
    as_of = latest_change(settings)
    build(settings, as_of)

    with connect("warehouse", settings) as conn:
        # granted before as_of: every signal below, a minute before as_of,
        # comes after the grant
        granted = conn.execute(
            """
            select contactability.person_id, contactability.email, min(records.customer_id)
            from marts.contactability_at_build as contactability
            inner join intermediate.int_customers_identified as records
                on contactability.person_id = records.person_id
            where contactability.reason = 'consent_granted'
            group by 1, 2
            order by 1
            limit 4
            """
        ).fetchall()
        assert len(granted) == 4
        (withdrawn, _, withdrawn_customer), (bounced, bounced_email, _), (reported, reported_email, _), \
            (lifted, lifted_email, _) = granted
        conn.execute(SUPPRESS, (lifted_email, "unsubscribe", "lift-1", as_of - timedelta(minutes=1)))
    build(settings, as_of)
    before = reasons(settings)
    assert before[lifted][1] == "suppressed_unsubscribe"

    with connect("shop", settings) as shop:
        shop.execute(
            "insert into consents (customer_id, purpose, status, source, recorded_at) "
            "values (%s, 'email_marketing', 'withdrawn', 'preference_center', %s)",
            (withdrawn_customer, as_of - timedelta(minutes=1)),
        )
        shop.execute(
            "insert into email_events (customer_id, email, event_type, occurred_at) "
            "values (null, upper(%s), 'bounce', %s)",
            (bounced_email, as_of - timedelta(minutes=1)),
        )
    run_capture(settings, max_seconds=120)
    with connect("warehouse", settings) as conn:
        conn.execute(SUPPRESS, (reported_email, "spam_report", "report-1", as_of - timedelta(minutes=1)))
        conn.execute("delete from exports.suppressions where event_id = 'lift-1'")

    build(settings, as_of, "contactability")  # and the live view, compared below
    after = reasons(settings)
    assert after[withdrawn][1] == "consent_withdrawn"
    assert after[bounced][1] == "suppressed_bounce"
    assert after[reported][1] == "suppressed_spam_report"
    assert after[lifted][1] == "consent_granted"

    # rewritten: those four, and every row whose address has a collector
    # suppression or that was suppressed (rechecked on every run)
    with connect("warehouse", settings) as conn:
        rechecked = {person for (person,) in conn.execute(
            "select person_id from marts.contactability_at_build where starts_with(reason, 'suppressed_')")}
    rewritten = {person for person, row in after.items() if before.get(person, (None,))[0] != row[0]}
    assert {withdrawn, bounced, reported, lifted} <= rewritten
    assert rewritten <= {withdrawn, bounced, reported, lifted} | rechecked | {
        person for person, row in before.items() if row[1].startswith("suppressed_")}
    assert len(rewritten) < len(after) / 4, f"rewrote {len(rewritten)} of {len(after)} persons"

    with connect("warehouse", settings) as conn:
        live = conn.execute("select t::text from marts.contactability as t order by 1").fetchall()
    incremental = rows(settings, COMPARED)
    assert incremental["marts.contactability_at_build"] == live
    assert_equals_full_refresh(settings, as_of, incremental)
