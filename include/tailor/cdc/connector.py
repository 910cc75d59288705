"""The Debezium Postgres connector configuration, rendered from ``connector.yml``.

One definition (``connector.yml`` next to this file), one function,
:func:`connector_properties`, so the embedded engine and the Kafka Connect
deployment (``tailor connectors render|apply``) capture the same tables the
same way: nothing is configured twice. The runner sections of the YAML add
only what one runner needs (offset storage for the embedded engine;
converters, topic settings and a config-provider password for Kafka Connect).
Value choices that the warehouse depends on:

* ``decimal.handling.mode=string`` and ``time.precision.mode=isostring``: the
  landed JSON is human-readable and casts in SQL as-is —
  ``(after->>'order_total')::numeric``, ``(after->>'birth_date')::date``,
  ``(after->>'ordered_at')::timestamptz`` (timestamptz is always an ISO string).
* JSON converters without schemas: ``raw.cdc_events`` keeps the envelope, not
  the Connect schema (which would multiply the row size by ~5).
* ``skipped.operations=none``: truncates are landed too (op ``t``), so staging
  can tell "table emptied" from "no news".
* ``heartbeat.action.query`` writes to ``public.debezium_heartbeat`` (a
  captured table), so the slot advances even when every shop table is quiet;
  ``public.debezium_signal`` is the source channel for incremental snapshots.

How offsets are kept (the guarantee behind "never lose a change")
------------------------------------------------------------------
The authoritative offsets live in ``warehouse.raw.cdc_offsets`` and are written
by the landing code in the SAME transaction as the rows of the batch they
cover (:func:`tailor.cdc.landing.land_batch`). So the offsets can never be
ahead of, or behind, what is in ``raw.cdc_events``.

Debezium reads them back through its bundled JDBC offset store
(``io.debezium.storage.jdbc.offset.JdbcOffsetBackingStore``), whose SELECT is
configurable: it is pointed at ``raw.cdc_offsets``. Its own periodic writes go
to a shadow table, ``raw.cdc_engine_offsets``, which nothing reads back (kept
for diagnosis only). Debezium confirms the LSN to the replication slot only
after it committed offsets for records marked processed, and records are
marked processed only after the landing transaction committed — so the slot
never releases WAL that has not landed. A crash between the two replays a
window that the unique key of ``raw.cdc_events`` turns into no-ops.

Resetting the warehouse therefore resets the offsets with it (no stale file
under ``.tailor/`` pointing at a position the new warehouse never saw).

Under Kafka Connect the offsets are Connect's (its offsets topic) and the
Kafka consumer's (:mod:`tailor.cdc.kafka_source` commits them only after the
landing transaction); the idempotent landing makes any replay harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from tailor.config import Settings
from tailor.db.connect import database_url, url_parts

DEFINITION_FILE = "connector.yml"
SECRET_MASK = "***"


class ConnectorDefinitionError(ValueError):
    """``connector.yml`` is missing a key or has the wrong shape; the message names it."""


@dataclass(frozen=True)
class ConnectorDefinition:
    """``connector.yml``, read once and checked, with the derived names."""

    raw: dict[str, Any]

    def get(self, *path: str) -> Any:
        node: Any = self.raw
        for i, key in enumerate(path):
            if not isinstance(node, dict) or key not in node:
                where = ".".join(path[: i + 1])
                raise ConnectorDefinitionError(
                    f"{DEFINITION_FILE}: '{where}' is missing; see the comments in "
                    f"include/tailor/cdc/{DEFINITION_FILE} for the expected layout"
                )
            node = node[key]
        return node

    @property
    def name(self) -> str:
        return str(self.get("name"))

    @property
    def connector_class(self) -> str:
        return str(self.get("connector_class"))

    @property
    def topic_prefix(self) -> str:
        return str(self.get("topic_prefix"))

    @property
    def schema(self) -> str:
        return str(self.get("source", "schema"))

    @property
    def shop_tables(self) -> tuple[str, ...]:
        return tuple(str(t) for t in self.get("source", "tables"))

    @property
    def heartbeat_table(self) -> str:
        return f"{self.schema}.{self.get('source', 'heartbeat_table')}"

    @property
    def signal_table(self) -> str:
        return f"{self.schema}.{self.get('source', 'signal_table')}"

    @property
    def captured_tables(self) -> tuple[str, ...]:
        """Schema-qualified: the shop tables, then Debezium's heartbeat and signal tables."""
        shop = tuple(f"{self.schema}.{t}" for t in self.shop_tables)
        return (*shop, self.heartbeat_table, self.signal_table)

    @property
    def excluded_columns(self) -> tuple[str, ...]:
        return tuple(f"{self.schema}.{c}" for c in self.get("source", "excluded_columns"))

    def topic(self, table: str) -> str:
        """The Kafka topic of a shop table: ``tailor.public.orders``."""
        return f"{self.topic_prefix}.{self.schema}.{table}"


