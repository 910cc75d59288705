-- Current state of shop.anonymous_ids, kept up to date from the CDC change log.
with

source as (

    {{ cdc_current_state('anonymous_ids') }}

),

renamed as (

    select
        -- ids
        {{ cdc_field('anonymous_id') }} as anonymous_id,
        {{ cdc_field('device_id') }} as device_id,

        -- timestamps
        {{ cdc_field('first_seen_at', 'timestamptz') }} as first_seen_at,

        -- change log: key, change and landing
        {{ cdc_meta_columns() }}

    from source

)

select * from renamed
