"""Bulk loading of generated tables into the shop with binary COPY straight from Arrow.

A fresh seed writes about a million rows, and on a small machine the old route
(pyarrow writes CSV, the server parses it back) spent most of its time turning
numbers and timestamps into text and back. Fresh loads now go through the
Apache Arrow ADBC PostgreSQL driver (``adbc_ingest``): it encodes Arrow
columns as ``COPY ... FROM STDIN (FORMAT binary)`` in C without holding the
GIL, and the server only copies fixed-width values instead of parsing them.

Binary COPY is strict: every value must arrive in exactly the target column's
type (``int4`` is four bytes, not eight; ``numeric`` is base-10000 digits).
So each table's column types are read from the catalog on the loading
connection and the Arrow table is cast to match (:func:`arrow_type` is the
whole mapping). Casts are checked: an integer that does not fit, or a float
that is not already rounded to the column's scale, is an error rather than a
value that differs from what the CSV route stored. ``jsonb`` goes as Arrow's
JSON extension type, which the driver sends with jsonb's version byte.

What the loader guarantees is unchanged: writes stay fully WAL-logged
(Debezium must see every row, never UNLOGGED); each table loads in its own
transaction on a small pool of connections; for a fresh load, large tables
have their indexes dropped and rebuilt inside that transaction, and a
superuser session skips foreign-key triggers (the generator keeps references
consistent by construction).

Incremental slices (:func:`copy_into`) still use CSV over the caller's
psycopg connection: they are small and must share one transaction with the
updates and deletes of the same slice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import adbc_driver_postgresql.dbapi as adbc
import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from tailor.config import Settings
from tailor.db.connect import NotRunningError, database_url

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

# PostgreSQL type name -> the Arrow type ADBC encodes as that type's binary
# COPY form. numeric is handled in arrow_type (its precision and scale come
# from the column's typmod).
_ARROW_TYPES: dict[str, pa.DataType] = {
    "bool": pa.bool_(),
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "text": pa.string(),
    "varchar": pa.string(),
    "bpchar": pa.string(),       # char(n): the server pads / checks length, as for text input
    "date": pa.date32(),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "timestamp": pa.timestamp("us"),
    "jsonb": pa.json_(pa.string()),
}


@dataclass
class LoadStats:
    """Rows and seconds per table, filled as loads finish."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def arrow_type(pg_type: str, typmod: int) -> pa.DataType:
    """The Arrow type that binary COPY carries into a column of ``pg_type``."""
    if pg_type == "numeric":
        if typmod < 4:
            raise TypeError(
                "numeric without precision and scale: give the column a declared "
                "numeric(p, s) so generated values have one exact decimal form"
            )
        precision, scale = (typmod - 4) >> 16, (typmod - 4) & 0xFFFF
        return pa.decimal128(precision, scale)
    try:
        return _ARROW_TYPES[pg_type]
    except KeyError:
        raise TypeError(
            f"no binary COPY mapping for PostgreSQL type '{pg_type}': add it to _ARROW_TYPES in {__name__}"
        ) from None


def _on_scale(values: pa.ChunkedArray, scale: int) -> bool:
    """Is every float the nearest double to a decimal with ``scale`` decimals?

    Then its shortest text form (what CSV sent) has at most ``scale`` decimals
    and the binary decimal is that same number; otherwise the server would have
    rounded the text, and the two routes could differ in the last cent.
    """
    x = values.to_numpy()
    unit = 10.0 ** scale
    return bool(np.all((np.rint(x * unit) / unit == x) | np.isnan(x)))


def conform(name: str, table: pa.Table, columns: dict[str, tuple[str, int]]) -> pa.Table:
    """``table`` cast column by column to the target's types (``columns``: name -> (type, typmod)).

    Raises ``ValueError`` naming the column when a value would change on the
    way (integer overflow, a float with more decimals than the column keeps).
    """
    unknown = [c for c in table.column_names if c not in columns]
    if unknown:
        raise ValueError(f"{name} has no column(s) {', '.join(unknown)}: the generator and the shop schema disagree")
    fields, arrays = [], []
    for column_name, values in zip(table.column_names, table.columns, strict=True):
        pg_type, typmod = columns[column_name]
        try:
            target = arrow_type(pg_type, typmod)
            cast = values.cast(target)
            if pa.types.is_decimal(target) and pa.types.is_floating(values.type) and not _on_scale(values, target.scale):
                raise ValueError(f"values are not rounded to {target.scale} decimals")
        except (TypeError, ValueError, pa.ArrowInvalid) as exc:
            raise ValueError(
                f"Cannot load {name}.{column_name} ({values.type}) into a {pg_type} column: {exc}. "
                "Fix the generator's output type or rounding for this column."
            ) from exc
        fields.append(pa.field(column_name, target, nullable=table.schema.field(column_name).nullable))
        arrays.append(cast)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def to_csv(table: pa.Table) -> pa.Buffer:
    """The table as headerless CSV (nulls as empty unquoted fields = SQL NULL)."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, batch_size=65_536))
    return sink.getvalue()


def copy_into(conn: psycopg.Connection, name: str, table: pa.Table) -> None:
    """``COPY name (columns) FROM STDIN`` (CSV) with the table's rows, on the caller's transaction."""
    data = memoryview(to_csv(table))
    columns = ", ".join(table.column_names)
    with conn.cursor().copy(f"copy {name} ({columns}) from stdin (format csv)") as copy:
        for i in range(0, len(data), _CHUNK):
            copy.write(data[i:i + _CHUNK])


def is_superuser(conn: psycopg.Connection) -> bool:
    return conn.execute("select current_setting('is_superuser') = 'on'").fetchone()[0]


_TYPES_SQL = """
select a.attname, t.typname, a.atttypmod
from pg_attribute a join pg_type t on t.oid = a.atttypid
where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped
"""

_INDEXES_SQL = """
select i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
       c.conname, pg_get_constraintdef(c.oid),
       exists (select 1 from pg_constraint f where f.contype = 'f' and f.confrelid = i.indrelid)