@cache
def load_definition() -> ConnectorDefinition:
    """The packaged ``connector.yml`` (cached: it is part of the code, not of the settings)."""
    text = resources.files("tailor.cdc").joinpath(DEFINITION_FILE).read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise ConnectorDefinitionError(f"{DEFINITION_FILE} is not a YAML mapping")
    definition = ConnectorDefinition(raw)
    for key in ("name", "connector_class", "topic_prefix"):
        definition.get(key)
    return definition


_DEFINITION = load_definition()

# Names other modules import (landing, slot, runs, the Kafka source).
CONNECTOR_NAME = _DEFINITION.name
CONNECTOR_CLASS = _DEFINITION.connector_class
TOPIC_PREFIX = _DEFINITION.topic_prefix
SLOT_NAME = str(_DEFINITION.get("replication", "slot"))
PUBLICATION_NAME = str(_DEFINITION.get("replication", "publication"))
SOURCE_SCHEMA = _DEFINITION.schema
SHOP_TABLES: tuple[str, ...] = _DEFINITION.shop_tables
HEARTBEAT_TABLE = _DEFINITION.heartbeat_table
SIGNAL_TABLE = _DEFINITION.signal_table
EXCLUDED_COLUMNS: tuple[str, ...] = _DEFINITION.excluded_columns
OFFSETS_TABLE = str(_DEFINITION.get("runners", "embedded", "offset_table"))
ENGINE_OFFSETS_TABLE = str(_DEFINITION.get("runners", "embedded", "engine_offset_table"))
HEARTBEAT_TOPIC_PREFIX = "__debezium-heartbeat"


def _jdbc_url(parts: dict[str, str | int]) -> str:
    return f"jdbc:postgresql://{parts['host']}:{parts['port']}/{parts['dbname']}"


