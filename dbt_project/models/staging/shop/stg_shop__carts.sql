-- Current state of shop.carts, kept up to date from the CDC change log.
-- Beyond the folder's indexes: int_carts_attributed looks carts up by
-- customer (the persons it recomputes) and by time (carts crossing "up to
-- as_of" as it moves); by id it has the primary key's.
{{ config(indexes=[
    {'columns': ['_pk'], 'unique': true},
    {'columns': ['_landing_id']},
    {'columns': ['customer_id']},
    {'columns': ['updated_at']},
]) }}
with

source as (

    {{ cdc_current_state('carts') }}

),

renamed as (

    select
        -- ids
        {{ cdc_field('cart_id', 'bigint') }} as cart_id,
        {{ cdc_field('customer_id', 'bigint') }} as customer_id,
        {{ cdc_field('anonymous_id') }} as anonymous_id,
        {{ cdc_field('order_id', 'bigint') }} as order_id,

        -- status
        {{ cdc_field('status') }} as status,
        {{ cdc_field('status') }} in ('open', 'abandoned') as is_unconverted,

        -- timestamps
        {{ cdc_field('created_at', 'timestamptz') }} as created_at,
        {{ cdc_field('updated_at', 'timestamptz') }} as updated_at,

        -- change log: key, change and landing
        {{ cdc_meta_columns() }}

    from source

)

select * from renamed
