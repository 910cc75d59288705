-- Probabilistic identity links from the matcher (tailor.identity), typed.
with

source as (

    select * from {{ source('ml', 'identity_links') }}

),

renamed as (

    select
        -- ids
        customer_id_l::bigint as customer_id_l,
        customer_id_r::bigint as customer_id_r,

        -- score
        match_probability::double precision as match_probability,
        match_weight::double precision as match_weight,
        model_version,

        -- timestamps
        computed_at

    from source

)

select * from renamed
