"""Generate the bundled offline weather sample (``data/weather_sample.csv``).

Synthetic, deterministic daily weather for every city the synthetic shop
uses (:data:`tailor.source.vocab.CITIES`), derived from rounded monthly
climate normals (mean temperature, precipitation; approximately the
1991-2020 normals): temperature is the normal interpolated between
mid-months plus an autocorrelated daily anomaly; a day is wet with a
probability that grows with the month's precipitation, and a wet day's
amount is exponential around the month's mean. Plausible, never real: the
demo and tests need weather that looks like weather, not forecasts.
Production points ``TAILOR_WEATHER_PROVIDER`` at a real provider's export.

Regenerate (same output every time)::

    python -m tailor.enrich.weather_sample [--start 2024-01-01] [--end 2027-12-31]
"""

from __future__ import annotations

import argparse
import calendar
import csv
import math
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from tailor.enrich.weather import COLUMNS, SAMPLE_FILE
from tailor.source.vocab import CITIES

START, END = date(2024, 1, 1), date(2027, 12, 31)

# city -> (mean temperature °C per month, precipitation mm per month), Jan..Dec.
NORMALS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "Berlin": ((0.6, 1.4, 4.8, 9.6, 14.4, 17.5, 19.6, 19.1, 15.0, 10.0, 5.0, 1.6),
               (43, 35, 41, 33, 53, 63, 71, 58, 42, 37, 44, 52)),
    "Hamburg": ((1.5, 2.0, 4.6, 8.7, 13.0, 15.9, 18.1, 17.7, 14.2, 9.9, 5.7, 2.5),
                (67, 51, 62, 44, 57, 72, 80, 76, 66, 63, 66, 71)),
    "München": ((-0.5, 0.9, 4.6, 8.9, 13.2, 16.5, 18.4, 17.9, 14.1, 9.3, 4.3, 0.8),
                (52, 48, 62, 71, 108, 139, 139, 121, 83, 66, 62, 57)),
    "Köln": ((2.6, 3.3, 6.4, 10.0, 14.2, 17.1, 19.0, 18.5, 15.0, 10.9, 6.5, 3.5),
             (62, 53, 65, 50, 73, 87, 86, 76, 66, 64, 68, 73)),
    "Frankfurt am Main": ((1.1, 2.0, 5.7, 9.8, 14.3, 17.5, 19.6, 19.0, 15.1, 10.3, 5.6, 2.3),
                          (45, 40, 51, 41, 68, 65, 68, 55, 50, 55, 56, 60)),
    "Leipzig": ((0.5, 1.3, 4.8, 9.4, 14.3, 17.3, 19.5, 19.0, 14.8, 9.9, 5.0, 1.6),
                (37, 31, 41, 36, 51, 58, 69, 60, 49, 37, 41, 42)),
    "Stuttgart": ((1.0, 2.1, 5.7, 9.3, 13.8, 17.0, 19.1, 18.7, 14.9, 10.2, 5.2, 2.1),
                  (40, 37, 45, 51, 85, 90, 78, 70, 52, 47, 51, 48)),
    "Wien": ((0.3, 1.5, 5.7, 10.7, 15.7, 18.7, 20.8, 20.3, 15.7, 10.5, 5.0, 1.4),
             (37, 39, 46, 52, 62, 70, 68, 58, 54, 40, 50, 44)),
    "Graz": ((-1.0, 0.9, 5.2, 10.0, 14.8, 18.0, 19.9, 19.3, 14.8, 9.5, 4.0, 0.0),
             (23, 32, 45, 57, 88, 117, 127, 107, 84, 64, 50, 35)),
    "Zürich": ((0.3, 1.3, 5.3, 8.8, 13.3, 16.5, 18.6, 18.1, 14.3, 9.9, 4.6, 1.4),
               (67, 70, 69, 86, 107, 125, 118, 123, 92, 76, 80, 78)),
    "Paris": ((5.0, 5.6, 8.8, 11.6, 15.2, 18.6, 20.8, 20.5, 16.9, 13.0, 8.4, 5.6),
              (51, 41, 48, 52, 63, 50, 63, 54, 47, 62, 51, 59)),
    "Lyon": ((3.5, 4.8, 8.6, 11.6, 15.7, 19.6, 22.2, 21.6, 17.5, 13.2, 7.8, 4.4),
             (47, 44, 51, 75, 87, 73, 66, 62, 88, 103, 83, 53)),
    "Marseille": ((7.5, 8.4, 11.2, 13.8, 17.8, 21.9, 24.8, 24.4, 20.7, 16.8, 11.6, 8.3),
                  (48, 32, 30, 55, 42, 25, 9, 24, 77, 81, 63, 38)),
    "Toulouse": ((6.0, 7.1, 10.2, 12.5, 16.4, 20.2, 22.7, 22.7, 19.4, 15.4, 9.8, 6.8),
                 (51, 42, 49, 70, 72, 58, 38, 44, 50, 55, 49, 54)),
    "Amsterdam": ((3.4, 3.6, 6.2, 9.2, 13.0, 15.6, 17.9, 17.6, 14.8, 11.0, 7.0, 4.2),
                  (69, 56, 60, 41, 55, 66, 77, 88, 82, 86, 83, 79)),
    "Rotterdam": ((3.6, 3.8, 6.4, 9.3, 13.1, 15.7, 18.0, 17.8, 14.9, 11.1, 7.2, 4.4),
                  (68, 55, 60, 42, 55, 63, 73, 84, 81, 85, 82, 78)),
    "Utrecht": ((3.0, 3.3, 6.2, 9.4, 13.4, 16.0, 18.2, 17.8, 14.7, 10.8, 6.8, 3.9),
                (70, 57, 62, 42, 57, 67, 77, 80, 78, 79, 77, 77)),
    "Bruxelles": ((3.3, 3.7, 6.8, 9.8, 13.6, 16.2, 18.4, 18.0, 14.9, 11.1, 7.0, 3.9),
                  (76, 63, 70, 51, 67, 73, 76, 79, 70, 74, 79, 85)),
    "Antwerpen": ((3.4, 3.8, 6.8, 9.9, 13.7, 16.4, 18.5, 18.1, 15.0, 11.2, 7.1, 4.0),
                  (71, 58, 64, 47, 62, 70, 72, 78, 70, 70, 75, 79)),
    "Madrid": ((6.3, 7.9, 11.2, 12.9, 16.7, 22.2, 25.6, 25.1, 20.9, 15.1, 9.9, 6.9),
               (33, 35, 25, 45, 50, 23, 11, 10, 28, 50, 50, 52)),
    "Barcelona": ((11.1, 11.8, 13.8, 15.6, 18.8, 22.7, 25.6, 26.0, 23.1, 19.7, 15.1, 12.1),
                  (41, 29, 42, 49, 59, 42, 20, 61, 85, 91, 58, 40)),
    "Valencia": ((11.9, 12.7, 14.7, 16.4, 19.4, 23.1, 25.9, 26.4, 23.8, 19.9, 15.4, 12.6),
                 (37, 36, 33, 38, 39, 22, 8, 20, 70, 77, 47, 48)),
    "Roma": ((7.5, 8.5, 11.1, 13.9, 18.1, 22.2, 25.2, 25.2, 21.5, 17.2, 12.2, 8.6),
             (67, 73, 58, 81, 53, 34, 19, 37, 73, 113, 115, 81)),
    "Milano": ((2.5, 4.7, 9.0, 12.9, 17.3, 21.3, 23.8, 23.1, 18.9, 13.4, 7.6, 3.2),
               (59, 55, 69, 78, 96, 67, 56, 81, 82, 100, 100, 65)),
    "Torino": ((2.4, 4.4, 8.7, 12.3, 16.4, 20.6, 23.0, 22.3, 18.2, 12.9, 7.5, 3.3),
               (36, 45, 63, 92, 111, 81, 50, 67, 71, 87, 87, 51)),
    "London": ((5.2, 5.3, 7.6, 9.9, 13.3, 16.5, 18.7, 18.5, 15.7, 12.0, 8.0, 5.5),
               (55, 41, 42, 44, 49, 45, 45, 50, 49, 69, 59, 55)),
    "Manchester": ((4.2, 4.4, 6.2, 8.5, 11.8, 14.5, 16.5, 16.2, 13.8, 10.6, 6.9, 4.6),
                   (80, 60, 63, 55, 58, 67, 71, 80, 76, 97, 94, 93)),
    "Dublin": ((5.3, 5.4, 6.8, 8.5, 11.1, 13.8, 15.6, 15.3, 13.4, 10.8, 7.6, 5.6),
               (63, 48, 51, 51, 58, 60, 56, 73, 59, 76, 72, 71)),
    "København": ((1.4, 1.1, 2.9, 6.8, 11.7, 15.0, 17.6, 17.4, 13.9, 9.8, 5.8, 2.9),
                  (46, 32, 40, 33, 45, 55, 66, 67, 60, 57, 58, 55)),
    "Stockholm": ((-1.6, -1.9, 1.0, 5.5, 10.9, 15.4, 18.2, 16.9, 12.4, 7.3, 3.1, 0.0),
                  (39, 27, 26, 30, 30, 45, 72, 66, 55, 50, 53, 46)),
    "Warszawa": ((-1.8, -0.6, 3.0, 8.9, 14.3, 17.5, 19.7, 18.9, 13.7, 8.5, 3.4, -0.5),
                 (28, 25, 33, 33, 57, 64, 76, 61, 46, 34, 35, 34)),
    "Praha": ((-0.9, 0.3, 4.1, 8.9, 13.9, 17.1, 19.0, 18.5, 14.3, 9.2, 3.9, 0.2),
              (23, 21, 28, 38, 77, 73, 66, 70, 40, 31, 33, 25)),
    "Lisboa": ((11.6, 12.6, 14.9, 16.2, 18.6, 21.6, 23.6, 24.0, 22.5, 19.5, 15.3, 12.8),
               (100, 90, 60, 65, 50, 15, 5, 5, 30, 95, 125, 120)),
    "Helsinki": ((-3.9, -4.7, -1.3, 3.9, 10.2, 14.6, 17.8, 16.3, 11.5, 6.6, 2.0, -1.3),
                 (53, 37, 34, 32, 37, 57, 63, 80, 56, 76, 70, 58)),
    "Istanbul": ((6.6, 6.9, 8.6, 12.2, 16.8, 21.6, 24.1, 24.1, 20.6, 16.4, 11.8, 8.6),
                 (101, 79, 68, 46, 35, 35, 34, 41, 63, 94, 97, 120)),
    "New York": ((0.5, 1.8, 5.6, 11.8, 17.4, 22.6, 25.5, 24.8, 21.0, 14.8, 9.0, 3.5),
                 (92, 80, 110, 104, 100, 103, 117, 113, 102, 100, 91, 103)),
    "Toronto": ((-5.5, -4.5, -0.1, 6.7, 13.1, 18.5, 21.5, 20.6, 16.2, 9.5, 3.6, -2.2),
                (62, 55, 54, 69, 76, 74, 75, 79, 77, 64, 79, 66)),
}

