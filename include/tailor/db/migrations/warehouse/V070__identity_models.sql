-- The matcher's stored models and what it last scored (tailor.identity).
-- Training (`tailor identity train`, DAG tailor_train) and scoring
-- (`tailor identity resolve`, DAG tailor_transform) are separate: scoring
-- uses the newest model here and rescores only records that changed since
-- the last run (ml.identity_match_records), so the model stays the same
-- between trainings and a link's score depends on its two records alone.

-- One row per trained model version. model_version hashes the model JSON
-- and its term-frequency tables, so training twice on the same data gives
-- the same version (trained_at then moves to the latest training).
create table if not exists ml.identity_models (
    model_version      text primary key,         -- splink-<sha256 prefix> of model + term frequencies
    model              jsonb not null,           -- Splink's model JSON (settings with trained m/u)
    records            integer not null check (records >= 2),  -- customer records trained on
    trained_at         timestamptz not null,     -- the newest trained_at is the model scoring uses
    training_seconds   double precision not null
);
create index if not exists identity_models_trained_at_idx on ml.identity_models (trained_at);

-- The term-frequency tables of a model's TF-adjusted columns (first_name,
-- last_name, city): how common each value was in the training data.
-- Scoring looks values up here rather than counting today's data; a value
-- not seen in training gets no frequency adjustment.
create table if not exists ml.identity_model_term_frequencies (
    model_version      text not null references ml.identity_models (model_version) on delete cascade,
    column_name        text not null,
    value              text not null,
    tf                 double precision not null check (tf > 0 and tf <= 1),
    primary key (model_version, column_name, value)
);

-- The matcher's input rows as last scored: one per customer record, with
-- the md5 of the prepared row (sql/match_input.sql). A record is rescored
-- when its md5 differs or it is new; one missing from the input is removed.
create table if not exists ml.identity_match_records (
    unique_id          bigint primary key,       -- customer_id
    record_md5         text not null,
    model_version      text not null,            -- the model that scored it
    scored_at          timestamptz not null      -- computed_at of the run that scored it
);

-- Links are now kept across runs: an incremental run replaces only those
-- touching changed or removed records. Index the right-hand side for that.
create index if not exists identity_links_r_idx on ml.identity_links (customer_id_r);

-- Runs say how they scored. settings (the whole model per run) is no
-- longer written: model_version points into ml.identity_models.
alter table ml.identity_match_runs
    alter column settings drop not null,
    add column if not exists mode text check (mode in ('full', 'incremental')),
    add column if not exists reason text,               -- why a run was full
    add column if not exists changed_records integer,   -- records (re)scored: new or changed, all when full
    add column if not exists removed_records integer,   -- records gone since the last run
    add column if not exists links_total integer,       -- ml.identity_links after the run (links: written by it)
    add column if not exists store_floor double precision;
