-- The identity graph's edges: pairs of customer records that are one
-- person, because they share an identifier that passed the guardrails
-- (int_identifiers_normalized) or because the probabilistic matcher linked
-- them with a match probability at or above identity_match_threshold.
--
-- One row per pair and kind of evidence, the smaller customer_id on the
-- left. Links to customer records that no longer exist are dropped.
with

identifiers as (

    select * from {{ ref('int_identifiers_normalized') }}
    where is_edge

),

customers as (

    select customer_id from {{ ref('stg_shop__customers') }}

),

links as (

    select * from {{ ref('stg_ml__identity_links') }}
    where match_probability >= {{ var('identity_match_threshold') }}

),

shared_identifiers as (

    select
        left_side.customer_id as customer_id_l,
        right_side.customer_id as customer_id_r,
        left_side.identifier_type as edge_type,
        min(left_side.identifier) as identifier,
        count(*) as shared_identifiers,
        null::double precision as match_probability,
        null::text as model_version
    from identifiers as left_side
    inner join identifiers as right_side
        on left_side.identifier_type = right_side.identifier_type
        and left_side.identifier = right_side.identifier
        and left_side.customer_id < right_side.customer_id
    group by 1, 2, 3

),

probabilistic as (

    select
        links.customer_id_l,
        links.customer_id_r,
        'probabilistic' as edge_type,
        null::text as identifier,
        0::bigint as shared_identifiers,
        links.match_probability,
        links.model_version
    from links
    inner join customers as left_customer
        on links.customer_id_l = left_customer.customer_id
    inner join customers as right_customer
        on links.customer_id_r = right_customer.customer_id

),

final as (

    select * from shared_identifiers
    union all
    select * from probabilistic

)

select * from final
