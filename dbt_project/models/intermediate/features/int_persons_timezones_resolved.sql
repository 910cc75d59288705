-- The time zone each person's local-time features (best send hour) are
-- computed in, and where it came from.
--
-- Facts first: the zone on the person's primary customer record, then the
-- zone their browser reported on their last web event. Without either the
-- zone is imputed, and says so: the most common known zone among people of
-- the same country (one zone for most countries; for a multi-zone country
-- the likeliest), else the default_timezone var. Only names this PostgreSQL
-- can convert with count: `at time zone` fails on anything else, and a
-- misspelt zone is no fact to build on.
--
-- Incremental per person (macros/person_increments.sql): a run recomputes
-- the persons int_persons_changed marked, those whose traits may have moved
-- (a web event crossing "up to as_of", as int_persons_traits_merged
-- recomputes them, or a stored context_timezone that differs from the
-- traits'), and those whose customer records the change log has (an edited
-- zone or country). The country zones are counted over every person, the
-- recomputed ones and the rest as stored; a person whose imputed zone moves
-- with them (their country's zone changed) is rewritten too. The stored
-- rows are indexed on customer_id: the change log's customer ids are looked
-- up in them (as `= any(array)`, a linear search per row without one).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='person_id',
        on_schema_change='fail',
        indexes=[{'columns': ['customer_id']}],
        pre_hook="{{ persons_increment_begin(
            [['int_web_events_stitched', 'occurred_at']], [0], [var('default_timezone')],
            [['int_persons_traits_merged', 'context_timezone']],
            [['customers'], 'customer_id', 'int_customers_resolved']) }}",
        post_hook="{{ persons_increment_close() }}"
    )
}}
-- depends_on: {{ ref('int_persons_changed') }}
with

customers as (

    select * from {{ ref('int_customers_resolved') }}
    where is_primary_record
        and {{ persons_increment_filter('person_id') }}

),

traits as (

    select person_id, context_timezone from {{ ref('int_persons_traits_merged') }}
    where {{ persons_increment_filter('person_id') }}

),

-- the server's own zone catalogue (pg_catalog, not a source): a few
-- hundred names, read once
known_zones as (

    select name as zone_name from pg_catalog.pg_timezone_names

),

facts as (

    select
        customers.person_id,
        customers.customer_id,
        customers.country,
        traits.context_timezone,
        case
            when record_zone.zone_name is not null then customers.timezone
            when browser_zone.zone_name is not null then traits.context_timezone
        end as known_timezone,
        case
            when record_zone.zone_name is not null then 'customer_record'
            when browser_zone.zone_name is not null then 'browser'
        end as known_timezone_source,
        null::text as stored_timezone,
        null::text as stored_source
    from customers
    left join traits
        on customers.person_id = traits.person_id
    left join known_zones as record_zone
        on customers.timezone = record_zone.zone_name
    left join known_zones as browser_zone
        on traits.context_timezone = browser_zone.zone_name

),

{%- if is_incremental() %}

-- everyone else, as stored (the pre-hook deleted the recomputed persons)
kept as (

    select
        person_id,
        customer_id,
        country,
        context_timezone,
        case when not is_local_timezone_imputed then local_timezone end as known_timezone,
        case when not is_local_timezone_imputed then local_timezone_source end as known_timezone_source,
        local_timezone as stored_timezone,
        local_timezone_source as stored_source
    from {{ this }}

),

everyone as (

    select * from facts
    union all
    select * from kept

),

{%- else %}

everyone as (

    select * from facts

),

{%- endif %}

-- per country the zone most of its people are known to live in; ties go to
-- the alphabetically first, so a re-run picks the same
country_zones as (

    select distinct on (country)
        country,
        known_timezone as country_timezone
    from everyone
    where country is not null
        and known_timezone is not null
    group by country, known_timezone
    order by country, count(*) desc, known_timezone

),

resolved as (

    select
        everyone.person_id,
        coalesce(
            everyone.known_timezone, country_zones.country_timezone, '{{ var("default_timezone") }}'
        ) as local_timezone,
        case
            when everyone.known_timezone is not null then everyone.known_timezone_source
            when country_zones.country_timezone is not null then 'country'
            else 'default'
        end as local_timezone_source,
        everyone.known_timezone is null as is_local_timezone_imputed,
        everyone.customer_id,
        everyone.country,
        everyone.context_timezone,
        everyone.stored_timezone,
        everyone.stored_source
    from everyone
    left join country_zones
        on everyone.country = country_zones.country

),

final as (

    select
        person_id,
        local_timezone,
        local_timezone_source,
        is_local_timezone_imputed,
        customer_id,
        country,
        context_timezone
    from resolved
    -- the recomputed persons, and the others whose imputed zone moved
    where stored_source is null
        or local_timezone is distinct from stored_timezone
        or local_timezone_source is distinct from stored_source

)

select * from final
