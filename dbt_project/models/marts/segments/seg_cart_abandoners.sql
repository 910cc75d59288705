-- Cart abandoners: left a cart with items, or added to cart on the website,
-- within the last `cart_abandonment_days` days and have not ordered since.
-- Weight: fresher abandonment weighs more. A cart beats a bare add_to_cart
-- event of the same moment as the reason given.
with

-- the instant the profiles describe (every row carries the run's as_of):
-- the window is the profiles' own, even when as_of is unset and a capture
-- lands changes between the two models
run as (

    select computed_at as as_of from {{ ref('customer_profiles') }} limit 1

),

carts as (

    select * from {{ ref('int_carts_attributed') }}

),

activity as (

    select * from {{ ref('int_persons_activity_aggregated') }}

),

-- only the two columns the segment needs: the profile of everyone is wide,
-- and the abandonments (a few thousand) are found before joining it
profiles as (

    select person_id, last_order_at from {{ ref('customer_profiles') }}

),

abandonments as (

    select
        carts.person_id,
        carts.updated_at as abandoned_at,
        1 as evidence_rank,
        format('left %s items (%s) in a cart', carts.item_count, round(carts.cart_value, 2)) as what
    from carts
    cross join run
    -- items left in it within cart_abandonment_days, no order since
    -- (macros/profiles.sql: the profile's open cart is the same rule)
    where {{ is_abandoned_cart('carts', 'run.as_of') }}

    union all

    select
        activity.person_id,
        activity.last_add_to_cart_at as abandoned_at,
        2 as evidence_rank,
        'added to cart on the website' as what
    from activity
    cross join run
    where activity.last_add_to_cart_at > run.as_of - interval '{{ var("cart_abandonment_days") }} days'

),

-- profiled people only; a bare add_to_cart counts when no order came after it
latest as (

    select distinct on (abandonments.person_id)
        abandonments.person_id,
        abandonments.abandoned_at,
        abandonments.what
    from abandonments
    inner join profiles
        on abandonments.person_id = profiles.person_id
    where abandonments.evidence_rank = 1
        or profiles.last_order_at is null
        or profiles.last_order_at < abandonments.abandoned_at
    order by abandonments.person_id, abandonments.abandoned_at desc, abandonments.evidence_rank

),

members as (

    select
        latest.person_id,
        round(greatest(
            0.05,
            1 - extract(epoch from (run.as_of - latest.abandoned_at)) / 86400 / {{ var('cart_abandonment_days') }}
        )::numeric, 4) as weight,
        format('%s %s days ago, no order since', latest.what, run.as_of::date - latest.abandoned_at::date) as reason
    from latest
    cross join run

)

select * from members