from pg_index i
left join pg_constraint c on c.conindid = i.indexrelid and c.conrelid = i.indrelid
where i.indrelid = $1::regclass
"""


def _droppable_indexes(cur: adbc.Cursor, name: str) -> list[tuple[str, str]]:
    """(drop statement, re-create statement) for indexes safe to drop during a load.

    Constraint-backed indexes of a table other tables reference stay: foreign
    keys depend on them.
    """
    cur.execute(_INDEXES_SQL, (name,))
    out = []
    for index, index_def, constraint, constraint_def, referenced in cur.fetchall():
        if constraint is None:
            out.append((f"drop index {index}", index_def))
        elif not referenced:
            out.append((f'alter table {name} drop constraint "{constraint}"',
                        f'alter table {name} add constraint "{constraint}" {constraint_def}'))
    return out


def _open(settings: Settings | None, *, bulk: bool) -> adbc.Connection:
    """An ADBC connection to the shop, set up for loading.

    The session settings are committed at once so that a later table's
    rollback on the same connection cannot undo them.
    """
    url = database_url("shop", settings)
    try:
        conn = adbc.connect(url)
    except adbc.Error as exc:
        raise NotRunningError(
            f"Cannot connect to the 'shop' database for a bulk load: {exc}. "
            "Is it running? Try 'tailor db up' (embedded) or check TAILOR_SOURCE_URL."
        ) from exc
    try:
        with conn.cursor() as cur:
            cur.execute("set synchronous_commit = off")
            if bulk:
                cur.execute("select current_setting('is_superuser') = 'on'")
                if cur.fetchone()[0]:
                    cur.execute("set session_replication_role = replica")
        conn.commit()
    except BaseException:
        conn.close()
        raise
    return conn


def _load(conn: adbc.Connection, name: str, table: pa.Table, *, bulk: bool) -> None:
    """Load one table on ``conn`` in its own transaction: committed on success, rolled back on error."""
    schema, _, relname = name.rpartition(".")
    try:
        with conn.cursor() as cur:
            cur.execute(_TYPES_SQL, (name,))
            rows = conform(name, table, {column: (pg_type, typmod) for column, pg_type, typmod in cur.fetchall()})
            indexes = _droppable_indexes(cur, name) if bulk and table.num_rows > REBUILD_INDEXES_ABOVE else []
            for drop, _ in indexes:
                cur.execute(drop)
            cur.adbc_ingest(relname, rows, mode="append", db_schema_name=schema or None)
            for _, create in indexes:
                cur.execute(create)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def load_one(settings: Settings | None, name: str, table: pa.Table, *, bulk: bool) -> float:
    """Load one table in its own transaction with binary COPY; returns seconds taken."""
    started = time.perf_counter()
    conn = _open(settings, bulk=bulk)
    try:
        _load(conn, name, table, bulk=bulk)
    finally:
        conn.close()
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
    shop's own writes. Each worker keeps one connection for all its tables
    (opening an ADBC connection costs tens of milliseconds: the driver reads
    the server's type catalog); every table is still its own transaction.

    ``largest_first`` loads each submitted batch biggest table first, so the
    longest COPY does not start last and leave the other workers idle. Only
    ask for it when load order is free, i.e. foreign-key triggers are off
    (a superuser session); otherwise batches load in the order given.
    """

    def __init__(self, settings: Settings | None, *, workers: int = 2, largest_first: bool = False,
                 on_done: Callable[[str, int], None] | None = None) -> None:
        self.settings = settings
        self.stats = LoadStats()
        self.on_done = on_done
        self.largest_first = largest_first
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tailor-copy")
        self._futures: list[Future] = []
        self._local = threading.local()
        self._connections: list[adbc.Connection] = []

    def submit(self, tables: Iterable[tuple[str, pa.Table]]) -> None:
        batch = list(tables)
        if self.largest_first:
            batch.sort(key=lambda item: item[1].nbytes, reverse=True)
        for name, table in batch:
            self._futures.append(self._pool.submit(self._run, name, table))

    def _connection(self) -> adbc.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = _open(self.settings, bulk=True)
            with self.stats.lock:
                self._connections.append(conn)
        return conn

    def _run(self, name: str, table: pa.Table) -> None:
        started = time.perf_counter()
        _load(self._connection(), name, table, bulk=True)
        with self.stats.lock:
            self.stats.rows[name] = self.stats.rows.get(name, 0) + table.num_rows
            self.stats.seconds[name] = time.perf_counter() - started
        if self.on_done:
            self.on_done(name, table.num_rows)

    def wait(self) -> LoadStats:
        """Block until every load finished; re-raise the first failure."""
        try:
            for future in self._futures:
                future.result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        return self.stats
