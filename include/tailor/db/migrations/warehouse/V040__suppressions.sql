-- Suppressions written by the collector's ESP webhooks (tailor.collect) the
-- moment a bounce, spam report or unsubscribe arrives, so the next export
-- skips the address without waiting for a CDC capture and a dbt run.
-- marts.contactability reads it (dbt source 'exports'); the same event also
-- goes to shop.email_events and reaches staging through CDC later.
create table exports.suppressions (
    suppression_id  bigint generated always as identity primary key,
    email_normalized text not null,          -- lower(trim(email))
    reason          text not null check (reason in ('bounce', 'unsubscribe', 'spam_report')),
    source          text not null,           -- 'sendgrid' | 'generic'
    event_id        text not null,           -- the provider's event id
    detail          text,                    -- e.g. the bounce reason or ASM group
    suppressed_at   timestamptz not null,    -- when the provider saw it
    recorded_at     timestamptz not null default clock_timestamp(),
    constraint suppressions_event_key unique (source, event_id)
);
create index suppressions_email_idx on exports.suppressions (email_normalized, suppressed_at);
