-- Current state of shop.customers, kept up to date from the CDC change log.
with

source as (

    {{ cdc_current_state('customers') }}

),

renamed as (

    select
        -- ids
        {{ cdc_field('customer_id', 'bigint') }} as customer_id,

        -- contact
        {{ cdc_field('email') }} as email,
        {{ normalize_email("record ->> 'email'") }} as email_normalized,
        {{ is_valid_email("record ->> 'email'") }} as is_valid_email,
        nullif(trim({{ cdc_field('phone') }}), '') as phone,

        -- person
        nullif(trim({{ cdc_field('first_name') }}), '') as first_name,
        nullif(trim({{ cdc_field('last_name') }}), '') as last_name,
        {{ cdc_field('birth_date', 'date') }} as birth_date,
        lower(nullif(trim({{ cdc_field('gender') }}), '')) as gender,
        {{ cdc_field('income_band') }} as income_band,

        -- location
        nullif(trim({{ cdc_field('city') }}), '') as city,
        nullif(trim({{ cdc_field('postcode') }}), '') as postcode,
        upper(nullif(trim({{ cdc_field('country') }}), '')) as country,
        nullif(trim({{ cdc_field('timezone') }}), '') as timezone,

        -- flags
        coalesce({{ cdc_field('is_guest', 'boolean') }}, false) as is_guest,

        -- timestamps
        {{ cdc_field('created_at', 'timestamptz') }} as created_at,
        {{ cdc_field('updated_at', 'timestamptz') }} as updated_at,

        -- change log: key, change and landing
        {{ cdc_meta_columns() }}

    from source

)

select * from renamed
