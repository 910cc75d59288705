"""The file-backed weather provider, provider selection and the bundled sample."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from tailor.config import load_settings
from tailor.enrich import weather, weather_sample
from tailor.source import vocab

HEADER = "country,city,date,temperature_c,precipitation_mm,condition\n"


def provider_for(tmp_path, body: str) -> weather.FileWeatherProvider:
    path = tmp_path / "obs.csv"
    path.write_text(HEADER + body)
    return weather.FileWeatherProvider(path)


def test_rows_parse_and_filter_by_location_and_date(tmp_path):
    provider = provider_for(tmp_path, (
        "DE,Berlin,2024-06-29,18.44,0,clear\n"
        "de, berlin ,2024-06-30,19.0,2.5,Rain\n"      # location compared case/space-insensitively
        "DE,Hamburg,2024-06-30,17.0,0,cloudy\n"
        "DE,Berlin,2024-07-01,20.0,0,clear\n"
    ))
    found = provider.observations([("DE", "BERLIN")], [date(2024, 6, 29), date(2024, 6, 30)])
    assert [(o.city, o.observed_on, o.temperature_c, o.condition) for o in found] == [
        ("Berlin", date(2024, 6, 29), Decimal("18.4"), "clear"),
        ("berlin", date(2024, 6, 30), Decimal("19.0"), "rain"),
    ]
    assert provider.rejected == []


def test_bad_rows_are_kept_with_a_reason_not_raised(tmp_path):
    provider = provider_for(tmp_path, (
        "DE,Berlin,2024-06-30,19,0,clear\n"
        "DEU,Berlin,2024-06-30,19,0,clear\n"
        "DE,,2024-06-30,19,0,clear\n"
        "DE,Berlin,30.06.2024,19,0,clear\n"
        "DE,Berlin,2024-06-29,warm,0,clear\n"
        "DE,Berlin,2024-06-28,75,0,clear\n"
        "DE,Berlin,2024-06-27,10,-1,rain\n"
        "DE,BERLIN,2024-06-30,18,0,clear\n"
        "DE,Berlin,2024-06-26,,,\n"                     # empty measurements are unknown, not bad
    ))
    found = provider.observations([("DE", "Berlin")], [date(2024, 6, d) for d in range(20, 31)])
    assert [o.observed_on.day for o in found] == [30, 26]
    assert found[1].temperature_c is None and found[1].condition is None
    assert [(r.line_number, r.reason) for r in provider.rejected] == [
        (3, "bad country"), (4, "bad city"), (5, "bad date"), (6, "bad temperature_c"),
        (7, "implausible temperature_c"), (8, "implausible precipitation_mm"), (9, "duplicate observation"),
    ]
    assert "line 2" in provider.rejected[-1].detail


def test_a_file_without_the_expected_columns_is_an_error(tmp_path):
    path = tmp_path / "obs.csv"
    path.write_text("city,date,temp\nBerlin,2024-06-30,19\n")
    with pytest.raises(weather.WeatherError, match="missing column"):
        weather.FileWeatherProvider(path).observations([("DE", "Berlin")], [date(2024, 6, 30)])
    with pytest.raises(weather.WeatherError, match="does not exist"):
        weather.FileWeatherProvider(tmp_path / "nope.csv").observations([], [])


def test_provider_comes_from_settings(tmp_path, monkeypatch):
    settings = load_settings()
    assert weather.provider_from_settings(replace(settings, weather_provider=None)).path == weather.SAMPLE_FILE
    chosen = weather.provider_from_settings(replace(settings, weather_provider=f"file:{tmp_path}/x.csv"))
    assert chosen.path == tmp_path / "x.csv"
    assert chosen.name == "file:x.csv"
    with pytest.raises(weather.WeatherError, match="TAILOR_WEATHER_PROVIDER"):
        weather.provider_from_settings(replace(settings, weather_provider="http://api.example"))
    monkeypatch.setenv("TAILOR_WEATHER_PROVIDER", "file:/srv/weather.csv")
    assert load_settings().weather_provider == "file:/srv/weather.csv"


def test_bundled_sample_covers_every_shop_city_2024_to_2027():
    provider = weather.FileWeatherProvider(weather.SAMPLE_FILE)
    cities = [(c[1], c[0]) for c in vocab.CITIES]
    days = [date(2024, 1, 1), date(2025, 11, 28), date(2027, 12, 31)]
    found = provider.observations(cities, days)
    assert provider.rejected == []
    assert len(found) == len(cities) * len(days)


def test_sample_is_regenerated_identically(tmp_path):
    out = tmp_path / "sample.csv"
    weather_sample.write_sample(out)
    assert out.read_bytes() == weather.SAMPLE_FILE.read_bytes(), (
        "the committed sample differs from the generator: run python -m tailor.enrich.weather_sample")


def test_sample_follows_the_climate_normals():
    # Madrid's July is hot and dry, Helsinki's January freezing: means over four years
    with weather.SAMPLE_FILE.open() as handle:
        rows = list(csv.DictReader(handle))

    def mean(city: str, month: int, column: str) -> float:
        values = [float(r[column]) for r in rows if r["city"] == city and int(r["date"][5:7]) == month]
        return sum(values) / len(values)

    assert 22 < mean("Madrid", 7, "temperature_c") < 28
    assert mean("Madrid", 7, "precipitation_mm") < mean("Madrid", 11, "precipitation_mm")
    assert mean("Helsinki", 1, "temperature_c") < -1
