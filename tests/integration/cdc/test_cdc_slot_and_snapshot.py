"""Slot safety, lag reporting and re-snapshot, with the real engine.

* Heartbeats keep the slot moving: while only a table outside the publication
  changes, the WAL the shop retains for the slot (``pg_current_wal_lsn() -
  restart_lsn``) stays below what one round writes, run after run. The same
  round with heartbeats switched off leaves it all retained — so the check
  would catch a capture that stopped confirming its position.
* ``tailor cdc snapshot orders`` signals an incremental snapshot; the next
  bounded run re-reads the table (op ``r``, ``source.snapshot = incremental``)
  and does not stop before it is done; staging still equals the shop.
* ``tailor cdc status`` shows slot lag, retained WAL, the last captured
  position and time, the heartbeat age and events per table.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tailor.cdc.capture import run_capture
from tailor.cdc.slot import slot_status
from tailor.cdc.status import capture_status
from tailor.cli import app
from tailor.config import Settings
from tailor.db.connect import connect
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration

ROUND_ROWS = 20_000  # ~4 MB of WAL per round in a table nobody captures
NO_HEARTBEAT = {"heartbeat.interval.ms": "0"}


def write_unrelated_wal(settings: Settings) -> int:
    """Fill a table outside the publication; returns the WAL bytes written."""
    with connect("shop", settings) as shop:
        shop.execute("create table if not exists unrelated_load (id bigserial, payload text)")
        before = shop.execute("select pg_current_wal_lsn()").fetchone()[0]
        shop.execute(
            "insert into unrelated_load (payload) select repeat(md5(g::text), 6) "
            "from generate_series(1, %s) g",
            (ROUND_ROWS,),
        )
        shop.commit()
        # A running-transactions record for decoding to move restart_lsn past
        # the round (the bgwriter logs one every 15 s; the test does not wait).
        shop.execute("select pg_log_standby_snapshot()")
        (written,) = shop.execute(
            "select pg_wal_lsn_diff(pg_current_wal_lsn(), %s)::bigint", (before,)
        ).fetchone()
    return written


def retained(settings: Settings) -> int:
    with connect("shop", settings) as shop:
        status = slot_status(shop)
    assert status.retained_bytes is not None
    return status.retained_bytes


def test_heartbeats_keep_retained_wal_bounded_while_only_unrelated_tables_change(
    fresh_db: Settings,
) -> None:
    """Retained WAL stays within about two rounds, run after run; without heartbeats it piles up.

    PostgreSQL moves a logical slot's restart_lsn only to a running-transactions
    record it decoded and the client confirmed past, one candidate at a time,
    so after a run it may still sit at the start of the previous round (seen:
    2.03 rounds retained once in many runs). The bound is therefore two and a
    half rounds, and the runs write more than that in all: what matters is
    that retention does not grow with what is written, which the control
    (four rounds, no heartbeats) shows it would.
    """
    settings = fresh_db
    assert run_capture(settings, max_seconds=60).status == "succeeded"  # creates the slot
    rounds, after_runs = [], []
    for _ in range(3):
        rounds.append(write_unrelated_wal(settings))
        result = run_capture(settings, max_seconds=60)
        assert result.status == "succeeded" and result.events_landed == 0
        assert result.heartbeats > 0 and result.retained_wal_bytes is not None
        after_runs.append(retained(settings))
    bound = 2.5 * max(rounds)
    assert sum(rounds) > bound, "the runs must write more than the bound, or it proves nothing"
    assert max(after_runs) < bound, (
        f"retained WAL after each run {after_runs} should stay under {bound:,.0f} bytes "
        f"while {sum(rounds):,} were written"
    )

    # Control: four rounds, then a run without heartbeats: the walsender
    # decodes all of it, yet nothing moves the slot. Such a run never catches
    # up, so it lasts max_seconds; 20 s leaves time to stream past the rounds
    # even when JVM start is slow on a busy machine (6 s did not), and the
    # run must show it got there, or an engine that never streamed would pass.
    written = sum(write_unrelated_wal(settings) for _ in range(4))
    decoded: list[int] = []
    with connect("shop", settings, autocommit=True) as shop:

        def watch_walsender(_line: dict) -> None:
            sent = slot_status(shop).sent_lsn
            if sent is not None:
                decoded.append(sent)

        quiet = run_capture(settings, max_seconds=20, overrides=NO_HEARTBEAT, progress=watch_walsender)
    assert quiet.heartbeats == 0
    assert decoded and max(decoded) >= quiet.target_lsn, (
        f"the run without heartbeats must decode past the rounds (to {quiet.target_lsn}) "
        f"within its {quiet.duration_s} s; the walsender got to {max(decoded, default=None)}"
    )
    assert retained(settings) >= written > bound


def test_resnapshot_rereads_a_table_and_status_reports_lag(fresh_db: Settings) -> None:
    settings = fresh_db
    with connect("shop", settings) as shop:
        shop.execute(
            "insert into orders (order_id, email, status, order_total, ordered_at, updated_at) "
            "select g, 'o' || g || '@example.com', 'paid', g, now(), now() "
            "from generate_series(1, 30) g"
        )
    assert run_capture(settings, max_seconds=60).snapshot_events == 30

    with connect("shop", settings) as shop:
        shop.execute("update orders set status = 'shipped' where order_id = 7")
    runner = CliRunner()
    asked = runner.invoke(app, ["cdc", "snapshot", "orders"])
    assert asked.exit_code == 0, asked.output
    assert "incremental snapshot of orders" in asked.output
    rerun = run_capture(settings, max_seconds=90)
    assert rerun.status == "succeeded" and rerun.stop_reason == "caught_up"
    with connect("warehouse", settings) as wh:
        reads = wh.execute(
            "select count(*), count(distinct pk) from raw.cdc_events "
            "where source_table = 'orders' and op = 'r' and landing_id > 30"
        ).fetchone()
    assert reads == (30, 30), "the incremental snapshot re-read every order in one run"
    assert rerun.signals >= 1  # the request (and Debezium's window marks) went by

    build = run_dbt(["build", "-s", "stg_shop__orders", "--indirect-selection", "buildable"],
                    settings=settings)
    assert build.success, build.summary()
    with connect("warehouse", settings) as wh:
        staged = wh.execute(
            "select order_id, status from staging.stg_shop__orders order by 1"
        ).fetchall()
    with connect("shop", settings) as shop:
        shop_rows = shop.execute("select order_id, status from orders order by 1").fetchall()
    assert staged == shop_rows and dict(staged)[7] == "shipped"

    state = capture_status(settings)
    assert state.slot.exists and state.slot.lag_bytes is not None
    assert state.last_captured_lsn is not None and state.captured_through is not None
    assert state.heartbeat_age_s is not None and state.heartbeat_age_s < 120
    assert {t.table: t.events for t in state.tables} == {"orders": 61}  # 30 r + 1 u + 30 r
    shown = runner.invoke(app, ["cdc", "status"])
    assert shown.exit_code == 0, shown.output
    for label in ("slot lag", "retained WAL", "last captured position", "captured through",
                  "heartbeat", "orders"):
        assert label in shown.output

