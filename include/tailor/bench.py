"""`tailor bench NAME`: run a scenario from benchmarks/NAME.py.

A scenario module defines ``run(size: int | None, progress) -> dict`` and
returns plain figures; ratios are measured against a baseline inside the same
run, never against a number remembered from another machine.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tailor.config import Settings, get_settings


def benchmarks_dir() -> Path:
    return get_settings().project_root / "benchmarks"


def available() -> list[str]:
    return sorted(p.stem for p in benchmarks_dir().glob("*.py") if not p.stem.startswith("_"))


def run_benchmark(name: str, size: int | None, progress: Callable[[str], None]) -> dict[str, Any]:
    path = benchmarks_dir() / f"{name}.py"
    if not path.exists():
        raise ValueError(f"No benchmark '{name}'. Available: {', '.join(available()) or 'none'}")
    spec = importlib.util.spec_from_file_location(f"tailor_bench_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run(size=size, progress=progress)


def with_dbname(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` on the same server."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def scratch_databases(
    name: str, progress: Callable[[str], None], slots: tuple[str, ...] = ()
) -> Iterator[Settings]:
    """Throw-away ``tailor_bench_<name>_shop`` / ``_warehouse`` databases, migrated.

    On the server Tailor is configured for (started if embedded), so a
    benchmark never touches the real shop, warehouse or replication slot.
    Yields settings pointing at them; afterwards (and first, after an
    interrupted run) the databases and the named replication ``slots`` go.
    """
    import psycopg

    from tailor.db.connect import database_url
    from tailor.db.embedded import create_database
    from tailor.db.migrate import migrate
    from tailor.db.service import ensure_database

    progress(ensure_database())
    base = get_settings()
    shop, warehouse = f"tailor_bench_{name}_shop", f"tailor_bench_{name}_warehouse"
    admin_url = with_dbname(database_url("shop", base), "postgres")

    def drop(admin: psycopg.Connection) -> None:
        for (slot,) in admin.execute(
            "select slot_name from pg_replication_slots where slot_name = any(%s)", (list(slots),)
        ).fetchall():
            admin.execute("select pg_drop_replication_slot(%s)", (slot,))
        for database in (shop, warehouse):
            admin.execute(f'drop database if exists "{database}" with (force)')

    with psycopg.connect(admin_url, autocommit=True) as admin:
        drop(admin)
        for database in (shop, warehouse):
            create_database(admin, database)
    settings = dataclasses.replace(
        base,
        source_url=with_dbname(database_url("shop", base), shop),
        warehouse_url=with_dbname(database_url("warehouse", base), warehouse),
    )
    try:
        migrate("shop", settings)
        migrate("warehouse", settings)
        yield settings
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            drop(admin)


def bench_seed() -> int:
    """The generator seed benchmarks use: 42 unless ``TAILOR_BENCH_SEED``."""
    import os

    return int(os.environ.get("TAILOR_BENCH_SEED", "42"))


def seed_and_capture(settings: Settings, customers: int, seed_value: int, slot: str,
                     progress: Callable[[str], None]) -> int:
    """Seed a shop with the standard generator and land it in raw through the real capture.

    One capture run reads the whole snapshot however long it takes (30
    minutes at most), on its own replication ``slot``; raw.cdc_events is
    analysed afterwards, so the staging views are planned on real
    statistics. Returns the change events landed.
    """
    from tailor.cdc.capture import run_capture
    from tailor.db.connect import connect
    from tailor.source.generate import seed

    progress(f"seeding {customers:,} customers (seed {seed_value})")
    seed(settings, customers=customers, seed=seed_value)
    progress("capturing into raw")
    landed = run_capture(settings, max_seconds=1800, overrides={"slot.name": slot}).events_landed
    with connect("warehouse", settings) as conn:
        conn.execute("analyze raw.cdc_events")
    return landed
