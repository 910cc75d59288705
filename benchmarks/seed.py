"""Seed throughput: customers (with their full 180-day histories) per second.

Drops and re-creates the embedded ``shop`` database, then runs a fresh
``seed()``; the figure is customer records over wall-clock seconds of the
whole seed (generation + COPY + index rebuilds + sequence updates), next to
the server's bare COPY rate measured in the same run (``seed_vs_bare_copy``).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import UTC, datetime

BASELINE_ROWS = 500_000


def _bare_copy_rows_per_s(rows: int) -> float:
    """This server's raw COPY rate: narrow rows into a plain, logged, index-free table.

    Measured in the same run, so the seed figure reads as a ratio against what
    the machine and server can ingest at all, whatever else is running.
    """
    from tailor.db.connect import connect

    with connect("shop") as conn:
        buffer = io.BytesIO()
        with conn.cursor().copy(
            "copy (select g, md5(g::text), (g % 100000) / 7.0, timestamptz '2024-01-01' + g * interval '1 s',"
            f" 'page_view' from generate_series(1, {rows}) g) to stdout"
        ) as copy:
            for chunk in copy:
                buffer.write(chunk)
        conn.execute("drop table if exists public.bench_copy_baseline")
        conn.execute(
            "create table public.bench_copy_baseline (a bigint, b text, c numeric, d timestamptz, e text)"
        )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor().copy("copy public.bench_copy_baseline from stdin") as copy:
            copy.write(buffer.getvalue())
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("drop table public.bench_copy_baseline")
    return rows / seconds


def run(size: int | None, progress: Callable[[str], None]) -> dict:
    from tailor.db.service import ensure_database
    from tailor.source.generate import seed
    from tailor.source.reset import recreate_shop

    customers = size or 50_000
    progress(ensure_database())
    # Warm-up (discarded): imports, numpy kernels, server caches and catalog.
    recreate_shop()
    seed(customers=2_000, days=180, seed=1, until=datetime(2024, 6, 30, tzinfo=UTC))
    recreate_shop()
    progress(f"seeding {customers:,} customers into an empty shop")
    summary = seed(customers=customers, days=180, seed=42, until=datetime(2024, 6, 30, tzinfo=UTC),
                   progress=lambda message, _fraction: progress(message))
    progress(f"baseline: bare COPY of {BASELINE_ROWS:,} rows")
    baseline = _bare_copy_rows_per_s(BASELINE_ROWS)
    rows_per_s = summary.rows_total / summary.seconds
    return {
        "customers": customers,
        "seconds": round(summary.seconds, 3),
        "customers_per_s": round(summary.customers_per_s, 1),
        "rows_total": summary.rows_total,
        "rows_per_s": round(rows_per_s, 1),
        "bare_copy_rows_per_s": round(baseline, 1),
        "seed_vs_bare_copy": round(rows_per_s / baseline, 3),
    }
