"""Where the source's WAL is and where the replication slot stands.

The capture run needs three numbers from the source: the WAL position at its
start (what "caught up" means), how far the walsender has decoded (to stop
without waiting out an idle timer), and the slot's confirmed position at the
end (the lag a person sees, and what PostgreSQL must keep on disk for us).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from tailor.cdc.connector import SLOT_NAME


@dataclass(frozen=True)
class SlotStatus:
    """The replication slot as PostgreSQL sees it (LSNs as integers)."""

    slot_name: str
    exists: bool
    active: bool = False
    confirmed_flush_lsn: int | None = None
    restart_lsn: int | None = None  # the oldest WAL the slot still needs
    sent_lsn: int | None = None  # how far the walsender has decoded, while streaming
    current_lsn: int = 0

    @property
    def lag_bytes(self) -> int | None:
        """WAL the slot still holds back: ``pg_current_wal_lsn() - confirmed_flush_lsn``."""
        if self.confirmed_flush_lsn is None:
            return None
        return max(0, self.current_lsn - self.confirmed_flush_lsn)

    @property
    def retained_bytes(self) -> int | None:
        """WAL kept on disk for the slot: ``pg_current_wal_lsn() - restart_lsn``."""
        if self.restart_lsn is None:
            return None
        return max(0, self.current_lsn - self.restart_lsn)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "lag_bytes": self.lag_bytes, "retained_bytes": self.retained_bytes}


def lsn_text(lsn: int | None) -> str:
    """The ``X/Y`` form PostgreSQL prints, for people."""
    if lsn is None:
        return "-"
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def current_lsn(conn: psycopg.Connection) -> int:
    row = conn.execute("select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint").fetchone()
    assert row is not None
    return int(row[0])


def slot_status(conn: psycopg.Connection, slot_name: str = SLOT_NAME) -> SlotStatus:
    """The slot's state; ``exists=False`` before the first capture created it."""
    row = conn.execute(
        """
        select s.active,
               pg_wal_lsn_diff(s.confirmed_flush_lsn, '0/0')::bigint,
               pg_wal_lsn_diff(s.restart_lsn, '0/0')::bigint,
               pg_wal_lsn_diff(r.sent_lsn, '0/0')::bigint,
               pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint
        from pg_replication_slots s
        left join pg_stat_replication r on r.pid = s.active_pid
        where s.slot_name = %s
        """,
        (slot_name,),
    ).fetchone()
    if row is None:
        return SlotStatus(slot_name=slot_name, exists=False, current_lsn=current_lsn(conn))
    active, confirmed, restart, sent, current = row
    return SlotStatus(
        slot_name=slot_name,
        exists=True,
        active=bool(active),
        confirmed_flush_lsn=confirmed,
        restart_lsn=restart,
        sent_lsn=sent,
        current_lsn=current,
    )
