"""Validation, clock-skew correction and context at ingest (no services)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tailor.collect import context
from tailor.collect.normalize import MAX_EVENT_BYTES, normalize
from tailor.config import CollectSettings

NOW = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/124.0 Safari/537.36")


def run(message, kind=None, settings=None, **kw):
    return normalize(message, kind, received_at=NOW, settings=settings or CollectSettings(),
                     source="test", **kw)


def test_track_becomes_a_shop_row_with_context():
    out = run({"userId": 42, "event": "Product Viewed", "properties": {"product_id": "7"},
               "messageId": "m1", "anonymousId": "a1",
               "context": {"userAgent": IPHONE, "timezone": "Europe/Berlin", "locale": "de-DE"}}, "track")
    row = out.row
    assert out.rejected is None and row is not None
    assert row["event_type"] == "product_view" and row["product_id"] == 7
    assert row["user_id"] == "42" and row["anonymous_id"] == "a1" and row["device_id"] == "web:a1"
    assert (row["device_type"], row["os"]) == ("mobile", "iOS")
    assert row["timezone"] == "Europe/Berlin"
    meta = row["properties"]["_tailor"]
    assert meta["location"] == {"country": "DE"} and meta["language"] == "de"
    assert meta["source_kind"] == "browser"


def test_clock_skew_is_corrected_with_sent_at():
    # the device clock is 3 hours behind: timestamp and sentAt are both off by it
    out = run({"anonymousId": "a", "event": "Product Added", "type": "track",
               "timestamp": "2026-05-06T08:59:50Z", "sentAt": "2026-05-06T09:00:00Z"})
    assert datetime.fromisoformat(out.row["occurred_at"]) == NOW - timedelta(seconds=10)
    assert out.row["properties"]["_tailor"]["skew_s"] == pytest.approx(3 * 3600)


def test_batch_sent_at_applies_and_import_keeps_timestamps():
    event = {"anonymousId": "a", "type": "page", "timestamp": "2025-01-01T00:00:00Z"}
    corrected = run(event, batch_sent_at="2025-01-01T00:00:01Z")
    assert datetime.fromisoformat(corrected.row["occurred_at"]) == NOW - timedelta(seconds=1)
    too_old = run(event)
    assert too_old.rejected.reason == "timestamp_too_old"
    historical = run(event, historical=True)
    assert historical.row["occurred_at"].startswith("2025-01-01")


@pytest.mark.parametrize(("message", "reason"), [
    ({"event": "Product Viewed", "type": "track"}, "missing_id"),
    ({"userId": {"x": 1}, "type": "page"}, "wrong_type"),
    ({"userId": "u", "type": "track", "event": "'; drop table web_events; --"}, "unknown_event"),
    ({"userId": "u", "type": "page", "timestamp": "2999-01-01T00:00:00Z"}, "timestamp_in_future"),
    ({"userId": "u", "type": "page", "timestamp": "yesterday"}, "bad_timestamp"),
    ({"userId": "u", "type": "page", "properties": []}, "wrong_type"),
    ({"userId": "u", "type": "launch"}, "unknown_type"),
    ({"userId": "u\x00", "type": "page"}, "bad_characters"),
    ({"userId": "u", "type": "page", "properties": {"x": "a" * MAX_EVENT_BYTES}}, "event_too_large"),
    ({"userId": "u", "type": "alias"}, "missing_field"),
    ([1, 2], "wrong_type"),
])
def test_bad_input_is_refused_with_a_reason(message, reason):
    out = run(message)
    assert out.row is None and out.rejected is not None and out.rejected.reason == reason
    assert out.rejected.detail


def test_custom_events_need_configuration():
    allowed = CollectSettings(custom_events=("Newsletter Signup",))
    assert run({"userId": "u", "event": "Newsletter Signup"}, "track", allowed).row["event_type"] == "newsletter_signup"
    assert run({"userId": "u", "event": "Other"}, "track", allowed).rejected.reason == "unknown_event"
    assert run({"userId": "u", "event": "Other"}, "track", CollectSettings(custom_events=("*",))).row


def test_message_id_is_derived_from_content_when_missing():
    a = run({"userId": "u", "type": "page"})
    b = run({"userId": "u", "type": "page"})
    assert a.message_id == b.message_id and a.message_id.startswith("tailor-")


def test_consent_denied_is_withheld_or_anonymised():
    denied = {"userId": "u", "anonymousId": "a", "type": "track", "event": "Product Viewed",
              "properties": {"product_id": 1},
              "context": {"consent": {"categoryPreferences": {"Analytics": False}}, "userAgent": IPHONE,
                          "page": {"url": "https://shop.example/p?email=x@y.z"}}}
    dropped = run(denied)
    assert dropped.withheld and dropped.row is None and dropped.rejected is None
    anonymous = run(denied, settings=CollectSettings(consent_mode="anonymous")).row
    assert anonymous["user_id"] is None and anonymous["anonymous_id"] is None
    assert anonymous["user_agent"] is None and anonymous["url"] == "https://shop.example/p"
    assert anonymous["properties"] == {"_tailor": {"type": "track", "source": "test", "consent": "analytics_denied"}}
    assert not context.analytics_denied({"consent": {"categoryPreferences": {"Analytics": True}}})


def test_user_agents_are_classified():
    assert context.parse_user_agent(WINDOWS).device_type == "desktop"
    assert context.parse_user_agent(IPHONE).device_type == "mobile"
    ipad = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
    assert context.parse_user_agent(ipad).device_type == "tablet"
    assert context.parse_user_agent("Googlebot/2.1 (+http://www.google.com/bot.html)").device_type == "bot"
