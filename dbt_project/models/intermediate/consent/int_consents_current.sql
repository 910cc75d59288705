-- The consent decision in force per customer and purpose: the latest
-- recorded one. Not cut at as_of on purpose: a withdrawal recorded after the
-- run's logical date must still be honoured.
with

consents as (

    select * from {{ ref('stg_shop__consents') }}

),

ranked as (

    select
        consents.*,
        row_number() over (
            partition by customer_id, purpose
            order by recorded_at desc, consent_id desc
        ) as decision_rank
    from consents

),

current_decisions as (

    select
        customer_id || '-' || purpose as customer_purpose_id,
        customer_id,
        purpose,
        status,
        is_granted,
        consent_source,
        recorded_at
    from ranked
    where decision_rank = 1

)

select * from current_decisions
