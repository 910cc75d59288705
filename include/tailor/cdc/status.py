"""Where capture stands, for ``tailor cdc status`` (and anyone who asks in Python).

Three places, read side by side because each answers a different question:

* the replication slot in the shop (:mod:`tailor.cdc.slot`): how much WAL the
  warehouse is behind (``lag_bytes`` = current WAL - confirmed position) and
  how much the shop keeps on disk for us (``retained_bytes`` = current WAL -
  restart position) — the number that fills a source disk if capture stops;
* ``raw.cdc_runs`` (:mod:`tailor.cdc.runs`): the last run, the last captured
  position and the source commit time it reached (``captured_through``);
* ``raw.cdc_events``: events per table and each table's newest change.

The heartbeat age is the time since Debezium last wrote
``public.debezium_heartbeat`` in the shop: while a capture runs it stays below
the heartbeat interval; between bounded runs it is the time since the last run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tailor.cdc.connector import HEARTBEAT_TABLE, SLOT_NAME
from tailor.cdc.runs import last_run
from tailor.cdc.slot import SlotStatus, slot_status
from tailor.config import Settings
from tailor.db.connect import connect


@dataclass(frozen=True)
class TableEvents:
    table: str
    events: int
    last_source_ts: datetime | None
    last_landed_at: datetime | None


@dataclass
class CaptureStatus:
    slot: SlotStatus
    last_run: dict[str, Any] | None
    last_captured_lsn: int | None  # the newest position any run landed
    captured_through: datetime | None  # source commit time of the newest landed change
    heartbeat_age_s: float | None  # since debezium_heartbeat was last written
    tables: list[TableEvents] = field(default_factory=list)


def capture_status(settings: Settings | None = None, slot_name: str = SLOT_NAME) -> CaptureStatus:
    """Read the slot, the runs and the change log (counts scan ``raw.cdc_events``)."""
    with connect("shop", settings) as shop:
        slot = slot_status(shop, slot_name)
        row = shop.execute(
            f"select extract(epoch from clock_timestamp() - max(beat_at)) from {HEARTBEAT_TABLE}"
        ).fetchone()
        heartbeat_age = None if row is None or row[0] is None else float(row[0])
    with connect("warehouse", settings) as wh:
        run = last_run(wh)
        position = wh.execute(
            "select max(last_lsn), max(captured_through) from raw.cdc_runs "
            "where status in ('succeeded', 'failed')"
        ).fetchone()
        tables = [
            TableEvents(*r)
            for r in wh.execute(
                "select source_table, count(*), max(source_ts), max(landed_at) "
                "from raw.cdc_events group by source_table order by source_table"
            ).fetchall()
        ]
        newest = wh.execute("select max(source_lsn), max(source_ts) from raw.cdc_events").fetchone()
    last_lsn = max((v for v in (position[0], newest[0]) if v is not None), default=None)
    through = max((v for v in (position[1], newest[1]) if v is not None), default=None)
    return CaptureStatus(slot, run, last_lsn, through, heartbeat_age, tables)
