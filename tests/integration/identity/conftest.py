"""A clean warehouse (the regular CDC fixture, no matcher links or models) per identity test."""

from __future__ import annotations

import pytest
from fixtures.identity_history import ChangeLog
from fixtures.warehouse_build import load_raw_fixture, reset_warehouse

from tailor.config import Settings
from tailor.db.connect import connect


@pytest.fixture
def log(pg: Settings) -> ChangeLog:
    reset_warehouse(pg)
    load_raw_fixture(pg)
    with connect("warehouse", pg) as conn:
        for table in ("identity_links", "identity_match_records", "identity_match_runs", "identity_models"):
            conn.execute(f"delete from ml.{table}")
    return ChangeLog(pg)
