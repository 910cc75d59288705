"""Killing the collector mid-load loses no acknowledged event.

The collector answers 200 only after the events' transaction committed, so
a SIGKILL can only hit events whose senders got no answer; they re-send, and
messageId de-duplication makes the re-send harmless.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from collect_fixtures import free_port

from tailor.config import Settings
from tailor.db.connect import connect

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EVENTS = 6000


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TAILOR_COLLECT_WRITE_KEYS": "crash:crash-key"}
    server = subprocess.Popen([sys.executable, "-m", "tailor.cli", "collect", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("collector did not start")


def load(port: int, batch: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tailor.collect.loadgen", "--url", f"http://127.0.0.1:{port}",
         "--write-key", "crash-key", "--events", str(EVENTS), "--batch", str(batch), "--concurrency", "4",
         "--prefix", "crash", "--ids", *extra], stdout=subprocess.PIPE, text=True)


def wait_until_stored(settings: Settings, rows: int, timeout: float = 60) -> None:
    """Kill on observed progress, not after a fixed sleep: mid-load on any machine."""
    deadline = time.monotonic() + timeout
    with connect("shop", settings, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute("select count(*) from web_events where message_id like 'crash-%'").fetchone()[0] >= rows:
                return
            time.sleep(0.01)
    raise AssertionError(f"fewer than {rows} events stored after {timeout}s")


def test_sigkill_after_200_loses_nothing(fresh_db: Settings) -> None:
    port = free_port()
    server = start_server(port)
    generator = load(port, batch=5)  # many small requests: the load lasts long enough to be cut
    wait_until_stored(fresh_db, EVENTS // 20)
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=10)
    first = json.loads(generator.communicate(timeout=120)[0].strip().splitlines()[-1])
    acked = set(first["acked_ids"])
    assert 0 < len(acked) < EVENTS, first  # the kill really happened mid-load

    with connect("shop", fresh_db) as conn:
        stored = {r[0] for r in conn.execute("select message_id from web_events where message_id like 'crash-%'")}
    assert acked <= stored, f"{len(acked - stored)} acknowledged events were lost"

    # the senders re-send everything (what SDK retries do): nothing twice, nothing missing
    server = start_server(port)
    try:
        second = json.loads(load(port, batch=50).communicate(timeout=120)[0].strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert second["acked"] == EVENTS
    with connect("shop", fresh_db) as conn:
        total, distinct = conn.execute(
            "select count(*), count(distinct message_id) from web_events where message_id like 'crash-%'"
        ).fetchone()
    assert total == distinct == EVENTS
