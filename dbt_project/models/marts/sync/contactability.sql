-- May we email this person right now? A view over the staging views (which
-- are views over raw), so an exporter re-checking at send time sees consent
-- decisions and suppressions captured after the marts were built.
--
-- can_email needs a valid email, the latest email_marketing decision across
-- the person's records to be 'granted', and no bounce, unsubscribe or spam
-- report for that email since that grant, whether it came through CDC
-- (shop email_events) or straight from the collector's ESP webhooks
-- (exports.suppressions, written the moment the webhook arrives).
-- Persons come from int_customers_identified: the person map, and for a
-- customer who signed up after the last build the person holding its email
-- key, else its own new id.
--
-- The build reads it once: contactability_at_build is this view as the build
-- saw it, a table holding the view's rules (its contract), and what the
-- build's own readers (customer_profiles, the audience) read.
{{ config(materialized='view') }}

with

-- every record with its person and the fields this view reads (one read
-- of the records: int_customers_identified carries them)
customers as (

    select
        person_id,
        customer_id,
        email_normalized,
        is_valid_email,
        is_guest,
        updated_at
    from {{ ref('int_customers_identified') }}

),

email_events as (

    select email_normalized, event_type, occurred_at
    from {{ ref('stg_shop__email_events') }}
    where is_suppression_signal

    union all

    select email_normalized, reason as event_type, suppressed_at as occurred_at
    from {{ ref('stg_exports__suppressions') }}

),

persons as (

    select distinct on (person_id)
        person_id,
        email_normalized as email,
        is_valid_email
    from customers
    order by person_id, is_guest asc, updated_at desc, customer_id desc

),

latest_consent as (

    select * from {{ ref('int_persons_email_consent') }}

),

suppressions as (

    select distinct on (persons.person_id)
        persons.person_id,
        email_events.event_type
    from persons
    inner join email_events
        on persons.email = email_events.email_normalized
    inner join latest_consent
        on persons.person_id = latest_consent.person_id
        and email_events.occurred_at >= latest_consent.recorded_at
    order by persons.person_id, email_events.occurred_at desc

),

decided as (

    select
        persons.person_id,
        persons.email,
        case
            when not persons.is_valid_email then 'invalid_email'
            when latest_consent.person_id is null then 'no_consent'
            when not latest_consent.is_granted then 'consent_' || latest_consent.status
            when suppressions.person_id is not null then 'suppressed_' || suppressions.event_type
            else 'consent_granted'
        end as reason,
        coalesce(latest_consent.is_granted, false) as email_marketing_consent
    from persons
    left join latest_consent
        on persons.person_id = latest_consent.person_id
    left join suppressions
        on persons.person_id = suppressions.person_id

),

final as (

    select
        person_id,
        email,
        reason = 'consent_granted' as can_email,
        reason,
        email_marketing_consent
    from decided

)

select * from final
