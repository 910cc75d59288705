"""Crash recovery: SIGKILL the capture at random moments while changes stream.

A writer commits 100,000 mixed changes (60% inserts, 35% updates, 5% deletes)
to ``shop.email_events`` in small transactions while ``tailor cdc capture
--continuous`` runs; the whole capture (parent and JVM worker, one process
group) is killed with SIGKILL at a random moment after it started landing, at
least five times, and started again. Then one bounded capture catches up and:

* the current state rebuilt from ``raw.cdc_events`` hashes equal to ``shop``,
  row for row (so nothing was lost: a lost change leaves a stale or missing row);
* the number of landed changes equals the number of changes made, with no
  duplicate (so nothing landed twice).

It fails if offsets could commit ahead of their rows (changes lost after a
kill) or if re-delivery were not idempotent (duplicates, count mismatch).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from fixtures.cdc_workload import assert_raw_matches_shop, write_mixed_changes

from tailor.cdc.capture import run_capture
from tailor.config import Settings
from tailor.db.connect import connect, database_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL_CHANGES = 100_000
MIN_KILLS = 5
WRITE_RATE = 2_500  # changes per second: the writing spans the kill cycles
WRITE_CHUNK = 100

class Writer(threading.Thread):
    """Mixed changes in transactions of 1-40 changes, paced, counted by rowcount."""

    def __init__(self, settings: Settings, total: int, seed: int = 7) -> None:
        super().__init__(name="crash-writer", daemon=True)
        self.url = database_url("shop", settings)
        self.total = total
        self.rng = random.Random(seed)
        self.changes = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._write()
        except BaseException as exc:  # surfaced by the test
            self.error = exc

    def _write(self) -> None:
        live: list[int] = []
        started = time.monotonic()
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("set synchronous_commit = off")
            while self.changes < self.total:
                # a few transactions at a time, so the pace is kept
                self.changes += write_mixed_changes(conn, min(WRITE_CHUNK, self.total - self.changes),
                                                    self.rng, live)
                ahead = self.changes / WRITE_RATE - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)


def landed(settings: Settings) -> int:
    with connect("warehouse", settings) as wh:
        return wh.execute("select count(*) from raw.cdc_events").fetchone()[0]


def start_capture() -> subprocess.Popen:
    tailor = Path(sys.executable).with_name("tailor")
    return subprocess.Popen(
        [str(tailor), "cdc", "capture", "--continuous"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: kill parent and JVM together
    )


def test_sigkill_at_random_moments_loses_nothing_and_lands_nothing_twice(fresh_db: Settings):
    settings = fresh_db
    rng = random.Random(2024)
    first = run_capture(settings, max_seconds=90)  # creates the slot; email_events is empty
    assert first.status == "succeeded"

    writer = Writer(settings, TOTAL_CHANGES)
    writer.start()
    kills = 0
    while kills < MIN_KILLS or writer.is_alive():
        before = landed(settings)
        proc = start_capture()
        deadline = time.monotonic() + 60
        while landed(settings) == before and time.monotonic() < deadline:
            assert proc.poll() is None, "the capture exited on its own"
            time.sleep(0.1)
        time.sleep(rng.uniform(0.0, 2.0))  # somewhere in the middle of landing batches
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        assert kills <= 20, "the writer did not finish"
    writer.join()
    assert writer.error is None, writer.error
    assert writer.changes == TOTAL_CHANGES

    final = run_capture(settings, max_seconds=120)
    assert final.status == "succeeded"

    assert_raw_matches_shop(settings, TOTAL_CHANGES)
    with connect("warehouse", settings) as wh:
        abandoned = wh.execute(
            "select count(*) from raw.cdc_runs where status = 'abandoned'"
        ).fetchone()[0]
    assert abandoned >= MIN_KILLS  # each killed run was recorded, then closed as abandoned
