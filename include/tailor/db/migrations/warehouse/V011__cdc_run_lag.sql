-- Lag per capture run, for the freshness checks (tailor.cdc.runs writes them).
--
-- lag_bytes (V010) is pg_current_wal_lsn() - confirmed_flush_lsn of the slot at
-- the end of a run: how far behind the source the warehouse is, in WAL bytes.
-- The columns below add the time view and what the slot costs the source:
--   captured_through   source commit time of the last change (or heartbeat)
--                      the run landed: everything committed in the shop up to
--                      then is in raw.cdc_events. The gate compares it with
--                      the run's logical date.
--   retained_wal_bytes pg_current_wal_lsn() - restart_lsn of the slot: WAL the
--                      source keeps on disk for us (heartbeats keep it bounded).
--   heartbeats, signals  records of public.debezium_heartbeat / _signal seen
--                      (read and counted, never landed as shop data).
alter table raw.cdc_runs
    add column captured_through   timestamptz,
    add column retained_wal_bytes bigint,
    add column heartbeats         bigint not null default 0,
    add column signals            bigint not null default 0;
