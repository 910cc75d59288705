-- Debezium's two tables in the shop (captured, never landed as shop data).
--
-- debezium_heartbeat: the connector's heartbeat.action.query upserts its one
-- row every heartbeat interval. The write goes through the publication, so the
-- connector receives a change even when every shop table is quiet, confirms
-- its position and the replication slot releases WAL (without it, WAL written
-- by tables outside the publication piles up behind a slot nobody advances).
create table if not exists public.debezium_heartbeat (
    id      integer primary key,
    beat_at timestamptz not null
);

-- debezium_signal: the "source" signal channel (signal.data.collection).
-- `tailor cdc snapshot TABLE...` inserts an execute-snapshot row here to
-- re-read tables (incremental snapshot); Debezium also writes its snapshot
-- window marks here. Layout as Debezium documents it.
create table if not exists public.debezium_signal (
    id   varchar(42) primary key,
    type varchar(32) not null,
    data varchar(2048)
);
