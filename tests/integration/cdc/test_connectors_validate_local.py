"""`tailor connectors validate --local`: the real Debezium PostgresConnector in a child JVM."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tailor.cli import app
from tailor.config import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

runner = CliRunner()


def test_rendered_config_is_valid_for_debezium(pg: Settings) -> None:
    # the rendered Kafka Connect config, password reference resolved from the settings
    result = runner.invoke(app, ["connectors", "validate", "--local"])
    assert result.exit_code == 0, result.output
    assert "valid (Debezium PostgresConnector, local JVM): no field errors" in result.output


def test_bad_slot_name_and_unknown_table_are_caught_without_a_cluster(pg: Settings) -> None:
    result = runner.invoke(
        app,
        [
            "connectors", "validate", "--local",
            "--set", "slot.name=Tailor-Slot",
            "--set", "heartbeat.interval.ms=10s",
        ],
    )
    assert result.exit_code == 1, result.output
    out = result.output
    assert "field slot.name" in out and "value:  Tailor-Slot" in out
    assert "Valid replication slot name must contain only digits, lowercase characters" in out
    assert "field heartbeat.interval.ms" in out and "An integer is expected" in out

    # unknown table: only checked once Debezium's own connection checks pass
    result = runner.invoke(
        app, ["connectors", "validate", "--local",
              "--set", "table.include.list=public.customers,public.no_such_table"],
    )
    assert result.exit_code == 1, result.output
    assert "field table.include.list" in result.output
    assert "no table in database 'shop' matches 'public.no_such_table'" in result.output


def test_wrong_password_is_reported_by_debezium(pg: Settings) -> None:
    result = runner.invoke(
        app, ["connectors", "validate", "--local", "--set", "database.password=wrong"]
    )
    assert result.exit_code == 1, result.output
    # Debezium files a failed login under database.hostname, with the server's reason
    assert "field database.hostname" in result.output
    assert "password authentication failed" in result.output
