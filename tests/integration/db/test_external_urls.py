"""TAILOR_SOURCE_URL / TAILOR_WAREHOUSE_URL: Tailor uses them and starts nothing."""

import pytest

from tailor.config import get_settings, load_settings
from tailor.db.connect import connect, database_url
from tailor.db.embedded import EmbeddedPostgres
from tailor.db.migrate import migrate
from tailor.db.service import ensure_database, status

pytestmark = pytest.mark.integration


def test_external_urls_are_used_as_given(pg, monkeypatch, tmp_path):
    state = EmbeddedPostgres(pg).read_state()
    monkeypatch.setenv("TAILOR_SOURCE_URL", state.url("shop"))
    monkeypatch.setenv("TAILOR_WAREHOUSE_URL", state.url("warehouse"))
    monkeypatch.setenv("TAILOR_HOME", str(tmp_path))  # no embedded state here at all
    get_settings.cache_clear()
    try:
        external = load_settings()
        assert not external.embedded
        assert ensure_database(external).startswith("external")
        assert database_url("warehouse", external) == state.url("warehouse")
        assert migrate("shop", external) == []
        assert status(external)["mode"] == "external"
        with connect("shop", external) as conn:
            assert conn.execute("select current_database()").fetchone()[0] == "shop"
        assert not (tmp_path / "pg").exists(), "no embedded server was created"
    finally:
        get_settings.cache_clear()
