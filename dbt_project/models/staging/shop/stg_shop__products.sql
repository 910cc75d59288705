-- Current state of shop.products, kept up to date from the CDC change log.
with

source as (

    {{ cdc_current_state('products') }}

),

renamed as (

    select
        -- ids
        {{ cdc_field('product_id', 'integer') }} as product_id,
        {{ cdc_field('category_id', 'integer') }} as category_id,
        {{ cdc_field('sku') }} as sku,

        -- descriptors
        {{ cdc_field('name') }} as product_name,
        {{ cdc_field('price', 'numeric(10, 2)') }} as price,
        {{ cdc_field('currency') }} as currency,

        -- timestamps
        {{ cdc_field('created_at', 'timestamptz') }} as created_at,
        {{ cdc_field('updated_at', 'timestamptz') }} as updated_at,

        -- change log: key, change and landing
        {{ cdc_meta_columns() }}

    from source

)

select * from renamed
