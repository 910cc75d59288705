"""Daily weather at customers' locations, from a pluggable provider.

A provider answers one question, :meth:`WeatherProvider.observations`: the
daily weather for some (country, city) locations on some dates. The only
implementation shipped is :class:`FileWeatherProvider`, which reads a CSV
export (``country,city,date,temperature_c,precipitation_mm,condition``):
offline, deterministic, enough for the demo and tests. By default it reads
the bundled sample (``data/weather_sample.csv``, synthetic values from
monthly climate normals, see :mod:`tailor.enrich.weather_sample`); in
production point ``TAILOR_WEATHER_PROVIDER=file:/path/to/export.csv`` at a
real provider's daily export, or add a provider class and a scheme for it
in :func:`provider_from_settings`.

:func:`load_weather` upserts the observations for every known customer
location into ``enrich.weather_observations``; dbt
(``int_persons_weather``) picks each person's as-of-date observation.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from tailor.config import Settings, get_settings
from tailor.db.connect import connect

SAMPLE_FILE = Path(__file__).with_name("data") / "weather_sample.csv"
COLUMNS = ("country", "city", "date", "temperature_c", "precipitation_mm", "condition")
# Days before the as-of date loaded with it: int_persons_weather falls back
# to the nearest earlier observation (var weather_max_age_days, <= this).
LOOKBACK_DAYS = 7
# The staging view over what load_weather writes: the transform DAG runs the
# models reading it after the load, the rest of the build without waiting.
OUTPUT_MODEL = "model.tailor.stg_enrich__weather_observations"
MAX_CITY = 100
MAX_CONDITION = 32

Location = tuple[str, str]  # (country ISO alpha-2, city)


def location_key(country: str, city: str) -> Location:
    """How locations are compared: country upper-cased, city trimmed and lower-cased (as in dbt)."""
    return country.strip().upper(), city.strip().lower()


@dataclass(frozen=True)
class Observation:
    country: str
    city: str
    observed_on: date
    temperature_c: Decimal | None
    precipitation_mm: Decimal | None
    condition: str | None


@dataclass(frozen=True)
class Rejected:
    """A provider row that could not be read, and why."""

    line_number: int
    reason: str
    detail: str
    raw_row: dict[str, Any]


class WeatherProvider(Protocol):
    """Where weather comes from; ``name`` is recorded with every observation."""

    name: str

    def observations(self, locations: Iterable[Location], dates: Iterable[date]) -> list[Observation]:
        """Daily observations for these locations (compared by :func:`location_key`) on these dates."""
        ...


class WeatherError(ValueError):
    """The provider cannot be used as configured (unknown scheme, missing file, bad header)."""


class FileWeatherProvider:
    """Observations from a CSV file (optionally ``.gz``), e.g. a provider's daily export.

    Rows that cannot be read are kept in :attr:`rejected` with a reason
    rather than raised: one bad line must not stop every other location.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.name = f"file:{self.path.name}"
        self.rejected: list[Rejected] = []

    def _lines(self) -> Iterator[dict[str, str]]:
        if not self.path.exists():
            raise WeatherError(f"weather file {self.path} does not exist; check TAILOR_WEATHER_PROVIDER")
        opener = gzip.open if self.path.suffix == ".gz" else open
        with opener(self.path, "rt", encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise WeatherError(f"{self.path}: missing column(s) {', '.join(missing)}; "
                                   f"expected {','.join(COLUMNS)}")
            reader.fieldnames = header
            yield from reader

    def read(self) -> Iterator[tuple[int, Observation]]:
        """Every readable row with its line number; unreadable ones go to :attr:`rejected`."""
        self.rejected = []
        seen: dict[tuple[str, str, date], int] = {}
        for line, row in enumerate(self._lines(), start=2):
            try:
                observation = parse_row(row)
            except ValueError as exc:
                reason, _, detail = str(exc).partition(": ")
                self.rejected.append(Rejected(line, reason, detail, _raw(row)))
                continue
            key = (*location_key(observation.country, observation.city), observation.observed_on)
            if key in seen:
                self.rejected.append(Rejected(line, "duplicate observation",
                                              f"{observation.city}, {observation.country} on "
                                              f"{observation.observed_on} is already on line {seen[key]}", _raw(row)))
                continue
            seen[key] = line
            yield line, observation

    def observations(self, locations: Iterable[Location], dates: Iterable[date]) -> list[Observation]:
        wanted = {location_key(*loc) for loc in locations}
        days = set(dates)
        return [o for _, o in self.read()
                if o.observed_on in days and location_key(o.country, o.city) in wanted]


def _raw(row: dict[str, Any]) -> dict[str, Any]:
    return {str(k): (v[:200] if isinstance(v, str) else v) for k, v in row.items()}


def _number(value: str, column: str, low: float, high: float) -> Decimal | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"bad {column}: '{text}' is not a number") from None
    if not number.is_finite() or not low <= number <= high:
        raise ValueError(f"implausible {column}: {text} is outside {low:g}..{high:g}")
    return round(number, 1)


