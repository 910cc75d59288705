"""Durable, batched writes of collected events to the shop: group commit.

Why no local spool: the collector answers "200 OK" only after the events it
acknowledges are committed in PostgreSQL (``synchronous_commit`` on, i.e.
flushed to the WAL), so a crash of the collector after the answer cannot lose
them, and a crash before it means the sender never got a 200 and retries
(``messageId`` makes the retry harmless). A spool file would buy availability
while the database is down, at the price of a second durable store to fsync,
replay and monitor; here a database outage is answered with 503 and
``Retry-After``, which every Segment SDK retries with back-off.

Speed comes from group commit: every request hands its rows to one writer
task per process and waits; the writer takes everything queued (up to
``max_batch_events``) into a single transaction of four set-based statements
(``jsonb_to_recordset``), so one fsync covers many requests.

A batch the database refuses for its data (it should not happen: input is
validated first) is split per request, and a request that still fails has
its events quarantined with the database's message instead: bad input never
becomes a 5xx.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg

log = logging.getLogger(__name__)

QUARANTINE_PAYLOAD_LIMIT = 32 * 1024

_ROW_COLUMNS = (
    "seq int, message_id text, event_type text, user_id text, email text, anonymous_id text, "
    "device_id text, session_id text, product_id integer, order_id bigint, url text, referrer text, "
    "user_agent text, timezone text, properties jsonb, occurred_at timestamptz, "
    "received_at timestamptz, device_type text, os text, browser text"
)
_NUMERIC_ID = "case when i.user_id ~ '^[0-9]{1,18}$' then i.user_id::bigint end"

# identify with a non-numeric userId and the email of a known customer: remember the link
LINKS_SQL = f"""
insert into collect_user_links (user_id, customer_id, linked_at)
select distinct on (i.user_id) i.user_id, found.customer_id, i.received_at
from jsonb_to_recordset(%s::jsonb) as i({_ROW_COLUMNS})
join lateral (
    select c.customer_id from customers c
    where lower(trim(c.email)) = i.email
    order by c.is_guest asc, c.updated_at desc, c.customer_id desc
    limit 1
) found on true
where i.event_type = 'identify' and i.email is not null and i.user_id is not null
    and not exists (select 1 from customers k where k.customer_id = {_NUMERIC_ID})
order by i.user_id, i.seq desc
on conflict (user_id) do update
    set customer_id = excluded.customer_id, linked_at = excluded.linked_at
    where collect_user_links.customer_id <> excluded.customer_id
"""

DEVICES_SQL = f"""
insert into devices (device_id, device_type, os, browser, first_seen_at)
select distinct on (i.device_id) i.device_id, i.device_type, i.os, i.browser, i.occurred_at
from jsonb_to_recordset(%s::jsonb) as i({_ROW_COLUMNS})
where i.device_id is not null and i.device_type is not null
order by i.device_id, i.occurred_at
on conflict (device_id) do nothing
"""

ANONYMOUS_IDS_SQL = f"""
insert into anonymous_ids (anonymous_id, device_id, first_seen_at)
select distinct on (i.anonymous_id) i.anonymous_id,
    (select d.device_id from devices d where d.device_id = i.device_id), i.occurred_at
from jsonb_to_recordset(%s::jsonb) as i({_ROW_COLUMNS})
where i.anonymous_id is not null and i.event_type <> 'alias'
order by i.anonymous_id, i.occurred_at
on conflict (anonymous_id) do nothing
"""

# userId resolution: a numeric userId naming a customer, else a remembered
# link, else (identify) the traits' email. Unresolved events keep customer_id
# null; the warehouse stitches them later through anonymous ids.
EVENTS_SQL = f"""
with incoming as (
    select * from jsonb_to_recordset(%s::jsonb) as i({_ROW_COLUMNS})
),
resolved as (
    select i.*, coalesce(by_id.customer_id, link.customer_id, by_email.customer_id) as customer_id
    from incoming i
    left join customers by_id on by_id.customer_id = {_NUMERIC_ID}
    left join collect_user_links link on link.user_id = i.user_id
    left join lateral (
        select c.customer_id from customers c
        where i.email is not null and lower(trim(c.email)) = i.email
        order by c.is_guest asc, c.updated_at desc, c.customer_id desc
        limit 1
    ) by_email on true
),
inserted as (
    insert into web_events (
        message_id, event_type, customer_id, anonymous_id, device_id, session_id, product_id,
        order_id, url, referrer, user_agent, timezone, properties, occurred_at, received_at
    )
    select message_id, event_type, customer_id, anonymous_id, device_id, session_id, product_id,
        order_id, url, referrer, user_agent, timezone, coalesce(properties, '{{}}'::jsonb),
        occurred_at, received_at
    from resolved
    order by seq
    on conflict (message_id) do nothing
    returning customer_id, device_id, occurred_at
),
seen_on as (
    insert into customer_devices (customer_id, device_id, first_seen_at, last_seen_at)
    select customer_id, device_id, min(occurred_at), max(occurred_at)
    from inserted
    where customer_id is not null
        and exists (select 1 from devices d where d.device_id = inserted.device_id)
    group by customer_id, device_id
    on conflict (customer_id, device_id) do update
        set last_seen_at = excluded.last_seen_at
        where customer_devices.last_seen_at < excluded.last_seen_at - interval '1 hour'
)
select count(*) from inserted
"""

QUARANTINE_SQL = """
insert into collect_quarantine
    (received_at, endpoint, source, reason, detail, message_id, payload_bytes, payload)
