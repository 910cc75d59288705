"""Fixtures of the export integration tests (helpers live in export_fixtures.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from export_fixtures import build_input_relations

from tailor.config import Settings


@pytest.fixture
def audience_db(fresh_db: Settings) -> Iterator[Settings]:
    """Fresh warehouse with the input relations, and an empty outbox and exports folder."""
    build_input_relations(fresh_db)
    shutil.rmtree(fresh_db.outbox_dir, ignore_errors=True)
    shutil.rmtree(fresh_db.exports_dir, ignore_errors=True)
    yield fresh_db
