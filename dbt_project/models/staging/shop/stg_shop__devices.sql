-- Current state of shop.devices, kept up to date from the CDC change log.
with

source as (

    {{ cdc_current_state('devices') }}

),

renamed as (

    select
        -- ids
        {{ cdc_field('device_id') }} as device_id,

        -- descriptors
        {{ cdc_field('device_type') }} as device_type,
        {{ cdc_field('os') }} as os,
        {{ cdc_field('browser') }} as browser,

        -- timestamps
        {{ cdc_field('first_seen_at', 'timestamptz') }} as first_seen_at,

        -- change log: key, change and landing
        {{ cdc_meta_columns() }}

    from source

)

select * from renamed