values (%s, %s, %s, %s, %s, %s, %s, %s)
"""


class StoreUnavailable(RuntimeError):
    """The shop database cannot be reached: answer 503 so the sender retries."""


@dataclass(frozen=True)
class QuarantineRow:
    """One refused request or event, ready for ``collect_quarantine``."""

    received_at: datetime
    endpoint: str
    source: str | None
    reason: str
    detail: str
    message_id: str | None
    payload: bytes

    def params(self) -> tuple[Any, ...]:
        return (
            self.received_at, self.endpoint, self.source, self.reason, self.detail[:2000],
            self.message_id, len(self.payload), self.payload[:QUARANTINE_PAYLOAD_LIMIT],
        )


@dataclass(frozen=True)
class StoreResult:
    """What one request's submission became: new rows, duplicates, quarantined."""

    stored: int
    duplicates: int
    quarantined: int
    store_rejected: list[str] = field(default_factory=list)


@dataclass
class _Submission:
    rows: list[dict[str, Any]]
    quarantine: list[QuarantineRow]
    endpoint: str
    source: str | None
    future: asyncio.Future[StoreResult]

    @property
    def size(self) -> int:
        return len(self.rows) + len(self.quarantine)


class EventStore:
    """One writer task and one connection per process; see the module docstring."""

    def __init__(self, url: str, max_batch_events: int = 2000, connect_attempts: int = 3) -> None:
        self._url = url
        self._max = max_batch_events
        self._attempts = connect_attempts
        self._queue: asyncio.Queue[_Submission | None] = asyncio.Queue()
        self._conn: psycopg.AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tailor-collect-writer")

    async def close(self) -> None:
        """Finish what is queued, then close the connection."""
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def store(
        self,
        rows: list[dict[str, Any]],
        quarantine: list[QuarantineRow],
        endpoint: str,
        source: str | None,
    ) -> StoreResult:
        """Return once ``rows`` and ``quarantine`` are committed (or raise StoreUnavailable)."""
        if not rows and not quarantine:
            return StoreResult(0, 0, 0)
        if self._task is None or self._task.done():
            raise StoreUnavailable("the collector's writer is not running")
        future: asyncio.Future[StoreResult] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Submission(rows, quarantine, endpoint, source, future))
        return await future

    # ------------------------------------------------------------------ writer
    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch, size = [first], first.size
            while size < self._max and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
                size += item.size
            await self._commit_batch(batch)

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self._url, connect_timeout=5)
        return self._conn

    async def _commit_batch(self, batch: list[_Submission]) -> None:
        for attempt in range(1, self._attempts + 1):
            try:
                results = await self._write(batch)
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                await self._drop_connection()
                if attempt == self._attempts:
                    error = StoreUnavailable(
                        f"cannot write to the shop database ({type(exc).__name__}: {exc}); "
                        "events were not accepted, the sender should retry"
                    )
                    log.error("collector store unavailable: %s", exc)
                    for item in batch:
                        if not item.future.done():
                            item.future.set_exception(error)
                    return
                await asyncio.sleep(0.2 * attempt)
                continue
            except psycopg.Error as exc:
                await self._rollback()
                if len(batch) > 1:
                    for item in batch:  # isolate the request the database refuses
                        await self._commit_batch([item])
                    return
                await self._quarantine_refused(batch[0], exc)
                return
            for item, result in zip(batch, results, strict=True):
                if not item.future.done():
                    item.future.set_result(result)
            self.batches += 1
            return

    async def _write(self, batch: list[_Submission]) -> list[StoreResult]:
        conn = await self._connection()
        rows: list[dict[str, Any]] = []
        for item in batch:
            rows.extend(item.rows)
        for seq, row in enumerate(rows):
            row["seq"] = seq
        async with conn.transaction(), conn.cursor() as cur:
            stored = 0
            if rows:
                data = orjson.dumps(rows).decode()
                await cur.execute(LINKS_SQL, (data,))
                await cur.execute(DEVICES_SQL, (data,))
                await cur.execute(ANONYMOUS_IDS_SQL, (data,))
                await cur.execute(EVENTS_SQL, (data,))
                stored = (await cur.fetchone() or (0,))[0]
            quarantine = [q.params() for item in batch for q in item.quarantine]
            if quarantine:
                await cur.executemany(QUARANTINE_SQL, quarantine)
        # Duplicates are counted per batch and attributed to requests in order;
        # a request learns how many of its rows were new in aggregate only.
        duplicates = len(rows) - stored
        results = []
        for item in batch:
            dup = min(duplicates, len(item.rows))
            duplicates -= dup
            results.append(StoreResult(len(item.rows) - dup, dup, len(item.quarantine)))
        return results

    async def _quarantine_refused(self, item: _Submission, exc: psycopg.Error) -> None:
        detail = f"the database refused the event: {str(exc).splitlines()[0][:300]}"
        refused = [
            QuarantineRow(
                received_at=datetime.fromisoformat(row["received_at"]),
                endpoint=item.endpoint,
                source=item.source,
                reason="store_rejected",
                detail=detail,
                message_id=row.get("message_id"),
                payload=orjson.dumps(row, default=str),
            )
            for row in item.rows
        ]
        retry = _Submission([], item.quarantine + refused, item.endpoint, item.source, item.future)
        try:
            await self._write([retry])
        except psycopg.Error as again:
            await self._rollback()
            if not item.future.done():
                item.future.set_exception(StoreUnavailable(f"cannot store or quarantine: {again}"))
            return
        if not item.future.done():
            item.future.set_result(
                StoreResult(0, 0, len(retry.quarantine), [r.message_id or "" for r in refused])
            )

    async def _rollback(self) -> None:
        if self._conn is not None and not self._conn.closed:
            with contextlib.suppress(psycopg.Error):
                await self._conn.rollback()

    async def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        self._conn = None
