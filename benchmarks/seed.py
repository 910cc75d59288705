"""Seed throughput: customers (with their full 180-day histories) per second.

Drops and re-creates the embedded ``shop`` database, then runs a fresh
``seed()``; the figure is customer records over wall-clock seconds of the
whole seed (generation + COPY + index rebuilds + sequence updates).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def run(size: int | None, progress: Callable[[str], None]) -> dict:
    from tailor.db.service import ensure_database
    from tailor.source.generate import seed
    from tailor.source.reset import recreate_shop

    customers = size or 50_000
    progress(ensure_database())
    recreate_shop()
    progress(f"seeding {customers:,} customers into an empty shop")
    summary = seed(customers=customers, days=180, seed=42, until=datetime(2024, 6, 30, tzinfo=UTC),
                   progress=lambda message, _fraction: progress(message))
    return {
        "customers": customers,
        "seconds": round(summary.seconds, 3),
        "customers_per_s": round(summary.customers_per_s, 1),
        "rows_total": summary.rows_total,
        "rows_per_s": round(summary.rows_total / summary.seconds, 1),
    }
