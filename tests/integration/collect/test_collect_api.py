"""The tracking API against the real database: auth, limits, de-duplication,
identity resolution, consent, quarantine, webhooks, metrics, OpenAPI."""

from __future__ import annotations

import gzip
import json
import time

import httpx
import pytest
from collect_fixtures import (
    WEBHOOK_SECRET,
    auth,
    collector_settings,
    running_collector,
    sendgrid_headers,
)

from tailor.collect.webhooks import sign_generic
from tailor.config import Settings
from tailor.db.connect import connect

pytestmark = pytest.mark.integration


def count(settings: Settings, database: str, sql: str, *params) -> int:
    with connect(database, settings) as conn:
        return conn.execute(sql, params).fetchone()[0]


@pytest.fixture
def shop_with_customer(fresh_db: Settings) -> Settings:
    with connect("shop", fresh_db) as conn:
        conn.execute(
            "insert into customers (customer_id, email, first_name, created_at, updated_at) values "
            "(101, 'Ada@Example.com', 'Ada', now(), now()), (102, 'bob@example.com', 'Bob', now(), now())"
        )
    return collector_settings(fresh_db)


def test_tracking_calls_are_stored_deduplicated_and_resolved(shop_with_customer: Settings) -> None:
    settings = shop_with_customer
    with running_collector(settings) as url, httpx.Client(base_url=url, auth=auth()) as client:
        # identify by email with a CRM id -> customer 101, remembered for later calls
        r = client.post("/v1/identify", json={"userId": "crm-ada", "anonymousId": "anon-1", "messageId": "i1",
                                              "traits": {"email": "ada@example.com", "language": "en"}})
        assert r.status_code == 200 and r.json()["accepted"] == 1
        r = client.post("/v1/track", json={"userId": "crm-ada", "event": "Product Added", "messageId": "t1", "anonymousId": "anon-1",
                                           "properties": {"product_id": 9},
                                           "context": {"userAgent": "Mozilla/5.0 (Windows NT 10.0) Chrome/124"}})
        assert r.status_code == 200
        again = client.post("/v1/track", json={"userId": "crm-ada", "event": "Product Added", "messageId": "t1"})
        assert again.json() == {"success": True, "accepted": 0, "duplicates": 1, "quarantined": 0, "withheld": 0}
        # numeric userId = customer_id; analytics.js style: text/plain body with writeKey, short path
        r = httpx.post(f"{url}/v1/p", content=json.dumps({"userId": "102", "writeKey": "test-write-key",
                                                           "messageId": "p1"}), headers={"Content-Type": "text/plain"})
        assert r.status_code == 200
        # gzip batch (the Python SDK can gzip)
        body = gzip.compress(json.dumps({"batch": [{"type": "page", "anonymousId": "anon-9", "messageId": "b1"},
                                                   {"type": "screen", "userId": "102", "messageId": "b2"}]}).encode())
        r = client.post("/v1/batch", content=body, headers={"Content-Encoding": "gzip"})
        assert r.json()["accepted"] == 2
    with connect("shop", settings) as conn:
        rows = dict(conn.execute("select message_id, customer_id from web_events").fetchall())
        device = conn.execute("select device_type, os from devices").fetchall()
        linked = conn.execute("select customer_id from customer_devices").fetchall()
    assert rows == {"i1": 101, "t1": 101, "p1": 102, "b1": None, "b2": 102}
    assert device == [("desktop", "Windows")] and linked == [(101,)]


def test_auth_limits_and_bad_input(shop_with_customer: Settings) -> None:
    settings = shop_with_customer
    with running_collector(settings) as url, httpx.Client(base_url=url, auth=auth()) as client:
        assert httpx.post(f"{url}/v1/track", json={"userId": "1", "event": "Product Viewed"}).status_code == 401
        assert client.post("/v1/track", content=b"{not json").status_code == 400
        big = {"userId": "1", "event": "Product Viewed", "properties": {"x": "y" * 40_000}}
        assert client.post("/v1/track", json=big).status_code == 400
        huge = {"batch": [{"type": "page", "userId": "1", "properties": {"x": "y" * 30_000}}] * 20}
        assert client.post("/v1/batch", json=huge).status_code == 400
        r = client.post("/v1/batch", json={"batch": [
            {"type": "page", "userId": "1", "messageId": "ok-1"},
            {"type": "track", "userId": "1", "event": "<script>alert(1)</script>"},
            {"type": "page", "userId": "1", "timestamp": "2999-01-01T00:00:00Z"},
            {"type": "page"},
        ]})
        assert r.status_code == 200 and r.json()["accepted"] == 1 and r.json()["quarantined"] == 3
        assert client.post("/v1/batch", json={"batch": []}).status_code == 400
        metrics = client.get("/metrics").text
    reasons = {reason: n for reason, n in _reasons(settings)}
    assert reasons == {"malformed_json": 1, "payload_too_large": 2, "unknown_event": 1,
                       "timestamp_in_future": 1, "missing_id": 1, "empty_batch": 1}
    assert 'tailor_collect_quarantined_total{reason="unknown_event"}' in metrics
    assert "tailor_collect_request_seconds_bucket" in metrics


