"""A real Segment SDK -> collector -> shop -> Debezium -> dbt -> the profile;
then a signed SendGrid unsubscribe suppresses the address before the next send.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from collect_fixtures import WRITE_KEY, collector_settings, running_collector, sendgrid_headers
from segment.analytics.client import Client

from tailor.cdc.capture import run_capture
from tailor.config import Settings
from tailor.db.connect import connect
from tailor.source.generate import seed
from tailor.transform.dbt import run_dbt

pytestmark = [pytest.mark.integration, pytest.mark.slow]
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")


def test_sdk_events_reach_the_profile_and_unsubscribes_stop_the_next_send(fresh_db: Settings) -> None:
    import httpx

    settings = collector_settings(fresh_db)
    seed(settings, customers=200, days=30, seed=11)
    with connect("shop", settings) as conn:
        (ada_id, ada_email), (bob_id, bob_email) = conn.execute(
            "select customer_id, email from customers where not is_guest and email like '%@%.%' "
            "order by customer_id limit 2"
        ).fetchall()

    context = {"userAgent": IPHONE, "timezone": "Europe/Paris", "locale": "fr-FR"}
    with running_collector(settings) as url:
        client = Client(WRITE_KEY, host=url, sync_mode=True, max_retries=1)
        # anonymous browsing first, then the visitor logs in (identify by customer id)
        client.track(anonymous_id="sdk-anon-1", event="Product Viewed", properties={"product_id": 3},
                     context=context)
        client.identify(user_id=str(ada_id), anonymous_id="sdk-anon-1", context=context,
                        traits={"email": ada_email, "language": "fr", "favoriteColor": "teal"})
        client.track(user_id=str(ada_id), event="Product Added", properties={"product_id": 3}, context=context)
        client.page(user_id=str(ada_id), name="Home", properties={"url": "https://shop.example/"}, context=context)
        # a backend identifies Bob by a CRM id; his email links it to his customer record
        client.identify(user_id="crm-bob", traits={"email": bob_email, "firstName": "Robert", "plan": "gold"})
        client.track(user_id="crm-bob", event="Product Viewed", properties={"product_id": 4})
        client.flush()
        with connect("shop", settings) as conn:
            by_customer = dict(conn.execute(
                "select customer_id, count(*) from web_events where properties ? '_tailor' group by 1"
            ).fetchall())
        assert by_customer == {None: 1, ada_id: 3, bob_id: 2}

        run_capture(settings, max_seconds=300)
        build = run_dbt(["build"], settings=settings)
        assert build.success, [n for n in build.nodes if n.status not in ("success", "pass", "no-op")]

        with connect("warehouse", settings) as conn:
            landed = conn.execute(
                "select count(*) from raw.cdc_events where source_table = 'web_events' "
                "and after ->> 'properties' like '%%_tailor%%'"
            ).fetchone()[0]
            profiles = {row[0]: row[1:] for row in conn.execute(
                "select primary_customer_id, traits, language, last_device_type, product_views_30d, "
                "add_to_carts_30d, page_views_30d, first_name from marts.customer_profiles "
                "where primary_customer_id in (%s, %s)", (ada_id, bob_id)).fetchall()}
            stitched = conn.execute(
                "select customer_id, stitched_by from intermediate.int_web_events_stitched "
                "where anonymous_id = 'sdk-anon-1' and call_type = 'track' and event_type = 'product_view'"
            ).fetchone()
        assert landed == 6
        traits, language, device, product_views, carts, pages, _ = profiles[ada_id]
        assert traits["favorite_color"] == "teal" and language == "fr" and device == "mobile"
        assert product_views >= 1 and carts >= 1 and pages >= 1
        assert stitched == (ada_id, "anonymous_id"), "the anonymous view was stitched to Ada"
        bob_traits, *_, bob_first_name = profiles[bob_id]
        assert bob_traits["plan"] == "gold" and bob_first_name  # the shop's own name wins over the trait

        # --- the export: an unsubscribe arrives after the marts were built -----------
        from tailor.export.send import send_campaign
        from tailor.quality.record import audience_fingerprint, record_gate_run

        with connect("warehouse", settings) as conn:
            audience = conn.execute("select person_id, email from marts.sync_email__audience order by person_id").fetchall()
            record_gate_run(conn, logical_date=datetime.now(UTC), passed=True,
                            fingerprint=audience_fingerprint(conn), failed_checks=[], data_docs=None)
        assert len(audience) >= 2, "the seed should give an audience"
        leaving_person, leaving_email = audience[0]
        body = json.dumps([{"email": leaving_email.upper(), "event": "unsubscribe", "timestamp": int(time.time()),
                            "sg_event_id": "sg-unsub-1"}]).encode()
        assert httpx.post(f"{url}/v1/webhooks/sendgrid", content=body,
                          headers={**sendgrid_headers(body), "X-Twilio-Email-Event-Webhook-Signature": "AAAA"}
                          ).status_code == 403
        response = httpx.post(f"{url}/v1/webhooks/sendgrid", content=body, headers=sendgrid_headers(body))
        assert response.status_code == 200 and response.json()["suppressed"] == 1

    summary = send_campaign(settings, datetime.now(UTC).date())
    with connect("warehouse", settings) as conn:
        results = dict(conn.execute("select person_id, status from audit.export_results").fetchall())
        reason = conn.execute("select reason from marts.contactability where person_id = %s",
                              (leaving_person,)).fetchone()[0]
    assert results[leaving_person] == "skipped" and reason == "suppressed_unsubscribe"
    assert summary.sent == len([s for s in results.values() if s == "sent"]) >= 1
