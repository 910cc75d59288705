-- Current state of shop.consents, kept up to date from the CDC change log.
with

source as (

    {{ cdc_current_state('consents') }}

),

renamed as (

    select
        -- ids
        {{ cdc_field('consent_id', 'bigint') }} as consent_id,
        {{ cdc_field('customer_id', 'bigint') }} as customer_id,

        -- decision
        {{ cdc_field('purpose') }} as purpose,
        {{ cdc_field('status') }} as status,
        {{ cdc_field('status') }} = 'granted' as is_granted,
        {{ cdc_field('source') }} as consent_source,

        -- timestamps
        {{ cdc_field('recorded_at', 'timestamptz') }} as recorded_at,

        -- change log: key, change and landing
        {{ cdc_meta_columns() }}

    from source

)

select * from renamed
