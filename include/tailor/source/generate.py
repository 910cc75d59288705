"""Synthetic shop data: a fresh history, or the next slice of activity.

``seed()`` is what `tailor seed`, the benchmark and the test fixtures call. On
an empty shop it writes a full history (customers, devices, consents,
orders, carts, web and email events, plus the ``truth`` schema for scoring
identity resolution and models). On a shop that already has customers it
appends the next ``days`` of activity with real INSERT / UPDATE / DELETE
statements, so change data capture has something to capture.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import numpy as np

from tailor.config import Settings, get_settings
from tailor.db.connect import connect
from tailor.source.activity import Ids, build_activity
from tailor.source.catalog import build_catalog
from tailor.source.clock import DAY, Calendar, from_epoch, to_epoch
from tailor.source.load import Loader, is_superuser, set_sequences
from tailor.source.people import Consents, build_people

Progress = Callable[[str, float], None]
"""``progress(message, fraction_done)``: called as the seed advances."""

HISTORY_DAYS = 730      # sign-ups reach this far back before the activity window
SHOP_TABLES = (
    "categories", "products", "customers", "devices", "anonymous_ids", "customer_devices",
    "orders", "order_items", "carts", "cart_items", "web_events", "email_events", "consents",
    "interests", "truth.customer_persons", "truth.persons",
)


class SeedError(RuntimeError):
    """The shop is in a state the generator cannot safely write into."""


@dataclass
class SeedSummary:
    """What a seed wrote, for the CLI table, the benchmark and tests."""

    mode: str                                   # 'fresh' | 'incremental'
    seed: int
    customers: int                              # customer records created now
    window_start: datetime
    window_end: datetime
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows_total(self) -> int:
        return sum(self.inserted.values())

    @property
    def customers_per_s(self) -> float:
        return self.customers / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        """One line for a person: what was generated and how fast."""
        if self.mode == "fresh":
            return (
                f"{self.customers:,} customers, {self.rows_total:,} rows "
                f"({self.window_start:%Y-%m-%d} to {self.window_end:%Y-%m-%d}) in {self.seconds:.1f}s "
                f"= {self.customers_per_s:,.0f} customers/s"
            )
        return (
            f"incremental: {sum(self.inserted.values()):,} inserted, {sum(self.updated.values()):,} updated, "
            f"{sum(self.deleted.values()):,} deleted ({self.window_start:%Y-%m-%d %H:%M} to {self.window_end:%Y-%m-%d %H:%M})"
        )

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["window_start"] = self.window_start.isoformat()
        out["window_end"] = self.window_end.isoformat()
        out["rows_total"] = self.rows_total
        out["customers_per_s"] = round(self.customers_per_s, 1)
        return out


def default_until() -> datetime:
    """Today 00:00 UTC: a fresh seed's history ends where today begins."""
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def seed(
    settings: Settings | None = None,
    customers: int = 10_000,
    days: int | None = None,
    seed: int = 42,
    until: datetime | None = None,
    progress: Progress | None = None,
) -> SeedSummary:
    """Fill an empty shop (``days`` of history, default 180) or append ``days`` (default 1).

    Deterministic for ``(seed, until)`` on an empty shop and for ``(seed, shop
    state, until)`` in incremental mode, so a failing pipeline run can be
    reproduced. An incremental slice never reaches past ``until`` (default:
    now) when the shop's clock is behind it.
    """
    settings = settings or get_settings()
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    report = progress or (lambda _message, _fraction: None)
    with connect("shop", settings) as conn:
        has_customers = conn.execute("select exists (select 1 from customers)").fetchone()[0]
        if not has_customers:
            busy = [t for t in SHOP_TABLES if t not in ("categories", "products")
                    and conn.execute(f"select exists (select 1 from {t})").fetchone()[0]]
            if busy:
                raise SeedError(
                    f"The shop has no customers but rows in {', '.join(busy)}: a fresh seed would collide "
                    "with them. Empty the shop first (drop and re-create the 'shop' database, then "
                    "'tailor db up'), or import customers so the seed runs incrementally."
                )
        has_catalog = conn.execute("select exists (select 1 from products)").fetchone()[0]
        superuser = is_superuser(conn)
    if has_customers:
        from tailor.source.incremental import append_slice

        return append_slice(settings, days=days or 1, seed=seed, progress=report, until=until)
    return _fresh(settings, customers, days or 180, seed, until or default_until(), report,
                  load_catalog=not has_catalog, workers=3 if superuser else 1)


def _fresh(settings: Settings, customers: int, days: int, seed_value: int, until: datetime,
           report: Progress, *, load_catalog: bool, workers: int) -> SeedSummary:
    started = time.perf_counter()
    end = to_epoch(until)
    start = end - days * DAY
    cal = Calendar(start - (HISTORY_DAYS + 90) * DAY, end + 2 * DAY)
    catalog = build_catalog(start - HISTORY_DAYS * DAY)
    people_rng, activity_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed_value).spawn(2))
    expected = customers * 19  # rows per customer, for the progress fraction only
    done = {"rows": 0}

    def on_done(name: str, rows: int) -> None:
        done["rows"] += rows
        report(f"loaded {name} ({rows:,} rows)", 0.2 + 0.8 * min(done["rows"] / expected, 0.99))

    # several workers only run as a superuser (FK triggers off), so their order is free
    loader = Loader(settings, workers=workers, largest_first=workers > 1, on_done=on_done)
    try:
        if load_catalog:
            loader.submit([("categories", catalog.categories), ("products", catalog.products)])
        report(f"generating {customers:,} customers", 0.02)
        people, devices, tables, consents = build_people(
            people_rng, cal, catalog, customers, start, end,
            first_customer_id=1, first_person_key=1, history_days=HISTORY_DAYS, share_before=0.35,
        )
        loader.submit(tables.items())
        report("generating orders, carts and events", 0.1)
        activity, unsubscribed = build_activity(activity_rng, cal, catalog, people, devices, start, end, Ids())
        loader.submit([*activity.items(), ("consents", Consents.concat([consents, unsubscribed]).table(1))])
        stats = loader.wait()
        with connect("shop", settings) as conn:
            set_sequences(conn)
    except BaseException:
        _empty_shop(settings)
        raise
    seconds = time.perf_counter() - started
    report("done", 1.0)
    return SeedSummary(
        mode="fresh", seed=seed_value, customers=customers,
        window_start=from_epoch(start), window_end=from_epoch(end),
        inserted={t: stats.rows.get(t, 0) for t in SHOP_TABLES if t in stats.rows}, seconds=seconds,
    )


def _empty_shop(settings: Settings) -> None:
    """Undo a failed fresh seed, so the next attempt is fresh again rather than incremental."""
    try:
        with connect("shop", settings) as conn:
            conn.execute("truncate " + ", ".join(t for t in SHOP_TABLES if t not in ("categories", "products")))
    except Exception:  # the original error is the one worth showing
        pass
