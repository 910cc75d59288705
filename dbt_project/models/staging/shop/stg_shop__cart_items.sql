-- Current state of shop.cart_items, kept up to date from the CDC change log.
-- Beyond the folder's indexes: int_carts_attributed looks lines up by cart
-- (the carts of the persons it recomputes).
{{ config(indexes=[
    {'columns': ['_pk'], 'unique': true},
    {'columns': ['_landing_id']},
    {'columns': ['cart_id']},
]) }}
with

source as (

    {{ cdc_current_state('cart_items') }}

),

renamed as (

    select
        -- ids
        {{ cdc_field('cart_id', 'bigint') }} || '-' || {{ cdc_field('product_id', 'integer') }} as cart_item_id,
        {{ cdc_field('cart_id', 'bigint') }} as cart_id,
        {{ cdc_field('product_id', 'integer') }} as product_id,

        -- amounts
        {{ cdc_field('quantity', 'integer') }} as quantity,

        -- timestamps
        {{ cdc_field('added_at', 'timestamptz') }} as added_at,

        -- change log: key, change and landing
        {{ cdc_meta_columns() }}

    from source

)

select * from renamed