def _reasons(settings: Settings) -> list[tuple[str, int]]:
    with connect("shop", settings) as conn:
        return conn.execute("select reason, count(*) from collect_quarantine group by 1").fetchall()


def test_consent_denied_is_not_stored(fresh_db: Settings) -> None:
    settings = collector_settings(fresh_db)
    denied = {"userId": "1", "type": "page", "context": {"consent": {"categoryPreferences": {"Analytics": False}}}}
    with running_collector(settings) as url, httpx.Client(base_url=url, auth=auth()) as client:
        r = client.post("/v1/batch", json={"batch": [denied, {"userId": "1", "type": "page"}]})
        assert r.json()["withheld"] == 1 and r.json()["accepted"] == 1
    assert count(settings, "shop", "select count(*) from web_events") == 1
    assert count(settings, "shop", "select count(*) from collect_quarantine") == 0


def test_openapi_document_and_snippet(fresh_db: Settings) -> None:
    with running_collector(collector_settings(fresh_db)) as url:
        document = httpx.get(f"{url}/openapi.json").json()
        snippet = httpx.get(f"{url}/tailor.js")
    for path in ("/v1/identify", "/v1/track", "/v1/page", "/v1/screen", "/v1/alias", "/v1/group",
                 "/v1/batch", "/v1/import", "/v1/webhooks/sendgrid", "/v1/webhooks/generic"):
        assert path in document["paths"], path
    assert "Track" in document["components"]["schemas"]
    assert snippet.status_code == 200 and "data-tailor-add-to-cart" in snippet.text


def test_webhooks_reject_bad_signatures_and_suppress_at_once(shop_with_customer: Settings) -> None:
    settings = shop_with_customer
    events = [
        {"email": "Ada@Example.com", "event": "unsubscribe", "timestamp": int(time.time()), "sg_event_id": "sg-1"},
        {"email": "bob@example.com", "event": "open", "timestamp": int(time.time()), "sg_event_id": "sg-2"},
        {"email": "bob@example.com", "event": "exploded", "timestamp": int(time.time())},
    ]
    body = json.dumps(events).encode()
    with running_collector(settings) as url:
        forged = sendgrid_headers(body)
        forged["X-Twilio-Email-Event-Webhook-Timestamp"] = "1"
        bad = httpx.post(f"{url}/v1/webhooks/sendgrid", content=body, headers=forged)
        assert bad.status_code == 403 and bad.json()["code"] == "bad_signature"
        assert count(settings, "warehouse", "select count(*) from exports.suppressions") == 0

        ok = httpx.post(f"{url}/v1/webhooks/sendgrid", content=body, headers=sendgrid_headers(body))
        assert ok.status_code == 200, ok.text
        assert ok.json() | {} == {"success": True, "stored": 2, "duplicates": 0, "suppressed": 1,
                                  "ignored": 0, "quarantined": 1}
        redelivered = httpx.post(f"{url}/v1/webhooks/sendgrid", content=body, headers=sendgrid_headers(body))
        assert redelivered.json()["duplicates"] == 2

        generic = json.dumps({"events": [{"id": "g-1", "email": "bob@example.com", "type": "bounce",
                                          "timestamp": "2026-01-01T00:00:00Z", "reason": "550 no such user"}]}).encode()
        stamp = int(time.time())
        headers = {"X-Tailor-Webhook-Timestamp": str(stamp),
                   "X-Tailor-Webhook-Signature": sign_generic(WEBHOOK_SECRET, generic, stamp)}
        assert httpx.post(f"{url}/v1/webhooks/generic", content=generic,
                          headers={**headers, "X-Tailor-Webhook-Signature": "v1=00"}).status_code == 403
        assert httpx.post(f"{url}/v1/webhooks/generic", content=generic, headers=headers).status_code == 200
    with connect("warehouse", settings) as conn:
        suppressed = conn.execute("select email_normalized, reason from exports.suppressions order by 1").fetchall()
    with connect("shop", settings) as conn:
        email_events = conn.execute("select customer_id, event_type from email_events order by 2").fetchall()
        consent = conn.execute("select customer_id, status from consents").fetchall()
    assert suppressed == [("ada@example.com", "unsubscribe"), ("bob@example.com", "bounce")]
    assert sorted(email_events) == [(101, "unsubscribe"), (102, "bounce"), (102, "open")]
    assert consent == [(101, "withdrawn")]
