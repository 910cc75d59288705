"""Collector throughput over loopback: events/s, p99 latency, and lost events.

Starts ``tailor collect serve`` in its own process against a scratch copy of
the shop schema (database ``collect_bench``, so the real shop and its CDC
stream stay untouched), then drives it from a second process
(:mod:`tailor.collect.loadgen`) with ``/v1/batch`` requests of 100 events
over 8 connections, bounded by ``size`` events and 60 seconds. ``lost`` is
events acknowledged with a 200 minus events found in ``web_events``.

Baseline in the same run (``collect_vs_direct_insert``): the same events
inserted straight into ``web_events`` by one connection with the collector's
own insert statement, no HTTP; the ratio says how much of the database's
insert rate the HTTP path delivers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

BENCH_DB = "collect_bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _scratch_shop(admin_url: str, db_url: str) -> None:
    """A fresh database with the shop schema the collector writes to."""
    from tailor.db.embedded import create_database
    from tailor.db.migrate import MIGRATIONS_DIR

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{BENCH_DB}" with (force)')
        create_database(conn, BENCH_DB)
    with psycopg.connect(db_url) as conn:
        for name in ("V001__shop_schema.sql", "V003__collector.sql"):
            conn.execute((MIGRATIONS_DIR / "shop" / name).read_text())


def _direct_insert_rate(db_url: str, events: int) -> float:
    """Events/s of the collector's insert statements on one connection, batches of 1000."""
    import asyncio

    from tailor.collect.loadgen import make_event
    from tailor.collect.normalize import normalize
    from tailor.collect.store import EventStore
    from tailor.config import CollectSettings

    settings = CollectSettings()
    now = datetime.now(UTC)
    rows = [normalize(make_event("direct", n), None, received_at=now, settings=settings, source="bench").row
            for n in range(events)]

    async def go() -> float:
        store = EventStore(db_url)
        await store.start()
        started = time.perf_counter()
        for i in range(0, events, 1000):
            await store.store([r for r in rows[i:i + 1000] if r], [], "/bench", "bench")
        seconds = time.perf_counter() - started
        await store.close()
        return seconds

    return events / asyncio.run(go())


def run(size: int | None, progress: Callable[[str], None]) -> dict:
    from tailor.config import get_settings
    from tailor.db.connect import database_url
    from tailor.db.service import ensure_database

    events = size or 40_000
    settings = get_settings()
    progress(ensure_database())
    shop_url = database_url("shop", settings)
    db_url = shop_url.rsplit("/", 1)[0] + f"/{BENCH_DB}"
    admin_url = shop_url.rsplit("/", 1)[0] + "/postgres"
    _scratch_shop(admin_url, db_url)

    port = _free_port()
    env = {**os.environ, "TAILOR_SOURCE_URL": db_url,
           "TAILOR_WAREHOUSE_URL": database_url("warehouse", settings),
           "TAILOR_COLLECT_WRITE_KEYS": "bench:bench-key"}
    server = subprocess.Popen(
        [sys.executable, "-m", "tailor.cli", "collect", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_up(url, server)
        load = [sys.executable, "-m", "tailor.collect.loadgen", "--url", url, "--write-key", "bench-key",
                "--batch", "100", "--concurrency", "8", "--max-seconds", "60"]
        progress("warm-up: 2,000 events")
        subprocess.run([*load, "--events", "2000", "--prefix", "warmup"], check=True, capture_output=True)
        progress(f"load: {events:,} events in batches of 100 from a second process")
        done = subprocess.run([*load, "--events", str(events), "--prefix", "bench"], check=True,
                              capture_output=True, text=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(timeout=30)
    with psycopg.connect(db_url) as conn:
        stored = conn.execute("select count(*) from web_events where message_id like 'bench-%'").fetchone()[0]
    progress("baseline: the same insert statements, no HTTP")
    direct = _direct_insert_rate(db_url, min(events, 20_000))
    events_per_s = figures["acked"] / figures["elapsed_s"] if figures["elapsed_s"] else 0.0
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{BENCH_DB}" with (force)')
    return {
        "events": figures["sent"],
        "acked": figures["acked"],
        "stored": stored,
        "lost": max(figures["acked"] - stored, 0),
        "seconds": figures["elapsed_s"],
        "events_per_s": round(events_per_s, 1),
        "requests": figures["requests"],
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "errors": figures["errors"] + sum(figures["non_200"].values()),
        "direct_insert_events_per_s": round(direct, 1),
        "collect_vs_direct_insert": round(events_per_s / direct, 3) if direct else None,
    }


def _wait_up(url: str, server: subprocess.Popen[str], timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the collector exited early: {(server.stderr.read() if server.stderr else '')[-800:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"the collector did not answer on {url} within {timeout}s")


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(None, lambda m: print(m, file=sys.stderr))))
