"""Property-based fuzzing of the tracking API: 1,100 generated requests.

Hypothesis builds requests from near-valid Segment calls (spec events,
ISO timestamps, real ids) mutated with wrong types, missing ids, junk event
names, far-off timestamps, injection strings, oversized and non-JSON bodies.
Properties: no answer is a 5xx, and every event that went in is accounted
for: stored (new or a duplicate of a stored one) or quarantined.
"""

from __future__ import annotations

import json
import uuid

import httpx
import orjson
import pytest
from collect_fixtures import auth, collector_settings, running_collector
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tailor.config import Settings
from tailor.db.connect import connect

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EXAMPLES = 1100
TYPES = ["identify", "track", "page", "screen", "alias", "group"]

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
injection = st.sampled_from(["'; drop table web_events; --", "<script>alert(1)</script>", "${jndi:ldap://x}",
                             "\u202e\ufeff", "../../etc/passwd", "%00", "\\u0000", "Robert'); --"])
ids = st.one_of(st.uuids().map(str), st.integers(min_value=1, max_value=10**6), injection, st.text(max_size=300), junk)
timestamps = st.one_of(st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(lambda d: d.isoformat()),
                       st.just("2999-01-01T00:00:00Z"), st.just("1970-01-01T00:00:00Z"), st.text(max_size=30), junk)
events = st.one_of(st.sampled_from(["Product Viewed", "Product Added", "Order Completed", "Checkout Started"]),
                   injection, st.text(max_size=40), junk)
contexts = st.one_of(st.fixed_dictionaries({}, optional={
    "userAgent": st.one_of(st.just("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile"), st.text(max_size=50)),
    "timezone": st.one_of(st.just("Europe/Berlin"), st.text(max_size=20)),
    "locale": st.one_of(st.just("de-DE"), st.text(max_size=10)),
    "page": st.one_of(st.fixed_dictionaries({"url": st.text(max_size=50)}), junk),
    "location": junk,
}), junk)


@st.composite
def calls(draw, kind=None):
    """One Segment call: usually valid ids/messageId, every field possibly wrong."""
    call: dict = {}
    if kind is None:
        call["type"] = draw(st.one_of(*[st.sampled_from(TYPES)] * 4, junk))
    if draw(st.integers(0, 9)) > 0:
        call["messageId"] = draw(st.one_of(st.uuids().map(str), st.uuids().map(str), junk))
    for field, strategy in (("userId", ids), ("anonymousId", ids), ("event", events), ("timestamp", timestamps),
                            ("sentAt", timestamps), ("context", contexts), ("name", st.text(max_size=20)),
                            ("previousId", ids), ("groupId", ids),
                            ("properties", st.one_of(st.dictionaries(st.text(max_size=10), junk, max_size=4), junk)),
                            ("traits", st.one_of(st.dictionaries(st.text(max_size=10), junk, max_size=4), junk))):
        if draw(st.integers(0, 3)) == 0:  # each field present, possibly wrong, a quarter of the time
            call[field] = draw(strategy)
    if draw(st.integers(0, 2)) > 0:
        call["userId"] = str(uuid.uuid4())
    if call.get("type", kind) == "track" and draw(st.booleans()):
        call["event"] = draw(st.sampled_from(["Product Viewed", "Product Added", "Order Completed"]))
    return call


@st.composite
def requests(draw):
    """(path, body bytes, events in it) — a body that is not a batch counts as one."""
    shape = draw(st.integers(0, 9))
    if shape <= 4:
        kind = draw(st.sampled_from(TYPES))
        return f"/v1/{kind}", json.dumps(draw(calls(kind))).encode(), 1
    if shape <= 7:
        batch = draw(st.lists(calls(), min_size=1, max_size=6))
        path = draw(st.sampled_from(["/v1/batch", "/v1/import"]))
        return path, json.dumps({"batch": batch, "sentAt": draw(timestamps)}).encode(), len(batch)
    if shape == 8:
        return draw(st.sampled_from(["/v1/track", "/v1/batch"])), draw(st.binary(max_size=200)), 1
    payload = {"userId": "1", "event": "Product Viewed", "properties": {"blob": "x" * draw(st.integers(33_000, 60_000))}}
    return "/v1/track", json.dumps(payload).encode(), 1


def test_fuzzed_requests_are_stored_or_quarantined(fresh_db: Settings) -> None:
    config = collector_settings(fresh_db)
    tally = {"requests": 0, "events": 0, "duplicates": 0, "accepted": 0, "quarantined": 0, "withheld": 0,
             "statuses": {}}
    with running_collector(config) as url, httpx.Client(base_url=url, auth=auth(), timeout=30) as client:

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(requests())
        def one(request) -> None:
            path, body, n_events = request
            try:
                orjson.loads(body)
            except orjson.JSONDecodeError:
                n_events = 1  # e.g. Infinity/NaN from json.dumps: not JSON, one quarantined request
            response = client.post(path, content=body)
            tally["requests"] += 1
            tally["statuses"][response.status_code] = tally["statuses"].get(response.status_code, 0) + 1
            assert response.status_code < 500, (path, body[:300], response.text)
            assert response.status_code in (200, 400), response.text
            answer = response.json()
            tally["events"] += n_events
            for key in ("accepted", "duplicates", "quarantined", "withheld"):
                tally[key] += answer[key]
            assert answer["accepted"] + answer["duplicates"] + answer["quarantined"] + answer["withheld"] == n_events

        one()
    with connect("shop", fresh_db) as conn:
        stored = conn.execute("select count(*) from web_events").fetchone()[0]
        quarantined = conn.execute("select count(*) from collect_quarantine").fetchone()[0]
    assert tally["requests"] >= 1000, tally
    assert tally["withheld"] == 0
    assert stored == tally["accepted"] and quarantined == tally["quarantined"], tally
    assert tally["events"] == stored + tally["duplicates"] + quarantined, tally
    assert tally["accepted"] > 50 and quarantined > 500, tally  # both paths were exercised
    print("fuzz tally:", tally)
