"""When things happen: seasonality, local shopping hours and time zones.

Every timestamp the generator writes is sampled in the customer's local time
(people shop in the evening where *they* live) and stored in UTC, with the
weekly and yearly rhythm of a European online shop.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from tailor.source import vocab

DAY = 86_400
TIMEZONES: tuple[str, ...] = (*sorted({c[2] for c in vocab.CITIES}), "UTC")
TZ_INDEX = {name: i for i, name in enumerate(TIMEZONES)}


def to_epoch(moment: datetime) -> int:
    """Seconds since 1970 for an aware (or naive = UTC) datetime."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


class Calendar:
    """Day weights and UTC offsets for every day in ``[first_day, last_day]``.

    Offsets are looked up per (timezone, day) once, so converting millions of
    local times to UTC is one fancy-index, DST included.
    """

    def __init__(self, start: int, end: int) -> None:
        self.first_day = start // DAY - 1
        self.last_day = end // DAY + 1
        days = np.arange(self.first_day, self.last_day + 1)
        dates = days.astype("datetime64[D]")
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
        month = dates.astype("datetime64[M]").astype(int) % 12
        self.weight = np.asarray(vocab.WEEKDAY_WEIGHTS)[weekday] * np.asarray(vocab.MONTH_WEIGHTS)[month]
        self.offsets = np.zeros((len(TIMEZONES), len(days)), dtype=np.int64)
        noon = [datetime(1970, 1, 1, 12, tzinfo=UTC) + timedelta(days=int(d)) for d in days]
        for t, name in enumerate(TIMEZONES):
            zone = ZoneInfo(name)
            self.offsets[t] = [int(zone.utcoffset(moment).total_seconds()) for moment in noon]
        self._hour_p = np.asarray(vocab.SHOPPING_HOURS) / np.sum(vocab.SHOPPING_HOURS)

    def sample(
        self,
        rng: np.random.Generator,
        lo: np.ndarray,
        hi: np.ndarray,
        tz: np.ndarray,
    ) -> np.ndarray:
        """One UTC timestamp per row in ``[lo, hi)``: a seasonal day, an evening-heavy local hour."""
        lo = np.asarray(lo, dtype=np.int64)
        hi = np.maximum(np.asarray(hi, dtype=np.int64), lo + 1)
        n = len(lo)
        lo_day = lo // DAY - self.first_day
        span = hi // DAY - self.first_day - lo_day + 1
        day = lo_day + (rng.random(n) * span).astype(np.int64)
        wmax = self.weight.max()
        for _ in range(8):  # rejection sampling against the seasonal weight
            reject = rng.random(n) * wmax > self.weight[day]
            if not reject.any():
                break
            day[reject] = lo_day[reject] + (rng.random(reject.sum()) * span[reject]).astype(np.int64)
        hour = rng.choice(24, size=n, p=self._hour_p)
        local = (day + self.first_day) * DAY + hour * 3600 + rng.integers(0, 3600, n)
        t = local - self.offsets[tz, day]
        outside = (t < lo) | (t >= hi)
        if outside.any():
            t[outside] = lo[outside] + (rng.random(outside.sum()) * (hi - lo)[outside]).astype(np.int64)
        return t
