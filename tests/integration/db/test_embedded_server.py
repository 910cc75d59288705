"""The embedded server against the real binaries (session server from conftest)."""

import pytest

from tailor.db.connect import connect
from tailor.db.embedded import EmbeddedPostgres
from tailor.db.migrate import migrate

pytestmark = pytest.mark.integration


def test_up_is_idempotent_and_logical_wal_is_on(pg):
    server = EmbeddedPostgres(pg)
    first = server.read_state()
    again = server.up()
    assert again.port == first.port
    with connect("shop", pg) as conn:
        assert conn.execute("show wal_level").fetchone()[0] == "logical"
        assert conn.execute("show listen_addresses").fetchone()[0] == "127.0.0.1"
        # an idle replication slot cannot fill the disk (START_CONF)
        assert conn.execute("show max_slot_wal_keep_size").fetchone()[0] == "10GB"


def test_databases_and_schemas_exist(pg):
    with connect("shop", pg) as conn:
        tables = {r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'public'")}
    assert {"customers", "orders", "web_events", "email_events", "consents", "interests"} <= tables
    with connect("warehouse", pg) as conn:
        schemas = {r[0] for r in conn.execute("select nspname from pg_namespace")}
    assert {"raw", "staging", "intermediate", "marts", "ml", "exports", "audit"} <= schemas


def test_migrations_run_once(pg):
    assert migrate("shop", pg) == []
    assert migrate("warehouse", pg) == []


def test_restart_after_crash_recovers(pg):
    """A killed postmaster leaves a pid file; `up` must start again regardless."""
    import os
    import signal
    import time

    server = EmbeddedPostgres(pg)
    pid = int((server.data_dir / "postmaster.pid").read_text().splitlines()[0])
    os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    assert (server.data_dir / "postmaster.pid").exists()
    server.up()
    with connect("shop", pg) as conn:
        assert conn.execute("select 1").fetchone()[0] == 1


def test_busy_port_picks_another(pg):
    """Stop, occupy the port, start: the server moves and the state follows."""
    import socket

    server = EmbeddedPostgres(pg)
    old_port = server.read_state().port
    server.down()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()
        state = server.up()
        assert state.port != old_port
    with connect("warehouse", pg) as conn:
        assert conn.execute("select current_database()").fetchone()[0] == "warehouse"
