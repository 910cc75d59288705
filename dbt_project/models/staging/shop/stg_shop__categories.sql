-- Current state of shop.categories, kept up to date from the CDC change log.
with

source as (

    {{ cdc_current_state('categories') }}

),

renamed as (

    select
        -- ids
        {{ cdc_field('category_id', 'integer') }} as category_id,
        {{ cdc_field('parent_id', 'integer') }} as parent_category_id,

        -- descriptors
        {{ cdc_field('name') }} as category_name,

        -- change log: key, change and landing
        {{ cdc_meta_columns() }}

    from source

)

select * from renamed
