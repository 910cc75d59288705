-- Cart abandoners: left a cart with items, or added to cart on the website,
-- within the last `cart_abandonment_days` days and have not ordered since.
-- Weight: fresher abandonment weighs more. A cart beats a bare add_to_cart
-- event of the same moment as the reason given.
with

carts as (

    select * from {{ ref('int_carts_attributed') }}

),

profiles as (

    select * from {{ ref('customer_profiles') }}

),

abandoned_carts as (

    select
        carts.person_id,
        carts.updated_at as abandoned_at,
        1 as evidence_rank,
        format('left %s items (%s) in a cart', carts.item_count, round(carts.cart_value, 2)) as what
    from carts
    inner join profiles
        on carts.person_id = profiles.person_id
    where carts.is_unconverted
        and carts.item_count > 0
        and not carts.has_ordered_since
        and carts.updated_at > profiles.computed_at - interval '{{ var("cart_abandonment_days") }} days'

),

add_to_cart_events as (

    select
        person_id,
        last_add_to_cart_at as abandoned_at,
        2 as evidence_rank,
        'added to cart on the website' as what
    from {{ ref('int_persons_activity_aggregated') }}
    where last_add_to_cart_at is not null

),

abandonments as (

    select * from abandoned_carts
    union all
    select
        add_to_cart_events.person_id,
        add_to_cart_events.abandoned_at,
        add_to_cart_events.evidence_rank,
        add_to_cart_events.what
    from add_to_cart_events
    inner join profiles
        on add_to_cart_events.person_id = profiles.person_id
    where add_to_cart_events.abandoned_at > profiles.computed_at - interval '{{ var("cart_abandonment_days") }} days'
        and (profiles.last_order_at is null or profiles.last_order_at < add_to_cart_events.abandoned_at)

),

latest as (

    select distinct on (abandonments.person_id)
        abandonments.person_id,
        abandonments.abandoned_at,
        abandonments.what,
        profiles.computed_at
    from abandonments
    inner join profiles
        on abandonments.person_id = profiles.person_id
    order by abandonments.person_id, abandonments.abandoned_at desc, abandonments.evidence_rank

),

members as (

    select
        person_id,
        round(greatest(
            0.05,
            1 - extract(epoch from (computed_at - abandoned_at)) / 86400 / {{ var('cart_abandonment_days') }}
        )::numeric, 4) as weight,
        format('%s %s days ago, no order since', what, computed_at::date - abandoned_at::date) as reason
    from latest

)

select * from members
