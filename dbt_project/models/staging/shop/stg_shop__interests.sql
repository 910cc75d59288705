-- Current state of shop.interests, kept up to date from the CDC change log: what
-- people told the shop they care about (signup form, preference centre,
-- surveys).
with

source as (

    {{ cdc_current_state('interests') }}

),

renamed as (

    select
        -- ids
        {{ cdc_field('customer_id', 'bigint') }} as customer_id,

        -- interest
        lower(nullif(trim({{ cdc_field('interest') }}), '')) as interest,
        {{ cdc_field('source') }} as interest_source,

        -- timestamps
        {{ cdc_field('recorded_at', 'timestamptz') }} as recorded_at,

        -- change log: key, change and landing
        {{ cdc_meta_columns() }}

    from source

)

select * from renamed
