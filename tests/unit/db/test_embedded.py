import socket
import subprocess
import sys

import pytest

from tailor.config import load_settings
from tailor.db.embedded import (
    EmbeddedPostgres,
    EmbeddedPostgresError,
    find_bin_dir,
    pick_port,
    port_is_free,
)


def test_pick_port_prefers_the_configured_port_when_free():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    assert port_is_free(free)
    assert pick_port(free) == free


def test_pick_port_moves_away_from_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert not port_is_free(taken)
        chosen = pick_port(taken)
        assert chosen != taken
        assert port_is_free(chosen)


def test_missing_binaries_name_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("TAILOR_PG_BIN", str(tmp_path))
    with pytest.raises(EmbeddedPostgresError, match="TAILOR_PG_BIN"):
        find_bin_dir(load_settings())


def test_stale_pid_file_is_removed(monkeypatch, tmp_path):
    monkeypatch.setenv("TAILOR_HOME", str(tmp_path))
    server = EmbeddedPostgres(load_settings())
    server.data_dir.mkdir(parents=True)
    pid_file = server.data_dir / "postmaster.pid"
    pid_file.write_text("999999\n/somewhere\n")  # no such process
    server._clear_stale_pid()
    assert not pid_file.exists()


def test_pid_file_of_a_live_non_postgres_process_is_stale(monkeypatch, tmp_path):
    # A child of our own, not pytest itself: an xdist worker's process title
    # (setproctitle) names the running test, and this test's name says postgres.
    monkeypatch.setenv("TAILOR_HOME", str(tmp_path))
    server = EmbeddedPostgres(load_settings())
    server.data_dir.mkdir(parents=True)
    pid_file = server.data_dir / "postmaster.pid"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as child:
        try:
            pid_file.write_text(f"{child.pid}\n")  # alive, but not postgres
            server._clear_stale_pid()
            assert child.poll() is None, "the pid must be alive while it is checked"
        finally:
            child.kill()
    assert not pid_file.exists()
