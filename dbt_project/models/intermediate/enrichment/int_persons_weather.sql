-- The weather at each person's location on the as-of date (UTC day of
-- as_of): that day's observation, else the nearest earlier one within
-- var('weather_max_age_days'), else none; weather_status says which.
--
-- Location: the person's primary record's city and country, or, when that
-- record has none, their most recently updated record that has both.
-- Locations match observations on country and lower(trim(city)), so the
-- provider must spell cities as the shop does (the bundled sample uses the
-- synthetic shop's names). Observations come from `tailor enrich weather`
-- (the transform DAG loads the run's date and the days before it).
{%- set max_age = var('weather_max_age_days') %}
with

run as (

    select
        {{ as_of() }} as as_of,
        ({{ as_of() }} at time zone 'UTC')::date as weather_date

),

records as (

    select * from {{ ref('int_customers_resolved') }}

),

locations as (

    select distinct on (person_id)
        person_id,
        case when city is not null and country is not null then country end as country,
        case when city is not null and country is not null then city end as city,
        case when city is not null and country is not null then lower(trim(city)) end as city_key
    from records
    order by
        person_id,
        (city is not null and country is not null) desc,
        is_primary_record desc,
        updated_at desc nulls last,
        customer_id asc

),

observations as (

    -- one row per location and day even if the provider spelled a city two
    -- ways over time (the latest load wins)
    select distinct on (observations.country, observations.city_key, observations.observed_on)
        observations.*
    from {{ ref('stg_enrich__weather_observations') }} as observations
    cross join run
    where observations.observed_on <= run.weather_date
        and observations.observed_on >= run.weather_date - {{ max_age }}
    order by observations.country, observations.city_key, observations.observed_on, observations.loaded_at desc

),

nearest as (

    select distinct on (locations.person_id)
        locations.person_id,
        observations.observed_on,
        observations.temperature_c,
        observations.precipitation_mm,
        observations.condition,
        observations.provider
    from locations
    inner join observations
        on locations.country = observations.country
        and locations.city_key = observations.city_key
    order by locations.person_id, observations.observed_on desc

),

final as (

    select
        locations.person_id,

        -- location
        locations.country,
        locations.city,

        -- weather
        run.weather_date,
        nearest.observed_on,
        run.weather_date - nearest.observed_on as observation_age_days,
        nearest.temperature_c,
        nearest.precipitation_mm,
        nearest.condition,

        -- provenance
        case
            when locations.city is null then 'no_location'
            when nearest.observed_on is null then 'no_observation'
            when nearest.observed_on = run.weather_date then 'observed'
            else 'nearest_earlier'
        end as weather_status,
        nearest.provider as weather_provider,
        run.as_of

    from locations
    cross join run
    left join nearest
        on locations.person_id = nearest.person_id

)

select * from final
