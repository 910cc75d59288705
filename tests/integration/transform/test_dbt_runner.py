"""tailor.transform.dbt.run_dbt called many times in one process (tests, `airflow dags test`, benchmarks)."""

from __future__ import annotations

import pytest

from tailor.config import Settings
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration


def test_repeated_calls_leave_dbt_adapters_default_flags_as_found(pg: Settings) -> None:
    """Each adapter dbt creates appends its flags to dbt-adapters' module-level default list;
    left there, every later call walks the call stack once per leaked flag (the suite's n-th
    dbt call paid n walks, seconds per call late in a session)."""
    from dbt.adapters.base import impl

    before = [dict(flag) for flag in impl.DEFAULT_BASE_BEHAVIOR_FLAGS]
    for _ in range(2):
        result = run_dbt(["parse"], settings=pg)
        assert result.success, result.summary()
    assert before == impl.DEFAULT_BASE_BEHAVIOR_FLAGS
