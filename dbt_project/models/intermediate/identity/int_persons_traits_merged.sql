-- What people told us about themselves through identify calls (progressive
-- profiling), merged into one set of traits per person, plus the device they
-- were last seen on.
--
-- Precedence per trait: the latest non-null value from the most trusted
-- source. Sources rank server (a backend SDK or /v1/import: the shop's own
-- systems) over browser (analytics.js, the Tailor snippet: anything a visitor
-- can type). Trait names are normalised to snake_case, so `firstName` and
-- `first_name` are the same trait. customer_profiles ranks the shop's own
-- customer record above all of these.
--
-- Incremental per person (macros/person_increments.sql): a run recomputes
-- the persons int_persons_changed marked since the last one and those with
-- a web event entering or leaving "up to as_of".
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='person_id',
        on_schema_change='fail',
        pre_hook="{{ persons_increment_begin([['int_web_events_stitched', 'occurred_at']], [0]) }}",
        post_hook="{{ persons_increment_close() }}"
    )
}}
-- depends_on: {{ ref('int_persons_changed') }}
with

customers as (

    select customer_id, person_id from {{ ref('int_customers_resolved') }}
    where {{ persons_increment_filter('person_id') }}

),

web_events as (

    select * from {{ ref('int_web_events_stitched') }}
    where customer_id is not null
        and occurred_at <= {{ as_of() }}
        and {{ persons_increment_records('customer_id', 'customers') }}

),

devices as (

    select * from {{ ref('stg_shop__devices') }}

),

identify_traits as (

    select
        customers.person_id,
        lower(regexp_replace(traits.key, '([a-z0-9])([A-Z])', '\1_\2', 'g')) as trait,
        traits.value,
        case when web_events.source_kind in ('server', 'import') then 1 else 2 end as source_rank,
        web_events.occurred_at,
        web_events.web_event_id
    from web_events
    inner join customers
        on web_events.customer_id = customers.customer_id
    cross join lateral jsonb_each(web_events.properties - '_tailor') as traits
    where web_events.call_type = 'identify'
        and jsonb_typeof(traits.value) <> 'null'
        and traits.value <> '""'::jsonb

),

chosen as (

    select distinct on (person_id, trait)
        person_id,
        trait,
        value,
        occurred_at
    from identify_traits
    order by person_id, trait, source_rank, occurred_at desc, web_event_id desc

),

merged as (

    select
        person_id,
        jsonb_object_agg(trait, value) as traits,
        max(occurred_at) as traits_updated_at
    from chosen
    group by person_id

),

last_device as (

    select distinct on (customers.person_id)
        customers.person_id,
        devices.device_type,
        devices.os,
        web_events.properties -> '_tailor' ->> 'language' as context_language,
        web_events.timezone as context_timezone
    from web_events
    inner join customers
        on web_events.customer_id = customers.customer_id
    inner join devices
        on web_events.device_id = devices.device_id
    order by customers.person_id, web_events.occurred_at desc, web_events.web_event_id desc

),

persons as (

    select person_id from merged
    union
    select person_id from last_device

),

final as (

    select
        persons.person_id,
        merged.traits,
        merged.traits_updated_at,
        nullif(trim(merged.traits ->> 'first_name'), '') as trait_first_name,
        nullif(trim(merged.traits ->> 'last_name'), '') as trait_last_name,
        lower(left(coalesce(
            nullif(trim(merged.traits ->> 'language'), ''),
            nullif(trim(merged.traits ->> 'locale'), ''),
            last_device.context_language
        ), 2)) as language,
        last_device.device_type as last_device_type,
        last_device.os as last_os,
        last_device.context_timezone
    from persons
    left join merged
        on persons.person_id = merged.person_id
    left join last_device
        on persons.person_id = last_device.person_id

)

select * from final
