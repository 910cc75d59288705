-- Current state of shop.orders, kept up to date from the CDC change log.
with

source as (

    {{ cdc_current_state('orders') }}

),

renamed as (

    select
        -- ids
        {{ cdc_field('order_id', 'bigint') }} as order_id,
        {{ cdc_field('customer_id', 'bigint') }} as customer_id,
        {{ cdc_field('device_id') }} as device_id,

        -- checkout email
        {{ cdc_field('email') }} as email,
        {{ normalize_email("record ->> 'email'") }} as email_normalized,
        {{ is_valid_email("record ->> 'email'") }} as is_valid_email,

        -- status
        {{ cdc_field('status') }} as status,
        {{ cdc_field('status') }} not in ('cancelled', 'refunded') as is_revenue,
        {{ cdc_field('customer_id', 'bigint') }} is null as is_guest_order,

        -- amounts
        {{ cdc_field('currency') }} as currency,
        {{ cdc_field('order_total', 'numeric(12, 2)') }} as order_total,

        -- timestamps
        {{ cdc_field('ordered_at', 'timestamptz') }} as ordered_at,
        {{ cdc_field('updated_at', 'timestamptz') }} as updated_at,

        -- change log: key, change and landing
        {{ cdc_meta_columns() }}

    from source

)

select * from renamed
