"""Distribution shapes and determinism of the generator, without a database."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

from tailor.source.activity import Ids, build_activity
from tailor.source.catalog import build_catalog
from tailor.source.clock import DAY, Calendar
from tailor.source.people import build_people

END = 1_719_705_600  # 2024-06-30 00:00 UTC
START = END - 180 * DAY


def frames(seed: int, n: int = 6000) -> dict:
    cal = Calendar(START - 800 * DAY, END + 2 * DAY)
    catalog = build_catalog(START - 730 * DAY)
    people_rng, activity_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    people, devices, tables, consents = build_people(
        people_rng, cal, catalog, n, START, END,
        first_customer_id=1, first_person_key=1, history_days=730, share_before=0.35,
    )
    activity, _ = build_activity(activity_rng, cal, catalog, people, devices, START, END, Ids())
    tables.update(activity)
    tables["_consents"] = consents.table(1)
    return tables


@pytest.fixture(scope="module")
def shop() -> dict:
    return frames(42)


def test_purchase_frequency_is_heavy_tailed(shop: dict) -> None:
    orders = shop["orders"].to_pandas()
    per_customer = orders.dropna(subset=["customer_id"]).groupby("customer_id").size()
    counts = per_customer.reindex(shop["customers"]["customer_id"].to_numpy(), fill_value=0)
    assert (counts <= 1).mean() > 0.75, "most people buy at most once in half a year"
    assert counts.max() >= 5, "a few people buy often"
    assert counts.quantile(0.99) >= 3


def test_cart_abandonment_about_seventy_percent(shop: dict) -> None:
    status = shop["carts"]["status"].to_pandas()
    abandoned = status.isin(["abandoned", "open"]).mean()
    assert 0.65 <= abandoned <= 0.75
    assert set(status) == {"open", "abandoned", "converted"}


def test_duplicates_dirt_and_truth(shop: dict) -> None:
    truth = shop["truth.customer_persons"].to_pandas()
    records_per_person = truth.groupby("person_key").size()
    share = (records_per_person > 1).mean()
    assert 0.05 <= share <= 0.08
    emails = shop["customers"]["email"]
    stripped = pc.utf8_trim_whitespace(emails)
    assert pc.sum(pc.not_equal(emails, stripped)).as_py() > 0, "some emails carry whitespace"
    assert pc.sum(pc.not_equal(stripped, pc.utf8_lower(stripped))).as_py() > 0, "some emails are mixed case"
    invalid = pc.invert(pc.match_substring_regex(stripped, r"^[^@\s,]+@[^@\s,]+\.[A-Za-z]+$")).to_numpy(zero_copy_only=False)
    assert 0.005 <= invalid.mean() <= 0.03
    assert shop["customers"]["birth_date"].null_count > 0
    assert shop["orders"]["customer_id"].null_count > 0, "guest checkouts exist"


def test_email_marketing_consent_majority(shop: dict) -> None:
    consents = shop["_consents"].to_pandas()
    latest = consents[consents.purpose == "email_marketing"].sort_values("recorded_at").groupby("customer_id").last()
    granted = (latest.status == "granted").mean()
    assert 0.6 <= granted <= 0.75


def test_evening_local_hours_dominate(shop: dict) -> None:
    orders = shop["orders"].to_pandas()
    hours = orders.ordered_at.dt.tz_convert("Europe/Berlin").dt.hour
    assert hours.between(17, 22).mean() > hours.between(1, 6).mean() * 5


def test_same_seed_same_frames_different_seed_different() -> None:
    a, b, c = frames(7, 1500), frames(7, 1500), frames(8, 1500)
    for name in ("customers", "orders", "web_events", "email_events"):
        assert a[name].equals(b[name]), f"{name} differs for the same seed"
    assert not a["customers"].equals(c["customers"])
    assert not a["orders"].equals(c["orders"])
