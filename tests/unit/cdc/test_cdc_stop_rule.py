"""When a bounded capture counts as caught up (no JVM needed)."""

from __future__ import annotations

from tailor.cdc.worker import Stats, StopRule


def test_not_caught_up_before_streaming_starts():
    rule = StopRule(target_lsn=100, idle_s=5)
    assert not rule.caught_up(Stats(), sent_lsn=500, now=1000.0)


def test_streamed_change_past_target_stops_at_once():
    stats = Stats(streaming_since=10.0, last_data_at=10.5, max_streamed_lsn=120)
    assert StopRule(target_lsn=100).caught_up(stats, sent_lsn=None, now=10.6)
    stats.busy = True  # a batch is still landing
    assert not StopRule(target_lsn=100).caught_up(stats, sent_lsn=None, now=10.6)


def test_walsender_past_target_needs_a_quiet_settle_period():
    rule = StopRule(target_lsn=100, settle_s=1.0, idle_s=30)
    stats = Stats(streaming_since=10.0, last_data_at=10.0, max_streamed_lsn=50)
    assert not rule.caught_up(stats, sent_lsn=90, now=12.0)  # not decoded that far yet
    assert not rule.caught_up(stats, sent_lsn=110, now=12.0)  # just got there
    assert rule.caught_up(stats, sent_lsn=110, now=13.1)


def test_idle_fallback():
    rule = StopRule(target_lsn=None, idle_s=5)
    stats = Stats(streaming_since=10.0)
    assert not rule.caught_up(stats, sent_lsn=None, now=14.0)
    assert rule.caught_up(stats, sent_lsn=None, now=15.1)


def test_a_quiet_stream_is_not_idle_while_the_walsender_decodes_towards_the_target():
    """The slot reads gigabytes of other databases' WAL after a big build: no changes, yet not done."""
    rule = StopRule(target_lsn=10_000, settle_s=1.0, idle_s=5)
    stats = Stats(streaming_since=10.0)
    for second, sent in enumerate(range(1_000, 9_000, 1_000)):  # decoding, nothing for us
        assert not rule.caught_up(stats, sent_lsn=sent, now=10.0 + 2 * second)
    assert rule.caught_up(stats, sent_lsn=10_500, now=30.0) is False  # past target: settle first
    assert rule.caught_up(stats, sent_lsn=10_500, now=31.1)
    assert "decoded past the target" in rule.why


def test_a_walsender_stuck_short_of_the_target_ends_the_run_by_the_idle_fallback():
    rule = StopRule(target_lsn=10_000, idle_s=5)
    stats = Stats(streaming_since=10.0)
    assert not rule.caught_up(stats, sent_lsn=4_000, now=11.0)
    assert not rule.caught_up(stats, sent_lsn=4_000, now=15.5)  # not moving for 4.5 s
    assert rule.caught_up(stats, sent_lsn=4_000, now=16.1)
    assert "stopped 6,000 bytes short" in rule.why


def test_never_caught_up_while_an_incremental_snapshot_runs():
    stats = Stats(streaming_since=10.0, max_streamed_lsn=500, incremental_snapshot=True)
    rule = StopRule(target_lsn=100, idle_s=1)
    assert not rule.caught_up(stats, sent_lsn=600, now=100.0)
    stats.incremental_snapshot = False
    assert rule.caught_up(stats, sent_lsn=600, now=100.0)


def test_worker_arguments_continuous_bare_and_property_overrides():
    from tailor.cdc.worker import parse_args

    args = parse_args(["--continuous", "--bare", "--set", "slot.name=x", "--set", "a=b=c"])
    assert not args.until_caught_up and args.bare
    assert dict(args.overrides) == {"slot.name": "x", "a": "b=c"}


def test_stopping_waits_for_the_batch_in_hand_then_refuses_new_ones():
    import threading
    import time

    from tailor.cdc.worker import _stop_handing_over

    stats, lock = Stats(busy=True), threading.Lock()

    def finish_batch() -> None:
        time.sleep(0.2)
        with lock:
            stats.busy = False

    threading.Thread(target=finish_batch).start()
    began = time.monotonic()
    _stop_handing_over(stats, lock)
    assert time.monotonic() - began >= 0.15  # waited for the landing to finish
    assert stats.closing and not stats.busy