def _strings(mapping: dict[str, Any], where: str) -> dict[str, str]:
    """YAML scalars -> the strings Debezium/Kafka Connect want ("true", not True)."""
    out: dict[str, str] = {}
    for key, value in (mapping or {}).items():
        if isinstance(value, dict | list) or value is None:
            raise ConnectorDefinitionError(
                f"{DEFINITION_FILE}: {where}.{key} must be a single value, got {value!r}"
            )
        out[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def common_properties(definition: ConnectorDefinition | None = None) -> dict[str, str]:
    """The runner-independent Debezium properties (no database coordinates)."""
    d = definition or load_definition()
    props = {
        "connector.class": d.connector_class,
        "topic.prefix": d.topic_prefix,
        "plugin.name": str(d.get("replication", "plugin")),
        "slot.name": str(d.get("replication", "slot")),
        "publication.name": str(d.get("replication", "publication")),
        "publication.autocreate.mode": str(d.get("replication", "publication_autocreate")),
        "schema.include.list": d.schema,
        "table.include.list": ",".join(d.captured_tables),
        "column.exclude.list": ",".join(d.excluded_columns),
        "heartbeat.interval.ms": str(d.get("heartbeat", "interval_ms")),
        "heartbeat.action.query": str(d.get("heartbeat", "action_query")).format(
            table=d.heartbeat_table
        ),
        "signal.data.collection": d.signal_table,  # Postgres form: <schema>.<table>
    }
    for key, value in _strings(d.get("properties"), "properties").items():
        if key in props:
            raise ConnectorDefinitionError(
                f"{DEFINITION_FILE}: properties.{key} is already set from the structured "
                "keys above; configure it in one place only"
            )
        props[key] = value
    return props


def _runner_properties(d: ConnectorDefinition, runner: str) -> dict[str, str]:
    return _strings(d.get("runners", runner, "properties"), f"runners.{runner}.properties")


def connector_properties(
    settings: Settings,
    *,
    embedded: bool = True,
    heartbeat_ms: int | None = None,
    max_batch_size: int | None = None,
) -> dict[str, str]:
    """Debezium properties for the shop database, rendered from ``connector.yml``.

    ``embedded=True`` adds what only the embedded engine needs (engine name,
    offset store in the warehouse, converter settings); ``False`` gives the
    connector config as Kafka Connect wants it (converters, topic creation,
    the password as a config-provider reference, never the secret).
    ``heartbeat_ms`` / ``max_batch_size`` override the definition for one run
    (tests, benchmarks); by default the YAML decides.
    """
    d = load_definition()
    props = common_properties(d)
    props.update(_runner_properties(d, "embedded" if embedded else "kafka_connect"))
    props["name"] = d.name

    if not embedded and settings.connect_source_url:
        shop_url = settings.connect_source_url  # how Connect's workers reach the shop
    else:
        shop_url = database_url("shop", settings)
    shop = url_parts(shop_url)
    props.update(
        {
            "database.hostname": str(shop["host"]),
            "database.port": str(shop["port"]),
            "database.user": str(shop["user"]),
            "database.dbname": str(shop["dbname"]),
        }
    )
    if heartbeat_ms is not None:
        props["heartbeat.interval.ms"] = str(heartbeat_ms)
    if max_batch_size is not None:
        props["max.batch.size"] = str(max_batch_size)
        props["max.queue.size"] = str(max_batch_size * 4)

    if not embedded:
        props["database.password"] = str(d.get("runners", "kafka_connect", "password_reference"))
        return dict(sorted(props.items()))

    props["database.password"] = str(shop["password"])
    warehouse = url_parts(database_url("warehouse", settings))
    prefix = "offset.storage.jdbc."
    props.update(
        {
            "offset.storage": "io.debezium.storage.jdbc.offset.JdbcOffsetBackingStore",
            prefix + "connection.url": _jdbc_url(warehouse),
            prefix + "connection.user": str(warehouse["user"]),
            prefix + "connection.password": str(warehouse["password"]),
            prefix + "table.name": ENGINE_OFFSETS_TABLE,
            prefix + "table.ddl": (
                "create table if not exists %s (id varchar(36) primary key, offset_key text, "
                "offset_val text, record_insert_ts timestamp not null, "
                "record_insert_seq integer not null)"
            ),
            # Read back what the landing transactions committed, not the shadow.
            prefix + "table.select": (
                f"select offset_key, offset_value as offset_val from {OFFSETS_TABLE} "
                f"where connector = '{CONNECTOR_NAME}'"
            ),
        }
    )
    return props


def is_secret_key(key: str) -> bool:
    return "password" in key or key.endswith(("secret", ".token", "sasl.jaas.config"))


def is_config_reference(value: str) -> bool:
    """``${provider:path:key}``: a pointer Kafka Connect resolves, not a secret."""
    return value.startswith("${") and value.endswith("}")


def redacted(props: dict[str, str]) -> dict[str, str]:
    """The properties with every secret masked, for logs and `render` output.

    Config-provider references (``${file:...}``) are kept: they say where the
    secret is, not what it is, and Kafka Connect needs them verbatim.
    """
    return {
        k: (SECRET_MASK if is_secret_key(k) and v and not is_config_reference(v) else v)
        for k, v in props.items()
    }
