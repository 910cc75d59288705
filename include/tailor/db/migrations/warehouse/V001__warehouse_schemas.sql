-- The warehouse layers (see DESIGN.md). dbt owns staging/intermediate/marts
-- and creates their objects; Python owns raw (landing), ml, exports and audit.
create schema if not exists raw;
create schema if not exists staging;
create schema if not exists intermediate;
create schema if not exists marts;
create schema if not exists ml;
create schema if not exists exports;
create schema if not exists audit;
create schema if not exists pii;   -- restricted: raw identifiers for erasure

-- Append-only change log: every Debezium envelope, one row per change.
-- A change is identified by where it sits in the source's WAL (source_lsn)
-- and which row it touched (source_table, pk): re-delivery of the same
-- change hits the unique key and lands nothing.
create table raw.cdc_events (
    landing_id      bigint generated always as identity primary key,
    source_table    text not null,          -- 'customers', 'orders', ...
    op              char(1) not null,       -- c(reate) u(pdate) d(elete) r(ead, snapshot) t(runcate)
    pk              jsonb not null,         -- the row's primary key, e.g. {"customer_id": 42}
    before          jsonb,                  -- row before the change (REPLICA IDENTITY dependent)
    after           jsonb,                  -- row after the change; null for deletes
    source_lsn      bigint not null,        -- WAL position of the change
    tx_id           bigint,                 -- source transaction id
    source_ts       timestamptz,            -- commit time in the source
    captured_at     timestamptz not null,   -- when Debezium emitted it
    landed_at       timestamptz not null default clock_timestamp(),
    constraint cdc_events_change_key unique (source_table, source_lsn, pk, op)
);
create index cdc_events_table_idx on raw.cdc_events (source_table, landing_id);

-- Debezium's offsets, written in the same transaction as the rows they cover.
create table raw.cdc_offsets (
    connector       text not null,
    offset_key      text not null,
    offset_value    text not null,
    updated_at      timestamptz not null default clock_timestamp(),
    primary key (connector, offset_key)
);

-- One row per capture run: what it read and how far behind it was.
create table raw.cdc_runs (
    run_id          bigint generated always as identity primary key,
    connector       text not null,
    started_at      timestamptz not null,
    finished_at     timestamptz,
    events_landed   bigint not null default 0,
    duplicates_skipped bigint not null default 0,
    last_lsn        bigint,
    status          text not null default 'running'
);

create table audit.pipeline_runs (
    run_id          bigint generated always as identity primary key,
    dag_id          text not null,
    task_id         text not null,
    logical_date    timestamptz,
    started_at      timestamptz not null,
    finished_at     timestamptz,
    status          text not null,
    details         jsonb not null default '{}'::jsonb
);
