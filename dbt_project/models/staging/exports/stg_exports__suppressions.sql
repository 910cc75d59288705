-- Suppressions the collector wrote from ESP webhooks (exports.suppressions).
with

source as (

    select * from {{ source('exports', 'suppressions') }}

),

renamed as (

    select
        -- ids
        suppression_id,
        event_id,

        -- recipient
        email_normalized,

        -- suppression
        reason,
        source,
        detail,

        -- timestamps
        suppressed_at,
        recorded_at

    from source

)

select * from renamed
