"""int_persons_enrichment and int_persons_weather on the hand-made CDC fixture.

On top of tests/fixtures/raw_cdc_events.sql (as of 2024-06-30): enrichment
consent decisions, a customer without a location, two vendor deliveries and
a small weather file. Who gets what:

| person        | enrichment consent at as_of          | vendor row? | location  | weather          |
|---------------|--------------------------------------|-------------|-----------|------------------|
| Alice  p_1    | granted 2024-01-01 (record 1)        | yes         | Hamburg   | observed 06-30   |
| Carol  p_3    | granted on her guest record 4        | yes         | Paris     | 06-28, 2 days    |
| Erin   p_6    | granted, withdrawn 2024-06-01        | no          | Dublin    | 06-20: too old   |
| Frank  p_7    | none                                 | no          | Zurich    | none in file     |
| Grace  p_8    | granted 2024-07-15 (after as_of)     | no          | Madrid    | only 07-01: none |
| Ivan   p_10   | granted                              | no delivery | —         | no_location      |
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fixtures.warehouse_build import AS_OF, load_raw_fixture, reset_warehouse

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.enrich import keys
from tailor.enrich.importer import import_delivery
from tailor.enrich.weather import FileWeatherProvider, load_weather
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration

MODELS = "+int_persons_enrichment +int_persons_weather"
LSN = iter(range(900_000, 901_000))


def consent(consent_id: int, customer_id: int, status: str, at: str) -> tuple:
    record = {"consent_id": consent_id, "customer_id": customer_id, "purpose": "enrichment", "status": status,
              "source": "preference_center", "recorded_at": at}
    return ("consents", "c", json.dumps({"consent_id": consent_id}), json.dumps(record), next(LSN), at)


def land(settings: Settings, changes: list[tuple]) -> None:
    with connect("warehouse", settings) as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into raw.cdc_events (source_table, op, pk, before, after, source_lsn, tx_id, source_ts, "
            "captured_at) values (%s, %s, %s::jsonb, null, %s::jsonb, %s, 1, %s, %s)",
            [(t, op, pk, after, lsn, at, at) for t, op, pk, after, lsn, at in changes],
        )


def build(settings: Settings, select: str = MODELS) -> None:
    result = run_dbt(["build", "--select", select, "--indirect-selection", "cautious"],
                     vars={"as_of": AS_OF}, settings=settings)
    assert result.success, result.summary()


def rows(settings: Settings, query: str, *params) -> list[tuple]:
    with connect("warehouse", settings) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def built(pg: Settings, tmp_path_factory) -> Iterator[Settings]:
    tmp = tmp_path_factory.mktemp("enrich")
    reset_warehouse(pg)
    with connect("warehouse", pg) as conn:
        conn.execute("truncate enrich.vendor_attributes, enrich.import_quarantine, enrich.import_runs, "
                     "enrich.weather_observations, enrich.weather_quarantine")
    load_raw_fixture(pg)
    ivan = {"customer_id": 10, "email": "ivan@example.com", "first_name": "Ivan", "last_name": "Ito",
            "birth_date": None, "gender": None, "phone": None, "city": None, "postcode": None, "country": None,
            "timezone": None, "income_band": None, "is_guest": False,
            "created_at": "2024-03-01T00:00:00Z", "updated_at": "2024-03-01T00:00:00Z"}
    land(pg, [
        ("customers", "c", json.dumps({"customer_id": 10}), json.dumps(ivan), next(LSN), "2024-03-01T00:00:00Z"),
        consent(101, 1, "granted", "2024-01-01T00:00:00Z"),
        consent(102, 4, "granted", "2024-04-15T00:00:00Z"),
        consent(103, 6, "granted", "2024-01-01T00:00:00Z"),
        consent(104, 6, "withdrawn", "2024-06-01T00:00:00Z"),
        consent(105, 8, "granted", "2024-07-15T00:00:00Z"),
        consent(106, 10, "granted", "2024-03-01T00:00:00Z"),
    ])
    result = run_dbt(["run", "--select", "path:models/staging"], settings=pg)
    assert result.success, result.summary()

    # vendor A (hashed keys, May): everyone; vendor B (emails, June): Alice only, newer income band
    (tmp / "a.csv").write_text("email_sha256,income_band,household_size,home_owner,interests,segment,score\n" + "".join(
        f"{keys.email_sha256(e)},{band},{size},yes,{interests},{seg},{score}\n" for e, band, size, interests, seg, score in [
            ("alice@example.com", "low", 3, "running|books", "A1", 10),
            ("carol@example.com", "high", 2, "garden", "C1", 30),
            ("erin@example.com", "low", 1, "", "E1", 50),
            ("frank@example.com", "low", 4, "", "F1", 60),
            ("grace@example.com", "low", 2, "", "G1", 70),
        ]))
    (tmp / "b.csv").write_text("email,income_band,household_size,segment\nALICE@example.com,upper_middle,,B9\n")
    import_delivery(tmp / "a.csv", "vendor_a", settings=pg, now=datetime(2024, 5, 1, tzinfo=UTC))
    import_delivery(tmp / "b.csv", "vendor_b", settings=pg, now=datetime(2024, 6, 1, tzinfo=UTC))

    (tmp / "weather.csv").write_text(
        "country,city,date,temperature_c,precipitation_mm,condition\n"
        "DE,Hamburg,2024-06-29,15.0,0,clear\n"
        "DE,hamburg,2024-06-30,16.5,1.2,rain\n"
        "FR,Paris,2024-06-28,22.0,0,clear\n"
        "IE,Dublin,2024-06-20,14.0,3.0,rain\n"
        "ES,Madrid,2024-07-01,30.0,0,clear\n"
        "FR,Paris,2024-06-30,not-a-number,0,clear\n"
    )
    provider = FileWeatherProvider(tmp / "weather.csv")
    loaded = load_weather(date(2024, 6, 30), settings=pg, provider=provider, lookback_days=10)
    assert loaded.observations == 4 and loaded.rejected == 1
    # idempotent: the same load again leaves the same rows
    load_weather(date(2024, 6, 30), settings=pg, provider=provider, lookback_days=10)
    assert rows(pg, "select count(*) from enrich.weather_observations") == [(4,)]
    assert rows(pg, "select line_number, reason from enrich.weather_quarantine") == [(7, "bad temperature_c")]
    build(pg)
    yield pg


def person_enrichment(settings: Settings) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in rows(settings, """
        select person_id, vendor_income_band, vendor_household_size, vendor_home_owner, vendor_interests,
               vendor_extra_attributes, vendors, matched_records
        from intermediate.int_persons_enrichment""")}


def test_only_people_with_enrichment_consent_as_of_the_run_get_vendor_data(built):
    enriched = person_enrichment(built)
    # Erin withdrew, Frank never consented, Grace consented after as_of, Ivan has no delivery
    assert sorted(enriched) == ["p_1", "p_3"]


def test_latest_delivery_wins_per_attribute(built):
    alice = person_enrichment(built)["p_1"]
    # income band and segment from vendor_b (June); household size, owner, interests, score only vendor_a has
    assert alice == ("upper_middle", 3, True, ["running", "books"], {"segment": "B9", "score": "10"},
                     ["vendor_a", "vendor_b"], 1)


def test_consent_on_any_record_of_the_person_counts(built):
    carol = person_enrichment(built)["p_3"]
    # consent given on her guest record 4; the delivered key matches both records' address
    assert carol[:2] == ("high", 2)
    assert carol[-1] == 2


def test_weather_is_the_as_of_day_or_the_nearest_earlier_within_the_window(built):
    weather = {r[0]: r[1:] for r in rows(built, """
        select person_id, city, observed_on, observation_age_days, temperature_c, condition, weather_status,
               weather_provider
        from intermediate.int_persons_weather""")}
    assert weather["p_1"] == ("Hamburg", date(2024, 6, 30), 0, 16.5, "rain", "observed", "file:weather.csv")
    assert weather["p_3"][:4] == ("Paris", date(2024, 6, 28), 2, 22.0)
    assert weather["p_3"][5] == "nearest_earlier"
    assert weather["p_6"][5] == "no_observation", "Dublin's 06-20 is older than weather_max_age_days"
    assert weather["p_7"][5] == "no_observation"
    assert weather["p_8"][5] == "no_observation", "an observation after as_of is never used"
    assert weather["p_10"] == (None, None, None, None, None, "no_location", None)
    assert len(weather) == rows(built, "select count(distinct person_id) from intermediate.int_customers_resolved")[0][0]


def test_withdrawing_consent_removes_the_row_on_the_next_build(built):
    land(built, [consent(107, 1, "withdrawn", "2024-06-15T00:00:00Z")])
    build(built, "stg_shop__consents int_persons_enrichment")
    assert sorted(person_enrichment(built)) == ["p_3"]
