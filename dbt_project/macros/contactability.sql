-- May we email this person? The send-time rules, written once for the two
-- relations that apply them: the live view `contactability` (every record,
-- int_customers_identified) and the build's copy `contactability_at_build`
-- (only the records of the persons it recomputes).
--
-- `records`: a relation (or a parenthesised select) of customer records
-- with person_id, customer_id, email_normalized, is_valid_email, is_guest
-- and updated_at. One row per person of those records:
--   * email: the normalised email of the person's primary record
--     (registered before guest, then latest updated);
--   * email_marketing_consent: the latest email_marketing decision across
--     the person's records is granted (a withdrawal wins a tie); not cut at
--     as_of on purpose: a withdrawal recorded late must still be honoured;
--   * reason, the first rule that applies: invalid_email, no_consent (never
--     decided), consent_<denied|withdrawn>, suppressed_<event> (a bounce,
--     unsubscribe or spam report for that email since the grant, through
--     CDC from shop email_events or straight from the collector's ESP
--     webhooks in exports.suppressions), else consent_granted;
--   * can_email: reason is consent_granted.
-- A change here reaches the rows contactability_at_build keeps: its
-- fingerprint holds this file's macros (macros_fingerprint).
{% macro contactability_rows(records) -%}
with

-- the records: the persons and their consent decisions both come from
-- them. Not materialized: a materialized CTE hides the records' statistics
-- from the planner, which then looped over every pair of persons and
-- suppression signals (over a minute at 100k customers, against 0.4 s)
records as not materialized (

    select
        person_id,
        customer_id,
        email_normalized,
        is_valid_email,
        is_guest,
        updated_at
    from {{ records }}

),

consents as (

    select customer_id, status, is_granted, recorded_at
    from {{ ref('stg_shop__consents') }}
    where purpose = 'email_marketing'

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
    from records
    order by person_id, is_guest asc, updated_at desc, customer_id desc

),

-- the decision in force: the latest across the person's records, a
-- withdrawal (not granted) winning a tie
latest_consent as (

    select distinct on (records.person_id)
        records.person_id,
        consents.status,
        consents.is_granted,
        consents.recorded_at
    from consents
    inner join records
        on consents.customer_id = records.customer_id
    order by records.person_id, consents.recorded_at desc, consents.is_granted asc

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
{%- endmacro %}
