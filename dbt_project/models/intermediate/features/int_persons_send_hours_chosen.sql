-- The best hour of the day (0-23, in the person's local time) to send them
-- email, and the evidence it rests on.
--
-- Sources, in order: the local hours of their email opens and clicks (when
-- they read mail), else the local hours their web sessions were active
-- (when they are online), else the default_send_hour var. A source counts
-- with at least send_hour_min_events events in the last
-- send_hour_lookback_days before as_of. The hour is the one with most
-- events; ties go to the hour used most recently, then the earlier hour.
-- Local time is the zone of int_persons_timezones_resolved (imputed zones
-- included: an hour from the right country beats no hour).
--
-- Incremental per person (macros/person_increments.sql): a run recomputes
-- the persons int_persons_changed marked since the last one, those with an
-- email engagement or web event crossing the lookback's edges as as_of
-- moved, and those whose local time zone changed (zones are imputed over
-- everyone in int_persons_timezones_resolved).
{%- set min_events = var('send_hour_min_events') %}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='person_id',
        on_schema_change='fail',
        pre_hook="{{ persons_increment_begin(
            [['int_web_events_stitched', 'occurred_at'], ['stg_shop__email_events', 'occurred_at']],
            [0, var('send_hour_lookback_days')],
            [var('send_hour_min_events'), var('default_send_hour')],
            [['int_persons_timezones_resolved', 'local_timezone']]) }}",
        post_hook="{{ persons_increment_close() }}"
    )
}}
-- depends_on: {{ ref('int_persons_changed') }}
with

-- as_of() once: unset, it is a scan of the change log's watermarks
run as (

    select
        {{ as_of() }} as as_of,
        {{ as_of() }} - interval '{{ var("send_hour_lookback_days") }} days' as lookback_start

),

customers as (

    select customer_id, person_id from {{ ref('int_customers_resolved') }}
    where {{ persons_increment_filter('person_id') }}

),

timezones as (

    select * from {{ ref('int_persons_timezones_resolved') }}
    where {{ persons_increment_filter('person_id') }}

),

email_engagements as (

    select customer_id, occurred_at from {{ ref('stg_shop__email_events') }}
    where customer_id is not null
        and is_engagement
        and {{ persons_increment_records('customer_id', 'customers') }}

),

web_events as (

    select customer_id, session_id, occurred_at from {{ ref('int_web_events_stitched') }}
    where customer_id is not null
        and session_id is not null
        and {{ persons_increment_records('customer_id', 'customers') }}

),

-- per source, person and local hour: how many events and when last
hours as (

    select
        1 as source_rank,
        'email_engagement' as source,
        customers.person_id,
        extract(hour from email_engagements.occurred_at at time zone timezones.local_timezone)::integer as local_hour,
        count(*) as event_count,
        max(email_engagements.occurred_at) as last_seen_at
    from email_engagements
    cross join run
    inner join customers
        on email_engagements.customer_id = customers.customer_id
    inner join timezones
        on customers.person_id = timezones.person_id
    where email_engagements.occurred_at <= run.as_of
        and email_engagements.occurred_at > run.lookback_start
    group by customers.person_id, local_hour

    union all

    -- a session active across two hours votes for both
    select
        2 as source_rank,
        'web_activity' as source,
        customers.person_id,
        extract(hour from web_events.occurred_at at time zone timezones.local_timezone)::integer as local_hour,
        count(distinct web_events.session_id) as event_count,
        max(web_events.occurred_at) as last_seen_at
    from web_events
    cross join run
    inner join customers
        on web_events.customer_id = customers.customer_id
    inner join timezones
        on customers.person_id = timezones.person_id
    where web_events.occurred_at <= run.as_of
        and web_events.occurred_at > run.lookback_start
    group by customers.person_id, local_hour

),

ranked as (

    select
        source_rank,
        source,
        person_id,
        local_hour,
        sum(event_count) over (partition by person_id, source_rank) as evidence_count,
        row_number() over (
            partition by person_id, source_rank order by event_count desc, last_seen_at desc, local_hour
        ) as hour_rank
    from hours

),

-- the first source with enough evidence
best as (

    select distinct on (person_id) *
    from ranked
    where hour_rank = 1
        and evidence_count >= {{ min_events }}
    order by person_id, source_rank

),

chosen as (

    select
        timezones.person_id,
        coalesce(best.local_hour, {{ var('default_send_hour') }}) as best_send_hour,
        coalesce(best.source, 'default') as best_send_hour_source,
        coalesce(best.evidence_count, 0) as best_send_hour_evidence,
        timezones.local_timezone
    from timezones
    left join best
        on timezones.person_id = best.person_id

)

select * from chosen
