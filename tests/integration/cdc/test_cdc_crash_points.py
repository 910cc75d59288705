"""Crash safety at the two instants that matter, with the real engine — and proof the test bites.

Random SIGKILLs (``test_cdc_crash_recovery.py``) rarely land in the few
milliseconds between writing a batch and committing it, so on their own they
cannot tell a correct commit order from a broken one. Here the worker crashes
deterministically (``TAILOR_CDC_FAULT``, :mod:`tailor.cdc.faults`, exit 137
like a SIGKILL):

* ``crash_before_commit:N``: the N-th data batch's rows and offsets are written,
  the transaction never commits;
* ``crash_after_commit:N``: it committed, Debezium was never told (no engine
  offset flush, no slot confirmation).

After each crash the next run must resume from ``raw.cdc_offsets`` — its
first landed LSN lies past everything committed before, it re-lands nothing —
and at the end the state rebuilt from raw equals the shop by hash, every change
landed once. The last test runs the same crash with the offsets committed in
their own transaction *before* the rows (a test-only ``sitecustomize`` on the
worker's ``PYTHONPATH``) and shows that the same assertion then fails: changes
are lost.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.cdc_workload import assert_raw_matches_shop, landed_count, write_changes

from tailor.cdc.capture import CaptureError, run_capture
from tailor.cdc.faults import ENV_VAR, EXIT_CODE
from tailor.cdc.landing import stored_offsets
from tailor.config import Settings
from tailor.db.connect import connect

pytestmark = pytest.mark.integration

CHANGES = 3_000
# Small batches: the workload spans many, so the N-th one is mid-stream.
SMALL_BATCHES = {"max.batch.size": "200", "max.queue.size": "800"}
OFFSETS_FIRST = Path(__file__).parents[2] / "fixtures" / "offsets_first"


def committed(settings: Settings) -> tuple[int, int, dict[str, str]]:
    """(rows landed, highest LSN landed, offsets) as committed in the warehouse."""
    with connect("warehouse", settings) as wh:
        count, top = wh.execute(
            "select count(*), coalesce(max(source_lsn), 0) from raw.cdc_events"
        ).fetchone()
        return count, top, stored_offsets(wh)


def first_lsn_after(settings: Settings, count_before: int) -> int:
    """The lowest LSN among rows landed after the first ``count_before`` rows."""
    with connect("warehouse", settings) as wh:
        return wh.execute(
            "select min(source_lsn) from (select source_lsn from raw.cdc_events "
            "order by landing_id offset %s) later",
            (count_before,),
        ).fetchone()[0]


def crash(settings: Settings, monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    monkeypatch.setenv(ENV_VAR, fault)
    with pytest.raises(CaptureError, match=f"exited with code {EXIT_CODE}"):
        run_capture(settings, max_seconds=60, overrides=SMALL_BATCHES)
    monkeypatch.delenv(ENV_VAR)


def test_crash_before_and_after_commit_lose_nothing_and_land_nothing_twice(
    fresh_db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh_db
    assert run_capture(settings, max_seconds=60).status == "succeeded"  # creates the slot
    made = write_changes(settings, CHANGES)

    # 1. Crash with batch 3 written but not committed: exactly batches 1-2 are in raw.
    crash(settings, monkeypatch, "crash_before_commit:3")
    rows_1, top_1, offsets_1 = committed(settings)
    assert 0 < rows_1 < made
    assert offsets_1, "batches 1-2 committed their offsets with their rows"

    # 2. Restart; crash again right after batch 2 committed (Debezium never heard of it).
    crash(settings, monkeypatch, "crash_after_commit:2")
    rows_2, top_2, offsets_2 = committed(settings)
    assert rows_2 > rows_1 and offsets_2 != offsets_1
    assert first_lsn_after(settings, rows_1) > top_1, "the restart re-read committed changes"

    # 3. A clean run catches up from the offsets batch 2 committed, re-landing nothing.
    final = run_capture(settings, max_seconds=60, overrides=SMALL_BATCHES)
    assert final.status == "succeeded" and final.stop_reason == "caught_up"
    assert final.duplicates_skipped == 0 and final.snapshot_events == 0
    assert final.first_lsn is not None and final.first_lsn > top_2
    assert first_lsn_after(settings, rows_2) > top_2
    assert_raw_matches_shop(settings, made)
    # (Without raw.cdc_offsets a run starts over with a snapshot:
    # test_cdc_capture.py::test_capture_snapshot_stream_resume, step 4.)


def test_offsets_committed_before_their_rows_lose_changes_and_the_check_catches_it(
    fresh_db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deliberately broken order + the same crash = changes lost; the assertion fails."""
    settings = fresh_db
    assert run_capture(settings, max_seconds=60).status == "succeeded"
    made = write_changes(settings, CHANGES)

    monkeypatch.setenv("PYTHONPATH", str(OFFSETS_FIRST))  # the worker lands offsets first
    crash(settings, monkeypatch, "crash_before_commit:3")
    monkeypatch.delenv("PYTHONPATH")
    assert landed_count(settings) > 0  # batches 1-2 landed (rows after their offsets)

    final = run_capture(settings, max_seconds=60, overrides=SMALL_BATCHES)
    assert final.status == "succeeded" and final.events_landed > 0
    with pytest.raises(AssertionError, match=r"differs from the shop|changes landed") as caught:
        assert_raw_matches_shop(settings, made)
    print(f"as it must, the crash-safety check failed: {caught.value}")
