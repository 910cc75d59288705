-- Capture bookkeeping the embedded Debezium runner needs (tailor.cdc).
--
-- raw.cdc_runs: how far each run had to read (target_lsn = pg_current_wal_lsn()
-- at its start), how far behind the slot was at its end, and the per-table
-- counts / errors a person wants to see in `tailor cdc status`.
alter table raw.cdc_runs
    add column first_lsn   bigint,
    add column target_lsn  bigint,
    add column lag_bytes   bigint,
    add column error       text,
    add column details     jsonb not null default '{}'::jsonb;  -- per_table, tombstones, jvm, ...

-- Debezium's own offset flushes (its JDBC offset store writes here). Nothing
-- reads this back: the authoritative offsets are raw.cdc_offsets, written in
-- the landing transaction. Kept to compare the two when diagnosing.
create table if not exists raw.cdc_engine_offsets (
    id                 varchar(36) primary key,
    offset_key         text,
    offset_val         text,
    record_insert_ts   timestamp not null,
    record_insert_seq  integer not null
);
