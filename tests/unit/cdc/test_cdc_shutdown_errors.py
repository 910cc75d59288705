"""Which engine errors fail a capture run (worker.fatal_engine_errors)."""

from tailor.cdc.worker import fatal_engine_errors

REJECTED = "java.util.concurrent.RejectedExecutionException: Task ... rejected from ThreadPoolExecutor[Terminated]"


def test_shutdown_noise_after_our_own_stop_is_benign():
    assert fatal_engine_errors([], [REJECTED], we_stopped=True) == []


def test_the_same_error_fails_the_run_when_the_engine_stopped_by_itself():
    assert fatal_engine_errors([], [REJECTED], we_stopped=False) == [REJECTED]


def test_errors_before_the_close_always_count():
    assert fatal_engine_errors([REJECTED], [], we_stopped=True) == [REJECTED]


def test_other_errors_after_the_close_still_count():
    other = "org.postgresql.util.PSQLException: replication slot is active"
    assert fatal_engine_errors([], [REJECTED, other], we_stopped=True) == [other]