ANOMALY_PERSISTENCE = 0.7  # AR(1) coefficient of the daily temperature anomaly
ANOMALY_SD = 2.0           # °C, innovation of the anomaly
HEAVY_RAIN_MM = 15.0


def normal_temperature(day: date, means: tuple[float, ...]) -> float:
    """The monthly means, linearly interpolated between mid-months (wrapping at the year's end)."""
    days_in_year = 366 if calendar.isleap(day.year) else 365
    position = (day.timetuple().tm_yday - 0.5) / days_in_year * 12 - 0.5
    low = math.floor(position)
    weight = position - low
    return means[low % 12] * (1 - weight) + means[(low + 1) % 12] * weight


def wet_probability(precipitation_mm: float) -> float:
    """Chance of a wet day from the month's total (≈ 0.45 at 50 mm, bounded 0.05..0.7)."""
    return min(0.7, max(0.05, precipitation_mm / 110))


def city_days(city: str, country: str, start: date, end: date) -> Iterator[tuple[object, ...]]:
    """One city's rows, start..end, from a generator seeded by the city alone (stable per city)."""
    means, precipitation = NORMALS[city]
    rng = random.Random(f"tailor-weather:{country}:{city}")
    anomaly = 0.0
    day = start
    while day <= end:
        anomaly = ANOMALY_PERSISTENCE * anomaly + rng.gauss(0, ANOMALY_SD)
        temperature = normal_temperature(day, means) + anomaly
        month_mm = precipitation[day.month - 1]
        p_wet = wet_probability(month_mm)
        days_in_month = calendar.monthrange(day.year, day.month)[1]
        if rng.random() < p_wet:
            amount = max(0.1, rng.expovariate(p_wet * days_in_month / month_mm))
            condition = "snow" if temperature <= 0.5 else ("heavy_rain" if amount >= HEAVY_RAIN_MM else "rain")
        else:
            amount = 0.0
            condition = "clear" if rng.random() < 0.45 else "cloudy"
        yield country, city, day.isoformat(), f"{temperature:.1f}", f"{amount:.1f}", condition
        day += timedelta(days=1)


def write_sample(path: Path = SAMPLE_FILE, start: date = START, end: date = END) -> int:
    """Write the sample for every shop city; returns the number of rows."""
    missing = [name for name, *_ in CITIES if name not in NORMALS]
    if missing:
        raise ValueError(f"no climate normals for {', '.join(missing)}: add them to NORMALS")
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for name, country, *_ in CITIES:
            for row in city_days(name, country, start, end):
                writer.writerow(row)
                rows += 1
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=SAMPLE_FILE)
    parser.add_argument("--start", type=date.fromisoformat, default=START)
    parser.add_argument("--end", type=date.fromisoformat, default=END)
    args = parser.parse_args(argv)
    rows = write_sample(args.out, args.start, args.end)
    print(f"wrote {rows:,} rows to {args.out}")


if __name__ == "__main__":
    main()
