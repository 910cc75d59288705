"""CDC throughput and latency: shop changes -> raw.cdc_events, with a bare-engine baseline.

Runs in two throw-away databases on the same server (``tailor_bench_cdc_shop``,
``tailor_bench_cdc_warehouse``) with their own replication slots, so the real
shop, warehouse and slot are never touched. Steps:

1. create the databases, the publication and three slots (``landed``, ``bare``
   and ``bare_after``) before any change is written, so all see exactly the
   same WAL;
2. write ``size`` changes to ``email_events`` (60% inserts, 35% updates,
   5% deletes; transactions of 100 changes);
3. **bare**: the same engine and properties with a do-nothing handler and an
   in-memory offset store (``bare_engine_eps``). The handler takes the
   records over exactly as the landing one does (one bulk read of the batch's
   strings, one ``markProcessed`` call, :mod:`tailor.cdc.engine_batch`) and
   then does nothing: what is measured is the engine plus the hand-over. It
   runs once before and once after the landed capture, and the faster of the
   two is the baseline (``bare_runs_eps`` shows both): the run right after the
   writer pays for the server's flushing, which must not flatter the ratio;
4. **landed**: the real capture into the bench warehouse (``landed_eps``).
   Both rates are changes over the time from the first to the last batch the
   handler saw (JVM start and connection excluded), so ``landed_vs_bare`` is
   the share of the engine's own speed that parsing + landing keeps;
5. **latency**: a continuous capture while a paced writer commits ~1,000
   changes/s; ``p95_latency_ms`` is commit in the shop (Debezium's
   ``source.ts``) to the row written in raw (``landed_at``).

``peak_rss_mb`` is the worker process's peak resident memory (JVM + Python).
``handler_s`` / ``read_s`` / ``land_s`` and ``*_cpu_s`` say where the landed
run's time went (reading from Java; encoding + COPY, which overlap; worker CPU).
The machine is shared: note ``uptime`` with each run and compare runs made
under the same load.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

LANDED_SLOT = "tailor_bench_landed"
BARE_SLOT = "tailor_bench_bare"
BARE_AFTER_SLOT = "tailor_bench_bare_after"
TX_CHANGES = 100
LATENCY_SECONDS = 15.0
LATENCY_RATE = 1_000  # changes per second


def _write_changes(conn, total: int, rng: random.Random, rate: float | None = None) -> int:
    """``total`` changes in transactions of TX_CHANGES: 60% c, 35% u, 5% d."""
    live: list[int] = []
    next_id = conn.execute("select coalesce(max(event_id), 0) + 1 from email_events").fetchone()[0]
    done = 0
    started = time.monotonic()
    while done < total:
        n = min(TX_CHANGES, total - done)
        inserts = round(n * 0.60)
        updates = min(round(n * 0.35), len(live))
        deletes = min(n - inserts - updates, max(0, len(live) - updates))
        inserts = n - updates - deletes
        with conn.transaction():
            conn.execute(
                """
                insert into email_events (event_id, customer_id, email, campaign_id, event_type,
                                          url, occurred_at)
                select g, g %% 5000, 'p' || g || '@example.com', 'bench', 'open',
                       'https://shop.example/p/' || g, clock_timestamp()
                from generate_series(%s::bigint, %s::bigint) g
                """,
                (next_id, next_id + inserts - 1),
            )
            live.extend(range(next_id, next_id + inserts))
            next_id += inserts
            touched = rng.sample(live, updates + deletes)
            if updates:
                conn.execute(
                    "update email_events set event_type = 'click', url = url || '?u', "
                    "occurred_at = clock_timestamp() where event_id = any(%s)",
                    (touched[:updates],),
                )
            if deletes:
                gone = touched[updates:]
                conn.execute("delete from email_events where event_id = any(%s)", (gone,))
                gone_set = set(gone)
                live = [i for i in live if i not in gone_set]
        done += n
        if rate:
            ahead = done / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    return done


def run(size: int | None, progress: Callable[[str], None]) -> dict:
    import psycopg

    from tailor.bench import scratch_databases
    from tailor.cdc.capture import run_capture
    from tailor.cdc.worker import engine_properties
    from tailor.db.connect import database_url

    changes = size or 200_000
    rng = random.Random(42)
    common = {"snapshot.mode": "no_data"}

    with scratch_databases("cdc", progress, slots=(LANDED_SLOT, BARE_SLOT, BARE_AFTER_SLOT)) as settings:
        shop_url, warehouse_url = database_url("shop", settings), database_url("warehouse", settings)
        tables = engine_properties(settings)["table.include.list"]
        publication = engine_properties(settings)["publication.name"]
        with psycopg.connect(shop_url, autocommit=True) as shop:
            shop.execute(f"create publication {publication} for table {tables}")
            for slot in (LANDED_SLOT, BARE_SLOT, BARE_AFTER_SLOT):
                shop.execute("select pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
            progress(f"writing {changes:,} changes (60% inserts, 35% updates, 5% deletes)")
            started = time.monotonic()
            _write_changes(shop, changes, rng)
            progress(f"written in {time.monotonic() - started:.1f} s")

        def bare_run(slot: str):
            progress(f"bare engine (do-nothing handler), slot {slot}")
            result = run_capture(
                settings,
                max_seconds=600,
                bare=True,
                overrides={
                    **common,
                    "slot.name": slot,
                    "offset.storage": "org.apache.kafka.connect.storage.MemoryOffsetBackingStore",
                },
            )
            eps = changes / result.data_s if result.data_s else 0.0
            progress(
                f"bare: {eps:,.0f} changes/s over {result.data_s:.1f} s "
                f"(reading {result.read_s:.1f} s; worker CPU {result.cpu_s:.1f} s)"
            )
            return result, eps

        # The baseline runs before AND after the landed capture and the better
        # of the two counts: the run right after the writer pays for the
        # server's flushing, and a baseline must not be flattered by that.
        bare_before, bare_before_eps = bare_run(BARE_SLOT)

        progress("landed capture")
        landed = run_capture(
            settings, max_seconds=600, overrides={**common, "slot.name": LANDED_SLOT}
        )
        landed_eps = changes / landed.data_s if landed.data_s else 0.0
        progress(
            f"landed: {landed.events_landed:,} events, {landed_eps:,.0f} changes/s over "
            f"{landed.data_s:.1f} s (handler busy {landed.handler_s:.1f} s, "
            f"of which reading {landed.read_s:.1f} s, landing {landed.land_s:.1f} s; "
            f"worker CPU {landed.cpu_s:.1f} s)"
        )

        bare_after, bare_after_eps = bare_run(BARE_AFTER_SLOT)
        bare, bare_eps = max(
            ((bare_before, bare_before_eps), (bare_after, bare_after_eps)), key=lambda pair: pair[1]
        )

        progress(f"latency: continuous capture, writer at {LATENCY_RATE:,} changes/s")
        with psycopg.connect(warehouse_url, autocommit=True) as wh:
            (mark,) = wh.execute("select coalesce(max(landing_id), 0) from raw.cdc_events").fetchone()
        stop = threading.Event()
        outcome: dict = {}

        def capture() -> None:
            outcome["result"] = run_capture(
                settings,
                continuous=True,
                max_seconds=LATENCY_SECONDS + 60,
                stop=stop,
                overrides={**common, "slot.name": LANDED_SLOT},
            )

        runner = threading.Thread(target=capture, name="bench-continuous")
        runner.start()
        time.sleep(5)  # JVM and engine start, not part of the latency
        latency_changes = int(LATENCY_RATE * LATENCY_SECONDS)
        with psycopg.connect(shop_url, autocommit=True) as shop:
            _write_changes(shop, latency_changes, rng, rate=LATENCY_RATE)
        deadline = time.monotonic() + 30
        with psycopg.connect(warehouse_url, autocommit=True) as wh:
            while time.monotonic() < deadline:
                (n,) = wh.execute(
                    "select count(*) from raw.cdc_events where landing_id > %s", (mark,)
                ).fetchone()
                if n >= latency_changes:
                    break
                time.sleep(0.2)
            stop.set()
            runner.join()
            p50, p95, p_max, count = wh.execute(
                """
                select percentile_cont(0.5) within group (order by ms),
                       percentile_cont(0.95) within group (order by ms), max(ms), count(*)
                from (select extract(epoch from landed_at - source_ts) * 1000 as ms
                      from raw.cdc_events where landing_id > %s) l
                """,
                (mark,),
            ).fetchone()
        continuous = outcome["result"]

    return {
        "changes": changes,
        "bare_engine_eps": round(bare_eps, 1),
        "bare_runs_eps": [round(bare_before_eps, 1), round(bare_after_eps, 1)],
        "landed_eps": round(landed_eps, 1),
        "landed_vs_bare": round(landed_eps / bare_eps, 3) if bare_eps else None,
        "landed_events": landed.events_landed,
        "tombstones_skipped": landed.tombstones_skipped,
        "handler_busy_share": round(landed.handler_s / landed.data_s, 3) if landed.data_s else None,
        "handler_s": landed.handler_s,
        "read_s": landed.read_s,
        "land_s": landed.land_s,
        "bare_cpu_s": bare.cpu_s,
        "landed_cpu_s": landed.cpu_s,
        "p50_latency_ms": round(float(p50 or 0), 1),
        "p95_latency_ms": round(float(p95 or 0), 1),
        "max_latency_ms": round(float(p_max or 0), 1),
        "latency_events": count,
        "peak_rss_mb": max(r.peak_rss_mb or 0 for r in (bare_before, bare_after, landed, continuous)),
        "bare_run_s": bare.duration_s,
        "landed_run_s": landed.duration_s,
    }
