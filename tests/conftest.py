"""Shared fixtures: one real embedded PostgreSQL per test session.

Unit tests never touch these. Integration and e2e tests ask for ``pg`` (the
server, migrated) or ``fresh_db`` (both databases emptied and re-migrated).
The server lives in a throw-away TAILOR_HOME on a free port, so tests never
disturb a developer's `.tailor/`.

Under pytest-xdist (``make test`` runs two workers) each worker is its own
session: its own server on port 55432 + its worker index, its own
TAILOR_HOME, and (set up in :func:`pytest_configure`) its own default
TAILOR_HOME for tests that use no server, its own copy of the GX context and
its own Cosmos cache, since two workers writing the same files race. Workers
start their servers one at a time: two initdb runs at once on two cores time
out. Without xdist nothing of this applies and the session runs as it always
did.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tailor.config import Settings, get_settings, load_settings

PG_PORT_BASE = 55432

# "gw0", "gw1", ... in an xdist worker; None in a plain run (and in xdist's controller).
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
WORKER_INDEX = int(XDIST_WORKER.removeprefix("gw")) if XDIST_WORKER else 0

# Variables pytest_configure points at the worker's own state.
WORKER_ENV = ("TAILOR_HOME", "TAILOR_GX_DIR", "AIRFLOW__COSMOS__CACHE_DIR")
_worker_state = pytest.StashKey[tuple[Path, dict[str, str | None]]]()


def _restore_environment(previous: dict[str, str | None]) -> None:
    """Put environment variables back as saved (None: was unset) and drop the cached settings."""
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()


def pytest_configure(config: pytest.Config) -> None:
    """Give an xdist worker its own copy of what tests write outside their server's home.

    Tests that start no server still write under the default TAILOR_HOME
    (the DAG files parse dbt's manifest into it), gate runs write GX results
    and Data Docs into the context folder, and Cosmos caches under /tmp/cosmos.
    """
    if XDIST_WORKER is None:
        return
    state = Path(tempfile.mkdtemp(prefix=f"tailor-test-{XDIST_WORKER}-state-"))
    previous = {key: os.environ.get(key) for key in WORKER_ENV}
    shutil.copytree(
        load_settings().gx_dir, state / "gx", ignore=shutil.ignore_patterns("uncommitted", "__pycache__")
    )
    os.environ["TAILOR_HOME"] = str(state / "home")
    os.environ["TAILOR_GX_DIR"] = str(state / "gx")
    os.environ["AIRFLOW__COSMOS__CACHE_DIR"] = str(state / "cosmos")
    get_settings.cache_clear()
    config.stash[_worker_state] = (state, previous)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _worker_state not in config.stash:
        return
    state, previous = config.stash[_worker_state]
    _restore_environment(previous)
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def tailor_home() -> Iterator[Path]:
    # Not pytest's tmp_path: that is 0700 and the unprivileged server user
    # (when tests run as root) must be able to reach its data directory.
    prefix = f"tailor-test-{XDIST_WORKER}-" if XDIST_WORKER else "tailor-test-"
    home = Path(tempfile.mkdtemp(prefix=prefix))
    home.chmod(0o755)
    previous = {k: os.environ.get(k) for k in ("TAILOR_HOME", "TAILOR_PG_PORT", "TAILOR_SOURCE_URL", "TAILOR_WAREHOUSE_URL")}
    os.environ["TAILOR_HOME"] = str(home)
    from tailor.db.embedded import pick_port

    os.environ["TAILOR_PG_PORT"] = str(pick_port(PG_PORT_BASE + WORKER_INDEX))
    os.environ.pop("TAILOR_SOURCE_URL", None)
    os.environ.pop("TAILOR_WAREHOUSE_URL", None)
    get_settings.cache_clear()
    yield home
    _restore_environment(previous)
    shutil.rmtree(home, ignore_errors=True)


@contextmanager
def one_worker_at_a_time(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Under xdist, hold a lock the other workers of this run wait on; else nothing."""
    if XDIST_WORKER is None:
        yield
        return
    from filelock import FileLock, Timeout

    # Each worker's basetemp is <the run's basetemp>/popen-gwN: the parent is shared.
    path = tmp_path_factory.getbasetemp().parent / "tailor-server-start.lock"
    try:
        with FileLock(path, timeout=600):
            yield
    except Timeout:
        pytest.fail(
            f"{XDIST_WORKER} waited 10 minutes for another worker to start its server "
            f"(lock {path}); see that worker's output, or run with -n 0 to start one server"
        )


@pytest.fixture(scope="session")
def pg(tailor_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The embedded server, started once and migrated."""
    from tailor.db.embedded import EmbeddedPostgres
    from tailor.db.migrate import migrate

    settings = get_settings()
    server = EmbeddedPostgres(settings)
    with one_worker_at_a_time(tmp_path_factory):
        server.up()
        migrate("shop", settings)
        migrate("warehouse", settings)
    yield settings
    server.down()


def reset_databases(settings: Settings) -> None:
    """Drop and re-create `shop` and `warehouse` (replication slots first)."""
    import psycopg

    from tailor.db.embedded import EmbeddedPostgres, create_database
    from tailor.db.migrate import migrate

    state = EmbeddedPostgres(settings).read_state()
    assert state is not None
    with psycopg.connect(state.url("postgres"), autocommit=True) as conn:
        for (slot,) in conn.execute("select slot_name from pg_replication_slots").fetchall():
            conn.execute("select pg_drop_replication_slot(%s)", (slot,))
        for name in ("shop", "warehouse"):
            conn.execute(f'drop database if exists "{name}" with (force)')
            create_database(conn, name)
    migrate("shop", settings)
    migrate("warehouse", settings)


@pytest.fixture
def fresh_db(pg: Settings) -> Settings:
    """Empty, migrated databases for a test that needs a clean slate."""
    reset_databases(pg)
    return pg
