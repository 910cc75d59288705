"""Re-snapshot shop tables through Debezium's signal table (incremental snapshot).

Why a signal and not a fresh initial snapshot: deleting ``raw.cdc_offsets``
re-reads *every* table and stops streaming while it does; an incremental
snapshot re-reads only the named tables, in chunks, interleaved with the live
stream (Debezium's watermarking keeps the two consistent), so it is safe while
the shop is busy. Use it after a table was repaired in the shop outside the
change stream (restored from a backup, bulk-fixed with replication off), or
when staging for a table is in doubt.

How: ``tailor cdc snapshot orders customers`` inserts one ``execute-snapshot``
row into ``public.debezium_signal`` (``signal.data.collection`` in
``connector.yml``). The insert travels through the WAL like any change; the
next capture run (embedded or Kafka Connect) reads it and re-reads the tables:
their rows land as op ``r`` with ``source.snapshot = 'incremental'``, each
newer than the changes before it, so staging (latest change per key) stays
correct. A bounded ``tailor cdc capture`` does not stop while the incremental
snapshot is in progress (its committed offset says so; see
:mod:`tailor.cdc.worker`), so one run finishes it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from tailor.cdc.connector import SHOP_TABLES, SIGNAL_TABLE, SOURCE_SCHEMA
from tailor.config import Settings
from tailor.db.connect import connect

SIGNAL_TYPE = "execute-snapshot"


class UnknownTableError(ValueError):
    """A table the connector does not capture (so Debezium would ignore the signal)."""


def snapshot_signal(tables: Sequence[str]) -> tuple[str, str, str]:
    """The ``(id, type, data)`` row that asks Debezium to re-read ``tables``."""
    names = []
    for table in tables:
        name = table.split(".", 1)[1] if table.startswith(f"{SOURCE_SCHEMA}.") else table
        if name not in SHOP_TABLES:
            raise UnknownTableError(
                f"'{table}' is not a captured shop table; captured tables are: "
                f"{', '.join(SHOP_TABLES)} (source.tables in include/tailor/cdc/connector.yml)"
            )
        qualified = f"{SOURCE_SCHEMA}.{name}"
        if qualified not in names:
            names.append(qualified)
    if not names:
        raise UnknownTableError("name at least one table to re-snapshot, e.g. 'orders'")
    data = json.dumps({"data-collections": names, "type": "incremental"})
    return f"tailor-{uuid.uuid4().hex}", SIGNAL_TYPE, data  # id: varchar(42)


def request_snapshot(tables: Sequence[str], settings: Settings | None = None) -> str:
    """Insert the signal into the shop; returns its id. The next capture run acts on it."""
    signal_id, signal_type, data = snapshot_signal(tables)
    with connect("shop", settings) as shop:
        shop.execute(
            f"insert into {SIGNAL_TABLE} (id, type, data) values (%s, %s, %s)",
            (signal_id, signal_type, data),
        )
    return signal_id
