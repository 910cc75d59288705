-- Daily weather per location (enrich.weather_observations, written by
-- `tailor enrich weather`), with the location key the models join on.
with

source as (

    select * from {{ source('enrich', 'weather_observations') }}

),

renamed as (

    select
        -- location
        country,
        city,
        lower(trim(city)) as city_key,

        -- observation
        observed_on,
        temperature_c,
        precipitation_mm,
        condition,

        -- lineage
        provider,
        loaded_at

    from source

)

select * from renamed
