-- Data-vendor attributes keyed by the hashed normalised email
-- (enrich.vendor_attributes, written by `tailor enrich import`).
with

source as (

    select * from {{ source('enrich', 'vendor_attributes') }}

),

renamed as (

    select
        -- ids
        vendor,
        email_sha256,
        import_id,

        -- attributes
        income_band,
        household_size,
        home_owner,
        interests,
        extra_attributes,

        -- timestamps
        delivered_at

    from source

)

select * from renamed
