-- Third-party enrichment (tailor.enrich): data-vendor deliveries and weather.
--
-- Written by Python (`tailor enrich import`, `tailor enrich weather`), read by
-- dbt (source 'enrich'). Email addresses never land here: a delivery is keyed
-- by the SHA-256 (lower-case hex) of the normalised email, lower(trim(email)),
-- which dbt recomputes from stg_shop__customers.email_normalized with
-- encode(sha256(convert_to(email_normalized, 'UTF8')), 'hex') to match.
create schema if not exists enrich;

-- One row per import attempt, kept as history (a re-import replaces the
-- vendor's attributes, not this record of what was delivered and when).
create table enrich.import_runs (
    import_id       text primary key,          -- <vendor>-<imported_at>-<file digest>
    vendor          text not null,
    file            text not null,             -- path as given to the CLI
    file_sha256     text not null,             -- content digest: the same file twice is visible
    key_kind        text not null check (key_kind in ('email', 'email_sha256')),
    key_column      text not null,             -- the file's column the key came from
    rows            integer not null check (rows >= 0),
    loaded          integer not null check (loaded >= 0),
    quarantined     integer not null check (quarantined >= 0),
    matched         integer check (matched >= 0),  -- loaded keys matching a known customer; null: not computable
    match_rate      numeric(5, 4) check (match_rate between 0 and 1),  -- matched / loaded
    by_reason       jsonb not null default '{}'::jsonb,  -- quarantined rows per reason
    status          text not null check (status in ('loaded', 'rejected')),  -- rejected: nothing valid, previous delivery kept
    imported_at     timestamptz not null,
    check (loaded + quarantined = rows)
);
create index import_runs_vendor_idx on enrich.import_runs (vendor, imported_at);

-- The current delivery of each vendor: one row per (vendor, hashed email).
-- Typed columns for the attributes Tailor understands; every other column
-- of the file, as delivered, in extra_attributes.
create table enrich.vendor_attributes (
    vendor          text not null,
    email_sha256    text not null check (email_sha256 ~ '^[0-9a-f]{64}$'),
    import_id       text not null references enrich.import_runs (import_id),
    income_band     text check (length(income_band) <= 64),
    household_size  smallint check (household_size between 1 and 20),
    home_owner      boolean,
    interests       text[],
    extra_attributes jsonb not null default '{}'::jsonb,
    delivered_at    timestamptz not null,      -- the import's imported_at (precedence between vendors)
    primary key (vendor, email_sha256)
);
create index vendor_attributes_key_idx on enrich.vendor_attributes (email_sha256);

-- Rows of a delivery that were not loaded, with the reason. The key column
-- is redacted in raw_row when it held an email (store no plain address).
create table enrich.import_quarantine (
    import_id       text not null references enrich.import_runs (import_id),
    row_number      integer not null,          -- 1-based data row of the file
    reason          text not null,             -- groups the summary, e.g. 'invalid email'
    detail          text not null,             -- what is wrong and with which value
    raw_row         jsonb not null,
    primary key (import_id, row_number)
);

-- Daily weather per location, from the configured provider
-- (TAILOR_WEATHER_PROVIDER). Upserted: a re-load of a day replaces it.
create table enrich.weather_observations (
    country         text not null check (country ~ '^[A-Z]{2}$'),
    city            text not null,
    observed_on     date not null,
    temperature_c   numeric(4, 1) check (temperature_c between -90 and 60),
    precipitation_mm numeric(6, 1) check (precipitation_mm between 0 and 2000),
    condition       text,
    provider        text not null,             -- e.g. file:weather_sample.csv
    loaded_at       timestamptz not null default clock_timestamp(),
    primary key (country, city, observed_on)
);

-- Provider rows that could not be read (bad date, bad number, ...), replaced
-- on every load from the same provider.
create table enrich.weather_quarantine (
    provider        text not null,
    line_number     integer not null,          -- line in the provider's file (header = 1)
    reason          text not null,
    detail          text not null,
    raw_row         jsonb not null,
    recorded_at     timestamptz not null default clock_timestamp(),
    primary key (provider, line_number)
);
