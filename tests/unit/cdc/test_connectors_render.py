"""One connector definition (connector.yml), two runners: what each render holds."""

from __future__ import annotations

import pytest

from tailor.cdc import connector
from tailor.cdc.connector import common_properties, connector_properties, redacted
from tailor.config import get_settings

SHOP = "postgresql://shop_user:s3cret@shop-db:5432/shop"
WAREHOUSE = "postgresql://wh_user:wh-s3cret@wh-db:5432/warehouse"


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TAILOR_SOURCE_URL", SHOP)
    monkeypatch.setenv("TAILOR_WAREHOUSE_URL", WAREHOUSE)
    monkeypatch.delenv("TAILOR_CONNECT_SOURCE_URL", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_definition_renders_the_agreed_connector(settings) -> None:
    props = connector_properties(settings, embedded=False)
    tables = props["table.include.list"].split(",")
    assert tables[: len(connector.SHOP_TABLES)] == [f"public.{t}" for t in connector.SHOP_TABLES]
    assert tables[-2:] == ["public.debezium_heartbeat", "public.debezium_signal"]
    assert "public.orders" in tables and "public.customers" in tables
    assert props["publication.autocreate.mode"] == "filtered"
    assert props["slot.name"] == connector.SLOT_NAME == "tailor_slot"
    assert props["snapshot.mode"] == "initial"
    assert props["heartbeat.interval.ms"] == "10000"
    assert props["heartbeat.action.query"] == (
        "insert into public.debezium_heartbeat (id, beat_at) values (1, now()) "
        "on conflict (id) do update set beat_at = excluded.beat_at"
    )
    assert props["signal.data.collection"] == "public.debezium_signal"  # Postgres: schema.table
    assert props["signal.enabled.channels"] == "source"
    assert props["decimal.handling.mode"] == "string"
    assert props["time.precision.mode"] == "isostring"
    assert props["column.exclude.list"] == "public.customers.password_hash"
    assert props["unavailable.value.placeholder"] == "__debezium_unavailable_value"
    assert all(isinstance(v, str) for v in props.values())


def test_kafka_connect_render_has_converters_and_no_secret(settings) -> None:
    props = connector_properties(settings, embedded=False)
    assert props["name"] == "tailor"
    assert props["key.converter"] == props["value.converter"] == (
        "org.apache.kafka.connect.json.JsonConverter"
    )
    assert props["value.converter.schemas.enable"] == "false"
    assert props["database.password"] == "${file:/opt/kafka/secrets/tailor.properties:password}"
    assert "s3cret" not in str(props) and "wh-s3cret" not in str(props)
    assert not any(k.startswith("offset.storage") for k in props)
    assert (props["database.hostname"], props["database.port"], props["database.dbname"]) == (
        "shop-db", "5432", "shop",
    )
    # a reference is not a secret: render keeps it as Kafka Connect needs it
    assert redacted(props)["database.password"] == props["database.password"]


def test_connect_source_url_is_how_the_workers_reach_the_shop(settings, monkeypatch) -> None:
    monkeypatch.setenv("TAILOR_CONNECT_SOURCE_URL", "postgresql://debezium@source-db:5432/shop")
    get_settings.cache_clear()
    props = connector_properties(get_settings(), embedded=False)
    assert (props["database.hostname"], props["database.user"]) == ("source-db", "debezium")
    embedded = connector_properties(get_settings())
    assert embedded["database.hostname"] == "shop-db"  # the embedded engine is not affected


def test_embedded_render_adds_only_runner_keys(settings) -> None:
    embedded = connector_properties(settings)
    kafka = connector_properties(settings, embedded=False)
    assert embedded["database.password"] == "s3cret"
    assert embedded["offset.storage.jdbc.connection.url"] == "jdbc:postgresql://wh-db:5432/warehouse"
    assert "raw.cdc_offsets" in embedded["offset.storage.jdbc.table.select"]
    assert redacted(embedded)["database.password"] == "***"
    assert redacted(embedded)["offset.storage.jdbc.connection.password"] == "***"
    # Nothing configured twice: every shared key has one value, except what a
    # runner section deliberately overrides (embedded heartbeats for bounded runs).
    common = common_properties()
    differ = {k for k in common if embedded[k] != kafka[k]}
    assert differ == {"heartbeat.interval.ms"}
    assert embedded["heartbeat.interval.ms"] == "1000"


def test_per_run_overrides(settings) -> None:
    props = connector_properties(settings, heartbeat_ms=250, max_batch_size=100)
    assert props["heartbeat.interval.ms"] == "250"
    assert (props["max.batch.size"], props["max.queue.size"]) == ("100", "400")