def parse_row(row: dict[str, str | None]) -> Observation:
    """One CSV row as an :class:`Observation`; ``ValueError('<reason>: <detail>')`` if it is not one."""
    country = (row.get("country") or "").strip().upper()
    city = (row.get("city") or "").strip()
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        raise ValueError(f"bad country: '{country}' is not an ISO 3166-1 alpha-2 code")
    if not city or len(city) > MAX_CITY:
        raise ValueError(f"bad city: '{city[:MAX_CITY]}' is empty or longer than {MAX_CITY} characters")
    text = (row.get("date") or "").strip()
    try:
        observed_on = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"bad date: '{text}' is not YYYY-MM-DD") from None
    condition = (row.get("condition") or "").strip().lower() or None
    if condition and len(condition) > MAX_CONDITION:
        raise ValueError(f"bad condition: longer than {MAX_CONDITION} characters")
    return Observation(
        country=country, city=city, observed_on=observed_on,
        temperature_c=_number(row.get("temperature_c") or "", "temperature_c", -90, 60),
        precipitation_mm=_number(row.get("precipitation_mm") or "", "precipitation_mm", 0, 2000),
        condition=condition,
    )


def provider_from_settings(settings: Settings | None = None) -> WeatherProvider:
    """The provider ``TAILOR_WEATHER_PROVIDER`` names (``file:/path.csv``); default the bundled sample."""
    settings = settings or get_settings()
    spec = (settings.weather_provider or "").strip()
    if not spec:
        return FileWeatherProvider(SAMPLE_FILE)
    scheme, _, target = spec.partition(":")
    if scheme == "file" and target:
        return FileWeatherProvider(Path(target).expanduser())
    raise WeatherError(f"TAILOR_WEATHER_PROVIDER={spec!r}: use 'file:/path/to/observations.csv' "
                       "(or leave it unset for the bundled sample)")


@dataclass
class WeatherSummary:
    """What a load did, for the CLI and the Airflow task log."""

    provider: str
    as_of: date
    first_day: date
    locations: int = 0
    observations: int = 0
    missing_locations: list[str] = field(default_factory=list)  # no observation at all in the window
    rejected: int = 0

    def line(self) -> str:
        text = (f"{self.observations:,} observations for {self.locations:,} locations, "
                f"{self.first_day} .. {self.as_of} (provider {self.provider})")
        if self.missing_locations:
            shown = ", ".join(self.missing_locations[:5]) + (" …" if len(self.missing_locations) > 5 else "")
            text += f"; no data for {len(self.missing_locations)} location(s): {shown}"
        if self.rejected:
            text += f"; {self.rejected} unreadable provider row(s) in enrich.weather_quarantine"
        return text

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"], data["first_day"] = str(self.as_of), str(self.first_day)
        return data


def customer_locations(settings: Settings | None = None) -> list[Location]:
    """Distinct (country, city) of known customers, from the warehouse's staging."""
    import psycopg

    try:
        with connect("warehouse", settings) as conn:
            rows = conn.execute(
                "select distinct country, city from staging.stg_shop__customers "
                "where country is not null and city is not null order by 1, 2"
            ).fetchall()
    except psycopg.errors.UndefinedTable:
        raise WeatherError("staging.stg_shop__customers is not built yet: run 'tailor dbt build -s staging' "
                           "before loading weather") from None
    return [(country, city) for country, city in rows]


def load_weather(
    as_of: date,
    settings: Settings | None = None,
    provider: WeatherProvider | None = None,
    lookback_days: int = LOOKBACK_DAYS,
) -> WeatherSummary:
    """Upsert observations for known customer locations, ``as_of - lookback_days`` .. ``as_of``."""
    provider = provider or provider_from_settings(settings)
    first = as_of - timedelta(days=lookback_days)
    summary = WeatherSummary(provider=provider.name, as_of=as_of, first_day=first)
    locations = customer_locations(settings)
    summary.locations = len(locations)
    dates = [first + timedelta(days=i) for i in range(lookback_days + 1)]
    found = provider.observations(locations, dates) if locations else []
    covered = {location_key(o.country, o.city) for o in found}
    summary.missing_locations = [f"{city}, {country}" for country, city in locations
                                 if location_key(country, city) not in covered]
    summary.observations = len(found)
    rejected: list[Rejected] = getattr(provider, "rejected", [])
    summary.rejected = len(rejected)
    with connect("warehouse", settings) as conn, conn.cursor() as cur:
        cur.executemany(
            """
            insert into enrich.weather_observations
                (country, city, observed_on, temperature_c, precipitation_mm, condition, provider)
            values (%s, %s, %s, %s, %s, %s, %s)
            on conflict (country, city, observed_on) do update set
                temperature_c = excluded.temperature_c,
                precipitation_mm = excluded.precipitation_mm,
                condition = excluded.condition,
                provider = excluded.provider,
                loaded_at = clock_timestamp()
            """,
            [(o.country, o.city, o.observed_on, o.temperature_c, o.precipitation_mm, o.condition, provider.name)
             for o in found],
        )
        cur.execute("delete from enrich.weather_quarantine where provider = %s", (provider.name,))
        cur.executemany(
            "insert into enrich.weather_quarantine (provider, line_number, reason, detail, raw_row) "
            "values (%s, %s, %s, %s, %s::jsonb)",
            [(provider.name, r.line_number, r.reason, r.detail, json.dumps(r.raw_row, default=str))
             for r in rejected],
        )
    return summary
