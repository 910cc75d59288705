"""`tailor connectors ...` (real CLI, real client) against the Kafka Connect stand-in.

The stand-in (tailor.cdc.connect_standin) is a real HTTP server with Connect's
REST contract; Kafka Connect itself cannot run here. Validation of table names
uses the real embedded shop database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from tailor.cdc.connect_standin import ConnectStandIn
from tailor.cli import app
from tailor.config import Settings
from tailor.db.connect import database_url

pytestmark = pytest.mark.integration

runner = CliRunner()


@pytest.fixture
def connect(pg: Settings) -> Iterator[ConnectStandIn]:
    with ConnectStandIn(user="ops", password="pw", shop_dsn=database_url("shop", pg)) as standin:
        yield standin


def tailor(standin: ConnectStandIn, *args: str, password: str = "pw"):
    env = {
        "TAILOR_CONNECT_URL": standin.url,
        "TAILOR_CONNECT_USER": "ops",
        "TAILOR_CONNECT_PASSWORD": password,
    }
    return runner.invoke(app, ["connectors", *args], env=env)


def test_validate_reports_field_value_and_reason(connect: ConnectStandIn) -> None:
    result = tailor(
        connect, "validate", "--set", "slot.name=Tailor-Slot",
        "--set", "table.include.list=public.customers,public.no_such_table",
    )
    assert result.exit_code == 1, result.output
    out = result.output
    assert "field slot.name" in out and "value:  Tailor-Slot" in out
    assert "lowercase characters and underscores with length <= 63" in out
    assert "field table.include.list" in out
    assert "no table in database 'shop' matches 'public.no_such_table'" in out


def test_validate_accepts_the_rendered_config(connect: ConnectStandIn) -> None:
    result = tailor(connect, "validate")
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "no field errors" in result.output
    assert ("PUT", "/connector-plugins/io.debezium.connector.postgresql.PostgresConnector/config/validate", 200) in connect.log


def test_validate_catches_numbers_and_enums(connect: ConnectStandIn) -> None:
    result = tailor(connect, "validate", "--set", "database.port=five",
                    "--set", "snapshot.mode=sometimes")
    assert result.exit_code == 1
    assert "The 'database.port' value is invalid: An integer is expected" in result.output
    assert "The 'snapshot.mode' value is invalid: Value must be one of" in result.output


def test_apply_is_idempotent(connect: ConnectStandIn) -> None:
    first = tailor(connect, "apply")
    assert first.exit_code == 0 and "created" in first.output, first.output
    second = tailor(connect, "apply")
    assert second.exit_code == 0 and "unchanged" in second.output, second.output
    puts = [entry for entry in connect.log if entry[0] == "PUT"]
    assert puts == [("PUT", "/connectors/tailor/config", 201)]  # the second apply PUT nothing
    changed = tailor(connect, "apply", "--set", "max.batch.size=4096")
    assert changed.exit_code == 0 and "updated" in changed.output
    assert "max.batch.size: '2048' -> '4096'" in changed.output
    stored = connect.connectors["tailor"].config
    assert stored["database.password"].startswith("${file:")  # never the secret itself


def test_apply_rejected_config_says_why(connect: ConnectStandIn) -> None:
    result = tailor(connect, "apply", "--set", "slot.name=bad-slot")
    assert result.exit_code == 1
    assert "400" in result.output and "slot.name" in result.output
    assert "tailor connectors validate" in result.output
    assert "tailor" not in connect.connectors


def test_409_rebalance_is_retried(connect: ConnectStandIn) -> None:
    connect.inject(409, times=2)  # PUT/POST/DELETE, as Connect documents
    result = tailor(connect, "apply")
    assert result.exit_code == 0 and "created" in result.output, result.output
    assert [s for m, p, s in connect.log if m == "PUT"] == [409, 409, 201]


def test_5xx_is_retried_then_reported(connect: ConnectStandIn) -> None:
    connect.inject(503, times=1)
    ok = tailor(connect, "apply")
    assert ok.exit_code == 0, ok.output
    connect.inject(500, times=10, message="Request timed out")
    result = tailor(connect, "status", "--retries", "3")
    assert result.exit_code == 1
    assert "answered 500" in result.output and "Request timed out" in result.output
    assert "worker logs" in result.output
    assert [s for m, p, s in connect.log if p.endswith("/status")] == [500, 500, 500]


def test_slow_worker_times_out_with_a_clear_message(connect: ConnectStandIn) -> None:
    connect.slow(2.0, times=2)
    result = tailor(connect, "status", "--timeout", "0.5", "--retries", "2")
    assert result.exit_code == 1
    assert "timed out after 0.5 s" in result.output and "--timeout" in result.output


def test_status_shows_the_trace_of_a_failed_task(connect: ConnectStandIn) -> None:
    assert tailor(connect, "apply").exit_code == 0
    healthy = tailor(connect, "status")
    assert healthy.exit_code == 0 and "RUNNING" in healthy.output
    connect.fail_task("tailor", 0, trace="java.lang.IllegalStateException: boom at Line42")
    result = tailor(connect, "status")
    assert result.exit_code == 1
    assert "FAILED" in result.output
    assert "task 0 FAILED" in result.output
    assert "java.lang.IllegalStateException: boom at Line42" in result.output
    assert "tailor connectors restart" in result.output


def test_restart_touches_failed_tasks_only(connect: ConnectStandIn) -> None:
    assert tailor(connect, "apply").exit_code == 0
    nothing = tailor(connect, "restart")
    assert nothing.exit_code == 0 and "nothing to restart" in nothing.output
    connect.add_tasks("tailor", 2)  # tasks 0, 1, 2
    connect.fail_task("tailor", 1)
    result = tailor(connect, "restart")
    assert result.exit_code == 0, result.output
    assert "restarted: task 1" in result.output
    assert dict(connect.restarts) == {("tailor", 1): 1}  # not the connector, not 0 or 2
    assert [t.state for t in connect.connectors["tailor"].tasks] == ["RUNNING"] * 3
    assert ("POST", "/connectors/tailor/restart", 202) in connect.log


def test_unknown_connector_and_bad_credentials(connect: ConnectStandIn) -> None:
    missing = tailor(connect, "status", "--name", "nope")
    assert missing.exit_code == 1 and "no connector 'nope'" in missing.output
    assert "tailor connectors apply" in missing.output
    denied = tailor(connect, "status", password="wrong")
    assert denied.exit_code == 1
    assert "401" in denied.output and "User cannot access the resource." in denied.output
    assert "TAILOR_CONNECT_PASSWORD" in denied.output
    assert [s for _, _, s in connect.log][-1:] == [401]  # 401 is not retried


def test_unreachable_connect(pg: Settings) -> None:
    result = runner.invoke(
        app, ["connectors", "status", "--url", "http://127.0.0.1:9", "--retries", "1"]
    )
    assert result.exit_code == 1
    assert "cannot reach Kafka Connect at http://127.0.0.1:9" in result.output


def test_render_masks_secrets_unless_asked(pg: Settings, tmp_path) -> None:
    shown = runner.invoke(app, ["connectors", "render", "--embedded"])
    assert shown.exit_code == 0 and '"database.password": "***"' in shown.output
    out = tmp_path / "tailor.json"
    written = runner.invoke(app, ["connectors", "render", "--out", str(out)])
    assert written.exit_code == 0 and out.exists()
    assert "${file:/opt/kafka/secrets/tailor.properties:password}" in out.read_text()
