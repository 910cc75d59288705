-- Current state of shop.customer_devices, kept up to date from the CDC change log.
with

source as (

    {{ cdc_current_state('customer_devices') }}

),

renamed as (

    select
        -- ids
        {{ cdc_field('customer_id', 'bigint') }} as customer_id,
        {{ cdc_field('device_id') }} as device_id,

        -- timestamps
        {{ cdc_field('first_seen_at', 'timestamptz') }} as first_seen_at,
        {{ cdc_field('last_seen_at', 'timestamptz') }} as last_seen_at,

        -- change log: key, change and landing
        {{ cdc_meta_columns() }}

    from source

)

select * from renamed
