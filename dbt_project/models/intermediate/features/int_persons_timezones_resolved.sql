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
with

customers as (

    select * from {{ ref('int_customers_resolved') }}
    where is_primary_record

),

traits as (

    select person_id, context_timezone from {{ ref('int_persons_traits_merged') }}

),

-- the server's own zone catalogue (pg_catalog, not a source): a few
-- hundred names, read once
known_zones as (

    select name as zone_name from pg_catalog.pg_timezone_names

),

facts as (

    select
        customers.person_id,
        customers.country,
        case
            when record_zone.zone_name is not null then customers.timezone
            when browser_zone.zone_name is not null then traits.context_timezone
        end as known_timezone,
        case
            when record_zone.zone_name is not null then 'customer_record'
            when browser_zone.zone_name is not null then 'browser'
        end as known_timezone_source
    from customers
    left join traits
        on customers.person_id = traits.person_id
    left join known_zones as record_zone
        on customers.timezone = record_zone.zone_name
    left join known_zones as browser_zone
        on traits.context_timezone = browser_zone.zone_name

),

-- per country the zone most of its people are known to live in; ties go to
-- the alphabetically first, so a re-run picks the same
country_zones as (

    select distinct on (country)
        country,
        known_timezone as country_timezone
    from facts
    where country is not null
        and known_timezone is not null
    group by country, known_timezone
    order by country, count(*) desc, known_timezone

),

resolved as (

    select
        facts.person_id,
        coalesce(
            facts.known_timezone, country_zones.country_timezone, '{{ var("default_timezone") }}'
        ) as local_timezone,
        case
            when facts.known_timezone is not null then facts.known_timezone_source
            when country_zones.country_timezone is not null then 'country'
            else 'default'
        end as local_timezone_source,
        facts.known_timezone is null as is_local_timezone_imputed
    from facts
    left join country_zones
        on facts.country = country_zones.country

)

select * from resolved
