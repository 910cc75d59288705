-- Current state of shop.order_items, kept up to date from the CDC change log.
with

source as (

    {{ cdc_current_state('order_items') }}

),

renamed as (

    select
        -- ids
        {{ cdc_field('order_id', 'bigint') }} || '-' || {{ cdc_field('line_no', 'integer') }} as order_item_id,
        {{ cdc_field('order_id', 'bigint') }} as order_id,
        {{ cdc_field('line_no', 'integer') }} as line_no,
        {{ cdc_field('product_id', 'integer') }} as product_id,

        -- amounts
        {{ cdc_field('quantity', 'integer') }} as quantity,
        {{ cdc_field('unit_price', 'numeric(10, 2)') }} as unit_price,
        {{ cdc_field('quantity', 'integer') }} * {{ cdc_field('unit_price', 'numeric(10, 2)') }} as line_total,

        -- change log: key, change and landing
        {{ cdc_meta_columns() }}

    from source

)

select * from renamed
