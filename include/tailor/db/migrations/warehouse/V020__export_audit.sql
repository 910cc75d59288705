-- Export audit trail (owned by tailor.export): one row per export run, one row
-- per recipient per campaign send, and every consent decision taken at an exit.
--
-- Idempotency lives in export_results' primary key (campaign_key, person_id):
-- campaign_key = '<campaign>:<logical date>', so a re-run of the same logical
-- date finds the rows already 'sent' and sends nothing twice, while 'failed'
-- and 'skipped' rows may be retried (upsert, never overwriting a 'sent' row).

create table audit.export_runs (
    export_run_id   bigint generated always as identity primary key,
    destination     text not null check (destination in ('smtp', 'csv')),
    campaign        text not null,
    logical_date    date not null,
    dry_run         boolean not null default false,
    started_at      timestamptz not null default clock_timestamp(),
    finished_at     timestamptz,
    status          text not null default 'running'
                    check (status in ('running', 'succeeded', 'partial', 'failed')),
    rows_total      integer not null default 0,
    rows_sent       integer not null default 0,
    rows_skipped    integer not null default 0,
    rows_failed     integer not null default 0,
    details         jsonb not null default '{}'::jsonb   -- skipped by reason, outbox/csv paths, error
);
create index export_runs_date_idx on audit.export_runs (campaign, logical_date, destination);

create table audit.export_results (
    campaign_key    text not null,          -- '<campaign>:<YYYY-MM-DD>'
    person_id       text not null,
    email           text not null,
    segment         text,
    status          text not null check (status in ('sent', 'skipped', 'failed')),
    detail          text,                   -- skip reason or SMTP/render error
    message_id      text,                   -- deterministic per (campaign_key, person_id)
    sent_at         timestamptz,
    export_run_id   bigint not null references audit.export_runs (export_run_id),
    updated_at      timestamptz not null default clock_timestamp(),
    constraint export_results_key primary key (campaign_key, person_id)
);
create index export_results_run_idx on audit.export_results (export_run_id);
create index export_results_message_idx on audit.export_results (message_id);

create table audit.consent_decisions (
    decision_id     bigint generated always as identity primary key,
    decided_at      timestamptz not null default clock_timestamp(),
    person_id       text not null,
    email           text,
    purpose         text not null,          -- 'email_marketing'
    decision        text not null check (decision in ('allow', 'deny')),
    reason          text,                   -- 'consent_withdrawn', 'suppressed', ... (+ the mart's own reason)
    export_run_id   bigint references audit.export_runs (export_run_id)
);
create index consent_decisions_person_idx on audit.consent_decisions (person_id, decided_at);
