-- Every quality-gate run, with a fingerprint of the exact audience it
-- validated. Exports compare the audience they are about to send against the
-- latest passed run: an audience the gate has not seen never leaves.
create table audit.gate_runs (
    gate_run_id     bigint generated always as identity primary key,
    logical_date    timestamptz not null,
    finished_at     timestamptz not null default clock_timestamp(),
    passed          boolean not null,
    audience_rows   bigint not null,
    audience_fingerprint text not null,
    failed_checks   jsonb not null default '[]'::jsonb,
    data_docs       text
);
create index gate_runs_latest_idx on audit.gate_runs (finished_at desc);
