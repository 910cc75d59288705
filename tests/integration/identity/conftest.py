"""A clean warehouse (the regular CDC fixture, no matcher links or models) per identity test."""

from __future__ import annotations

import pytest
from fixtures.identity_history import ChangeLog
from fixtures.warehouse_build import load_raw_fixture, reset_warehouse

from tailor.config import Settings


@pytest.fixture
def log(pg: Settings) -> ChangeLog:
    reset_warehouse(pg)
    load_raw_fixture(pg)
    return ChangeLog(pg)
