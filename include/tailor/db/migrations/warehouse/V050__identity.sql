-- Probabilistic identity links written by the matcher (tailor.identity,
-- Splink): pairs of customer records with no shared key that a
-- Fellegi-Sunter model scored as probably the same person. dbt reads them
-- (stg_ml__identity_links) and turns those at or above the
-- identity_match_threshold var into identity-graph edges. Created here, not
-- by the matcher, so `tailor dbt build` works before the matcher ever ran
-- (the table is simply empty). Each matcher run replaces the whole table.
create table if not exists ml.identity_links (
    customer_id_l      bigint not null,          -- the smaller customer_id of the pair
    customer_id_r      bigint not null,          -- the larger one
    match_probability  double precision not null check (match_probability between 0 and 1),
    match_weight       double precision,         -- log2 Bayes factor (Splink's match weight)
    model_version      text not null,            -- hash of the model's settings + parameters
    computed_at        timestamptz not null,     -- when the matcher run scored the pair
    primary key (customer_id_l, customer_id_r),
    check (customer_id_l < customer_id_r)
);

-- One row per matcher run: what it scored and with which model, so a link
-- can be traced to the parameters that produced it.
create table if not exists ml.identity_match_runs (
    model_version      text not null,
    computed_at        timestamptz not null,
    records            integer not null,         -- customer records considered
    candidate_pairs    bigint not null,          -- pairs the blocking rules produced
    links              integer not null,         -- pairs stored (>= the storage floor)
    seconds            double precision not null,
    settings           jsonb not null,           -- Splink settings with trained m/u
    primary key (model_version, computed_at)
);
