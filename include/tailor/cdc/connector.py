"""The Debezium Postgres connector configuration, rendered from settings.

One function, :func:`connector_properties`, so the embedded engine and the
Kafka Connect deployment (``tailor connectors render``) capture the same tables
the same way. Value choices that the warehouse depends on:

* ``decimal.handling.mode=string`` and ``time.precision.mode=isostring``: the
  landed JSON is human-readable and casts in SQL as-is —
  ``(after->>'order_total')::numeric``, ``(after->>'birth_date')::date``,
  ``(after->>'ordered_at')::timestamptz`` (timestamptz is always an ISO string).
* JSON converters without schemas: ``raw.cdc_events`` keeps the envelope, not
  the Connect schema (which would multiply the row size by ~5).
* ``skipped.operations=none``: truncates are landed too (op ``t``), so staging
  can tell "table emptied" from "no news".

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
"""

from __future__ import annotations

from tailor.config import Settings
from tailor.db.connect import database_url, url_parts

CONNECTOR_NAME = "tailor"
TOPIC_PREFIX = "tailor"
SLOT_NAME = "tailor_slot"
PUBLICATION_NAME = "tailor_publication"
SOURCE_SCHEMA = "public"

# Every shop table except the importers' quarantine (not shop data). The
# `truth` schema (the generator's answers) is never captured. Keep in step
# with include/tailor/db/migrations/shop/: a new table is captured only once
# it is listed here (the publication is rebuilt from this list on start).
SHOP_TABLES: tuple[str, ...] = (
    "customers",
    "categories",
    "products",
    "devices",
    "anonymous_ids",
    "customer_devices",
    "orders",
    "order_items",
    "carts",
    "cart_items",
    "web_events",
    "email_events",
    "consents",
    "interests",
)
EXCLUDED_COLUMNS: tuple[str, ...] = ("public.customers.password_hash",)

OFFSETS_TABLE = "raw.cdc_offsets"
ENGINE_OFFSETS_TABLE = "raw.cdc_engine_offsets"
HEARTBEAT_TOPIC_PREFIX = "__debezium-heartbeat"


def _jdbc_url(parts: dict[str, str | int]) -> str:
    return f"jdbc:postgresql://{parts['host']}:{parts['port']}/{parts['dbname']}"


def connector_properties(
    settings: Settings,
    *,
    embedded: bool = True,
    heartbeat_ms: int = 1000,
    max_batch_size: int = 2048,
) -> dict[str, str]:
    """Debezium properties for the shop database.

    ``embedded=True`` adds what only the embedded engine needs (engine name,
    offset store in the warehouse, converters); ``False`` gives the connector
    config proper, as Kafka Connect wants it.
    """
    shop = url_parts(database_url("shop", settings))
    props: dict[str, str] = {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "tasks.max": "1",
        "topic.prefix": TOPIC_PREFIX,
        "database.hostname": str(shop["host"]),
        "database.port": str(shop["port"]),
        "database.user": str(shop["user"]),
        "database.password": str(shop["password"]),
        "database.dbname": str(shop["dbname"]),
        "plugin.name": "pgoutput",
        "slot.name": SLOT_NAME,
        "publication.name": PUBLICATION_NAME,
        "publication.autocreate.mode": "filtered",
        "schema.include.list": SOURCE_SCHEMA,
        "table.include.list": ",".join(f"{SOURCE_SCHEMA}.{t}" for t in SHOP_TABLES),
        "column.exclude.list": ",".join(EXCLUDED_COLUMNS),
        "snapshot.mode": "initial",
        "decimal.handling.mode": "string",
        "time.precision.mode": "isostring",
        "interval.handling.mode": "string",
        "binary.handling.mode": "base64",
        "skipped.operations": "none",
        "tombstones.on.delete": "true",
        "heartbeat.interval.ms": str(heartbeat_ms),
        "max.batch.size": str(max_batch_size),
        "max.queue.size": str(max_batch_size * 4),
        "poll.interval.ms": "100",
        "status.update.interval.ms": "1000",
    }
    if not embedded:
        return props

    warehouse = url_parts(database_url("warehouse", settings))
    prefix = "offset.storage.jdbc."
    props.update(
        {
            "name": CONNECTOR_NAME,
            "key.converter.schemas.enable": "false",
            "value.converter.schemas.enable": "false",
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
            # Flush after every batch: the slot is released as soon as rows landed.
            "offset.flush.interval.ms": "0",
            "offset.flush.timeout.ms": "10000",
        }
    )
    return props


def redacted(props: dict[str, str]) -> dict[str, str]:
    """The properties with every password masked, for logs and `render` output."""
    return {k: ("***" if "password" in k and v else v) for k, v in props.items()}
