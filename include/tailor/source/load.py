"""Bulk loading of generated tables into the shop with COPY.

Tables are serialised to CSV by pyarrow (C++, releases the GIL) and streamed
with psycopg's ``COPY ... FROM STDIN`` on a small pool of connections, so two
server backends parse in parallel while Python builds the next tables. Writes
stay fully WAL-logged: Debezium must see every row. For a fresh load, large
tables have their indexes dropped and rebuilt inside the same transaction,
and a superuser session skips foreign-key triggers (the generator keeps
references consistent by construction).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from tailor.config import Settings
from tailor.db.connect import connect

# identity columns to move past explicit ids after a load
IDENTITY = {
    "customers": "customer_id",
    "orders": "order_id",
    "carts": "cart_id",
    "web_events": "event_id",
    "email_events": "event_id",
    "consents": "consent_id",
}
REBUILD_INDEXES_ABOVE = 20_000
_CHUNK = 4 << 20


@dataclass
class LoadStats:
    """Rows and seconds per table, filled as loads finish."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def to_csv(table: pa.Table) -> pa.Buffer:
    """The table as headerless CSV (nulls as empty unquoted fields = SQL NULL)."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, batch_size=65_536))
    return sink.getvalue()


def copy_into(conn: psycopg.Connection, name: str, table: pa.Table) -> None:
    """``COPY name (columns) FROM STDIN`` with the table's rows."""
    data = memoryview(to_csv(table))
    columns = ", ".join(table.column_names)
    with conn.cursor().copy(f"copy {name} ({columns}) from stdin (format csv)") as copy:
        for i in range(0, len(data), _CHUNK):
            copy.write(data[i:i + _CHUNK])


def is_superuser(conn: psycopg.Connection) -> bool:
    return conn.execute("select current_setting('is_superuser') = 'on'").fetchone()[0]


def _droppable_indexes(conn: psycopg.Connection, name: str) -> list[tuple[str, str]]:
    """(drop statement, re-create statement) for indexes safe to drop during a load.

    Constraint-backed indexes of a table other tables reference stay: foreign
    keys depend on them.
    """
    rows = conn.execute(
        """
        select i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
               c.conname, pg_get_constraintdef(c.oid),
               exists (select 1 from pg_constraint f where f.contype = 'f' and f.confrelid = i.indrelid)
        from pg_index i
        left join pg_constraint c on c.conindid = i.indexrelid and c.conrelid = i.indrelid
        where i.indrelid = %s::regclass
        """,
        (name,),
    ).fetchall()
    out = []
    for index, index_def, constraint, constraint_def, referenced in rows:
        if constraint is None:
            out.append((f"drop index {index}", index_def))
        elif not referenced:
            out.append((f'alter table {name} drop constraint "{constraint}"',
                        f'alter table {name} add constraint "{constraint}" {constraint_def}'))
    return out


def load_one(settings: Settings | None, name: str, table: pa.Table, *, bulk: bool) -> float:
    """Load one table in its own transaction; returns seconds taken."""
    started = time.perf_counter()
    with connect("shop", settings) as conn:
        conn.execute("set synchronous_commit = off")
        if bulk and is_superuser(conn):
            conn.execute("set session_replication_role = replica")
        indexes = _droppable_indexes(conn, name) if bulk and table.num_rows > REBUILD_INDEXES_ABOVE else []
        for drop, _ in indexes:
            conn.execute(drop)
        copy_into(conn, name, table)
        for _, create in indexes:
            conn.execute(create)
    return time.perf_counter() - started


def set_sequences(conn: psycopg.Connection) -> None:
    """Move identity sequences past the explicit ids the generator wrote."""
    for name, column in IDENTITY.items():
        conn.execute(
            f"select setval(pg_get_serial_sequence('{name}', '{column}'), "
            f"coalesce(max({column}), 0) + 1, false) from {name}"
        )


class Loader:
    """Runs fresh-seed table loads on a small thread pool while the caller keeps generating.

    Only for empty tables (the index / trigger shortcuts assume it); incremental
    slices use :func:`copy_into` on one transaction so they behave like the
    shop's own writes.
    """

    def __init__(self, settings: Settings | None, *, workers: int = 2,
                 on_done: Callable[[str, int], None] | None = None) -> None:
        self.settings = settings
        self.stats = LoadStats()
        self.on_done = on_done
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tailor-copy")
        self._futures: list[Future] = []

    def submit(self, tables: Iterable[tuple[str, pa.Table]]) -> None:
        for name, table in tables:
            self._futures.append(self._pool.submit(self._run, name, table))

    def _run(self, name: str, table: pa.Table) -> None:
        seconds = load_one(self.settings, name, table, bulk=True)
        with self.stats.lock:
            self.stats.rows[name] = self.stats.rows.get(name, 0) + table.num_rows
            self.stats.seconds[name] = seconds
        if self.on_done:
            self.on_done(name, table.num_rows)

    def wait(self) -> LoadStats:
        """Block until every load finished; re-raise the first failure."""
        try:
            for future in self._futures:
                future.result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
        return self.stats
