"""Shared fixtures: one real embedded PostgreSQL per test session.

Unit tests never touch these. Integration and e2e tests ask for ``pg`` (the
server, migrated) or ``fresh_db`` (both databases emptied and re-migrated).
The server lives in a throw-away TAILOR_HOME on a free port, so tests never
disturb a developer's `.tailor/`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tailor.config import Settings, get_settings


@pytest.fixture(scope="session")
def tailor_home() -> Iterator[Path]:
    # Not pytest's tmp_path: that is 0700 and the unprivileged server user
    # (when tests run as root) must be able to reach its data directory.
    home = Path(tempfile.mkdtemp(prefix="tailor-test-"))
    home.chmod(0o755)
    previous = {k: os.environ.get(k) for k in ("TAILOR_HOME", "TAILOR_PG_PORT", "TAILOR_SOURCE_URL", "TAILOR_WAREHOUSE_URL")}
    os.environ["TAILOR_HOME"] = str(home)
    from tailor.db.embedded import pick_port

    os.environ["TAILOR_PG_PORT"] = str(pick_port(55432))
    os.environ.pop("TAILOR_SOURCE_URL", None)
    os.environ.pop("TAILOR_WAREHOUSE_URL", None)
    get_settings.cache_clear()
    yield home
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def pg(tailor_home: Path) -> Iterator[Settings]:
    """The embedded server, started once and migrated."""
    from tailor.db.embedded import EmbeddedPostgres
    from tailor.db.migrate import migrate

    settings = get_settings()
    server = EmbeddedPostgres(settings)
    server.up()
    migrate("shop", settings)
    migrate("warehouse", settings)
    yield settings
    server.down()


def reset_databases(settings: Settings) -> None:
    """Drop and re-create `shop` and `warehouse` (replication slots first)."""
    import psycopg

    from tailor.db.embedded import EmbeddedPostgres
    from tailor.db.migrate import migrate

    state = EmbeddedPostgres(settings).read_state()
    assert state is not None
    with psycopg.connect(state.url("postgres"), autocommit=True) as conn:
        for (slot,) in conn.execute("select slot_name from pg_replication_slots").fetchall():
            conn.execute("select pg_drop_replication_slot(%s)", (slot,))
        for name in ("shop", "warehouse"):
            conn.execute(f'drop database if exists "{name}" with (force)')
            conn.execute(f'create database "{name}"')
    migrate("shop", settings)
    migrate("warehouse", settings)


@pytest.fixture
def fresh_db(pg: Settings) -> Settings:
    """Empty, migrated databases for a test that needs a clean slate."""
    reset_databases(pg)
    return pg
